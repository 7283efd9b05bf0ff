"""Microsoft Graph, app-only: a client-credentials token, and lists paged by `@odata.nextLink`.

The token: `POST {login_url}/{tenant_id}/oauth2/v2.0/token` with client_id, client_secret,
`scope=https://graph.microsoft.com/.default` and `grant_type=client_credentials`; the answer's
`access_token` is reused until `expires_in` (less a minute) has passed, and fetched anew once
when Graph answers 401 (a token revoked or expired early). A second 401, or a 403, stops the
source with one line naming the application permission it needs.

Throttling: 429, and 503 with Retry-After, wait as Retry-After says (HttpClient); other
5xx are retried with backoff, then fail with one line.

Paging: Graph's `@odata.nextLink` (and a delta round's `@odata.deltaLink`) is an opaque
URL, followed exactly as given, but only to the host of base_url: a link elsewhere would
carry the token there. The same link twice is a loop, and an error.

The client secret and the token are redacted from anything an error quotes (HttpClient's
snippets); neither is ever logged.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote, urlencode, urlsplit

import requests

from .errors import AuthError, PaginationError, RetriesExhausted, SourceError
from .http import HttpClient
from .paging import MAX_PAGES, RepeatGuard

DEFAULT_BASE_URL = "https://graph.microsoft.com"
DEFAULT_LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
EXPIRY_MARGIN_S = 60.0
NEXT_LINK = "@odata.nextLink"
DELTA_LINK = "@odata.deltaLink"


def throttled(resp: requests.Response) -> bool:
    """Graph throttles with 429, and with 503 + Retry-After when a service is busy: both wait
    as long as Retry-After says (a 503 without it is a server error, retried with backoff)."""
    return resp.status_code == 429 or (resp.status_code == 503 and "Retry-After" in resp.headers)


def graph_error_message(body: Any) -> str:
    """Graph's `{"error": {"code", "message", "innerError"}}` as `code: message`."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        parts = [str(err.get(k)) for k in ("code", "message") if err.get(k)]
        return ": ".join(parts) or "no detail"
    return str(body)[:200] or "no detail"


def token_error_message(body: Any) -> str:
    """The identity platform's `{"error", "error_description"}`: the code and the first line
    of the description (the rest is trace and correlation ids)."""
    if isinstance(body, dict) and body.get("error"):
        first = str(body.get("error_description") or "").strip().splitlines()[:1]
        return ": ".join([str(body["error"]), *first])
    return str(body)[:200] or "no detail"


