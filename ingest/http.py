"""One HTTP client for every API connector: auth, retries, rate limits, clear errors.

Retriable: 429 (Retry-After, or the vendor's reset header) or the vendor's own rate-limit
answer, 5xx, connection errors, with
bounded exponential backoff. Fatal: 401/403 (AuthError naming the source). Everything
else that is not 2xx: SourceError with the vendor's own message. Secrets never appear in
messages: only the path of a request is ever quoted, never its headers, and whatever an
error line quotes of a response body is a short snippet through contract.secrets (the
client's own credentials and every known token shape redacted): a proxy's HTML page may
echo the request, token and all.
"""
from __future__ import annotations

import base64
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import requests

from incident_timeline.contract.secrets import snippet

from .base import too_deep
from .errors import AuthError, RetriesExhausted, SourceError

RESET_HEADERS = ("Retry-After", "ratelimit-reset", "X-RateLimit-Reset", "X-RateLimit-Period-In-Sec")


def sleep(seconds: float) -> None:
    """The one wait every retry goes through (tests replace it to make retries instant)."""
    time.sleep(seconds)


@dataclass
class RetryPolicy:
    attempts: int = 6             # total tries per request
    backoff_s: float = 0.5        # first wait for 5xx/connection errors, doubled each time
    max_wait_s: float = 60.0      # never sleep longer than this for one retry
    sleep: Callable[[float], None] | None = None   # default: this module's sleep()

    def wait(self, seconds: float) -> None:
        (self.sleep or sleep)(seconds)


class HttpClient:
    def __init__(self, source: str, base_url: str, *, headers: Mapping[str, str] | None = None,
                 auth: tuple[str, str] | None = None, retry: RetryPolicy | None = None,
                 timeout_s: float = 30.0, error_message: Callable[[Any], str] | None = None,
                 role: str = "source", rate_limited: Callable[[requests.Response], bool] | None = None):
        self.source = source
        self.role = role
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self.error_message = error_message or _generic_error_message
        # a vendor that signals a rate limit with another status (Google: 403 rateLimitExceeded)
        self.rate_limited = rate_limited or (lambda resp: resp.status_code == 429)
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "incident-timeline", "Accept": "application/json"})
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.requests_made = 0
        self.secrets = _credentials(headers or {}, auth)

    def quote(self, body: Any) -> str:
        """What an error line may show of a response body (see contract.secrets.snippet)."""
        return snippet(body, self.secrets)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path.lstrip("/")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        return self.send("GET", path, params=params)

    def send(self, method: str, path: str, params: Mapping[str, Any] | None = None,
             not_found: Callable[[], SourceError] | None = None, **body: Any) -> requests.Response:
        """One request with the retries; `body`: requests' json=, data=, files=, headers=.
        `not_found` builds the error for a 404 (a missing space or folder says which)."""
        url = self.url(path)
        shown = path.split("?")[0]
        delay = self.retry.backoff_s
        last = ""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                self.requests_made += 1
                resp = self.session.request(method, url, params=params, timeout=self.timeout_s, **body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"connection error ({type(exc).__name__})"
                wait = delay
            else:
                if resp.status_code < 400:
                    return resp
                if self.rate_limited(resp):
                    last = f"rate limited (HTTP {resp.status_code})"
                    wait = rate_limit_wait(resp.headers, default=delay)
                elif resp.status_code in (401, 403):
                    what = ("authentication failed: check the credentials" if resp.status_code == 401
                            else "permission denied: the credentials lack access")
                    error = AuthError(self.source, f"{what} (HTTP {resp.status_code} on {shown}: "
                                      f"{self.quote(self.error_message(_json_or_text(resp)))})", role=self.role)
                    error.status = resp.status_code   # a caller that refreshes a token on 401 reads it
                    raise error
                elif resp.status_code == 404 and not_found is not None:
                    raise not_found()
                elif resp.status_code >= 500:
                    last = f"HTTP {resp.status_code}"
                    wait = delay
                else:
                    raise SourceError(self.source, f"HTTP {resp.status_code} on {shown}: "
                                      f"{self.quote(self.error_message(_json_or_text(resp)))}", role=self.role)
            if attempt == self.retry.attempts:
                break
            self.retry.wait(min(wait, self.retry.max_wait_s) + random.uniform(0, 0.1))
            delay = min(delay * 2, self.retry.max_wait_s)
        raise RetriesExhausted(self.source, f"{last} on {shown} after {self.retry.attempts} tries", role=self.role)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        resp = self.get(path, params)
        try:
            return resp.json()
        except ValueError:
            raise self.not_json(resp, path) from None
        except RecursionError:
            return too_deep(f"the answer of {path.split('?')[0]}", resp.text)

    def not_json(self, resp: requests.Response, path: str) -> SourceError:
        """A 2xx answer that is not JSON (often a proxy's or SSO login page): its type and the
        start of it, redacted."""
        kind = resp.headers.get("Content-Type", "no Content-Type").split(";")[0]
        return SourceError(self.source, f"{path.split('?')[0]} did not return JSON (HTTP {resp.status_code}, "
                           f"{self.quote(kind)}: {self.quote(resp.text[:400])!r})")


def rate_limit_wait(headers: Mapping[str, str], default: float, now: float | None = None) -> float:
    """Seconds to wait from Retry-After or a vendor reset header (delta or unix time)."""
    for name in RESET_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds > 1_000_000_000:  # an absolute unix time (ServiceNow, Jira)
            seconds -= now if now is not None else time.time()
        return max(seconds, 0.0)
    return default


def _credentials(headers: Mapping[str, str], auth: tuple[str, str] | None) -> list[str]:
    """Every form in which this client's credentials could come back in a body: the
    Authorization value, the token in it, the user, the password and the Basic pair."""
    out = []
    value = str(headers.get("Authorization") or "")
    if value:
        out += [value, value.split()[-1], value.split("=", 1)[-1]]
    if auth and auth[1]:
        pair = f"{auth[0]}:{auth[1]}"
        out += [str(auth[0]), str(auth[1]), base64.b64encode(pair.encode()).decode()]
    return [v for v in out if len(v) >= 4]


def _json_or_text(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text[:400]


def _generic_error_message(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            parts = [str(err.get("message", ""))] + [str(e) for e in err.get("errors", []) or []]
            return "; ".join(p for p in parts if p)
        if isinstance(err, str):
            return err
        if body.get("errorMessages") or body.get("errors"):
            msgs = list(body.get("errorMessages") or [])
            errs = body.get("errors")
            if isinstance(errs, dict):
                msgs += [f"{k}: {v}" for k, v in errs.items()]
            return "; ".join(msgs)
        if body.get("message"):
            return str(body["message"])
    return str(body) or "no detail"
