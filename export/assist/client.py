"""The one call `--assist` makes: POST {base_url}/chat/completions (the OpenAI chat
completions protocol, which Ollama, vLLM, llama.cpp's server and the hosted services all
speak) and the text of `choices[0].message.content`.

Whatever goes wrong (no answer in time, 429, 5xx, a body that is not JSON, a refusal, an
answer of the wrong shape) is an AssistFailed whose message is the one line the draft
shows; the key never appears in it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from incident_timeline.contract.secrets import snippet

from .payload import MAX_ROWS

MAX_RETRY_WAIT_S = 30.0   # the longest Retry-After honoured
RETRIED = (429, 502, 503, 504)


@dataclass
class AssistSettings:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    private: Any = None           # payload.Private: what is never sent
    retries: int = 1
    json_mode: bool = True
    max_rows: int = MAX_ROWS      # timeline rows sent at most (payload.rows_to_send)
    unusable: str | None = None   # why these settings cannot be used (an unset ${ENV} key)
    known_secrets: list[str] = field(default_factory=list)   # credential values: never sent, never kept

    @property
    def endpoint_host(self) -> str:
        return endpoint_host(self.base_url)

    def secrets(self) -> list[str]:
        """Credential values: scrubbed from what is sent, from error lines and from what is kept."""
        return list(dict.fromkeys([*self.known_secrets, *([self.api_key] if self.api_key else [])]))


class AssistFailed(Exception):
    """One line: why the assisted parts are missing from this draft."""


def endpoint_host(base_url: str) -> str:
    """host[:port] of the endpoint, as the draft names it (never a user or password)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def complete(settings: AssistSettings, messages: list[dict[str, str]],
             session: requests.Session | None = None, wait=time.sleep) -> str:
    """The model's answer text. 429 and 502-504 are tried again (Retry-After honoured, at
    most `retries` more times); anything else that is not an answer is an AssistFailed."""
    url = settings.base_url.rstrip("/") + "/chat/completions"
    body: dict[str, Any] = {"model": settings.model, "messages": messages, "temperature": 0, "stream": False}
    if settings.json_mode:
        body["response_format"] = {"type": "json_object"}
    headers = {"Accept": "application/json", "User-Agent": "incident-timeline"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    where = settings.endpoint_host
    http = session or requests.Session()
    try:
        for attempt in range(settings.retries + 1):
            try:
                resp = http.post(url, json=body, headers=headers, timeout=settings.timeout_s)
            except requests.Timeout:
                raise AssistFailed(f"no answer from {where} within {settings.timeout_s:g}s") from None
            except requests.RequestException as exc:
                raise AssistFailed(f"cannot reach {where} ({type(exc).__name__})") from None
            if resp.status_code not in RETRIED or attempt == settings.retries:
                break
            wait(retry_wait(resp.headers.get("Retry-After"), attempt))
    finally:
        if session is None:
            http.close()
    return answer_text(resp, where, settings.secrets())


def answer_text(resp: requests.Response, where: str, known: list[str]) -> str:
    tries = "" if resp.status_code not in RETRIED else " (after retrying)"
    if resp.status_code == 429:
        raise AssistFailed(f"{where} answered HTTP 429 (rate limited){tries}")
    if resp.status_code != 200:
        detail = snippet(_error_message(resp), known, 120)
        raise AssistFailed(f"{where} answered HTTP {resp.status_code}{tries}" + (f": {detail}" if detail else ""))
    try:
        data = resp.json()
    except ValueError:
        raise AssistFailed(f"{where} answered with a body that is not JSON: {snippet(resp.text, known, 80)}") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise AssistFailed(f"{where} answered without choices[0].message (not the chat completions protocol?)")
    if message.get("refusal"):
        raise AssistFailed(f"the model refused: {snippet(message['refusal'], known, 120)}")
    if choice.get("finish_reason") == "content_filter":
        raise AssistFailed("the model's answer was stopped by its content filter")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise AssistFailed("the model answered with no text")
    if choice.get("finish_reason") == "length":
        raise AssistFailed("the model's answer was cut short (finish_reason: length): "
                           "give it a larger context window")
    return content


def retry_wait(value: str | None, attempt: int) -> float:
    """Seconds from Retry-After (delta seconds), else 1, 2, 4… capped."""
    try:
        seconds = float(value) if value is not None else 2.0 ** attempt
    except ValueError:
        seconds = 2.0 ** attempt
    return max(0.0, min(seconds, MAX_RETRY_WAIT_S))


def _error_message(resp: requests.Response) -> str:
    """OpenAI-style {"error": {"message"}} (Ollama: {"error": "..."}), else the body."""
    try:
        data = resp.json()
    except ValueError:
        return resp.text or ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return err["message"]
    if isinstance(err, str):
        return err
    return resp.text or ""