class GraphClient:
    def __init__(self, source: str, *, base_url: str, login_url: str, tenant_id: str, client_id: str,
                 client_secret: str, permission: str, clock: Callable[[], float] = time.monotonic):
        self.source = source
        self.permission = permission
        self.http = HttpClient(source, base_url, error_message=graph_error_message, rate_limited=throttled)
        self.login = HttpClient(source, login_url, error_message=token_error_message, rate_limited=throttled)
        self.login.secrets.append(client_secret)
        self.http.secrets.append(client_secret)
        self._form = {"client_id": client_id, "client_secret": client_secret, "scope": SCOPE,
                      "grant_type": "client_credentials"}
        self._token_path = f"{tenant_id}/oauth2/v2.0/token"
        self._clock = clock
        self._expires_at = 0.0
        self._has_token = False
        base = urlsplit(self.http.base_url)
        self._origin = (base.scheme.lower(), base.netloc.lower())

    @property
    def requests_made(self) -> int:
        return self.http.requests_made + self.login.requests_made

    def close(self) -> None:
        self.http.session.close()
        self.login.session.close()

    # ---- the token ------------------------------------------------------------------
    def _ensure_token(self, fresh: bool = False) -> None:
        if fresh or not self._has_token or self._clock() >= self._expires_at:
            self._fetch_token()

    def _fetch_token(self) -> None:
        try:
            resp = self.login.send("POST", self._token_path, data=self._form)
        except RetriesExhausted:
            raise
        except SourceError as exc:   # 400 invalid_request / unauthorized_client, 401 invalid_client
            raise AuthError(self.source, "could not get a Microsoft Graph token: check tenant_id, client_id "
                            f"and the client secret ({_after_source(exc)})") from None
        try:
            body = resp.json()
        except ValueError:
            raise self.login.not_json(resp, self._token_path) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(self.source, "the token endpoint answered without an access_token")
        expires_in = body.get("expires_in")
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = 300.0   # not said: assume a short life, fetched again soon
        self.http.session.headers["Authorization"] = f"Bearer {token}"
        self.http.secrets += [token, f"Bearer {token}"]
        self._expires_at = self._clock() + max(lifetime - EXPIRY_MARGIN_S, 0.0)
        self._has_token = True

    # ---- requests --------------------------------------------------------------------
    def get_json(self, path_or_link: str, params: Mapping[str, Any] | None = None,
                 not_found: Callable[[], SourceError] | None = None) -> Any:
        """One GET (a path under base_url, or a link Graph gave), with one token refresh on 401."""
        self._ensure_token()
        try:
            return self._get(path_or_link, params, not_found)
        except AuthError as exc:
            if exc.status != 401:
                raise self._denied(exc) from None
        self._ensure_token(fresh=True)
        try:
            return self._get(path_or_link, params, not_found)
        except AuthError as exc:
            raise self._denied(exc) from None

    def _get(self, path: str, params: Mapping[str, Any] | None, not_found) -> Any:
        resp = self.http.send("GET", path, params=params, not_found=not_found)
        try:
            return resp.json()
        except ValueError:
            raise self.http.not_json(resp, path) from None

    def _denied(self, exc: AuthError) -> AuthError:
        what = ("Microsoft Graph refused the token" if exc.status == 401
                else "Microsoft Graph denied access")
        return AuthError(self.source, f"{what}: the app needs the application permission {self.permission} "
                         f"(with admin consent) ({_after_source(exc)})")

    def pages(self, path_or_link: str, params: Mapping[str, Any] | None = None,
              not_found: Callable[[], SourceError] | None = None) -> Iterator[Any]:
        """Every page of a list: the first from `path_or_link` (+ params), then each
        `@odata.nextLink` exactly as given. The last page is the one without a nextLink
        (a delta round's carries its `@odata.deltaLink`)."""
        repeats = RepeatGuard(self.source, _shown(path_or_link))
        # spaces as %20, `$` and `:` as written (as Graph's own examples send `$filter`)
        target = f"{path_or_link}?{urlencode(params, quote_via=quote, safe='$:')}" if params else path_or_link
        for _ in range(MAX_PAGES):
            page = self.get_json(target, None, not_found)
            yield page
            link = page.get(NEXT_LINK) if isinstance(page, dict) else None
            if not link:
                return
            if not isinstance(link, str):
                raise SourceError(self.source, f"{NEXT_LINK} is not a link", stream=_shown(path_or_link))
            self.check_link(link)
            repeats.check_token(link)
            target = link
        raise PaginationError(self.source, f"more than {MAX_PAGES} pages", stream=_shown(path_or_link))

    def check_link(self, link: str) -> None:
        """A link is followed only to base_url's own scheme and host."""
        if not self.follows(link):
            raise SourceError(self.source, f"Graph gave a link to another host ({urlsplit(link).netloc!r}, not "
                              f"{self._origin[1]!r}): not followed with the token")

    def follows(self, link: str) -> bool:
        parts = urlsplit(link)
        return (parts.scheme.lower(), parts.netloc.lower()) == self._origin


def _shown(path: str) -> str:
    return urlsplit(path).path or path


def _after_source(exc: SourceError) -> str:
    """The error's own words, without the `source NAME: ` its message starts with."""
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text
