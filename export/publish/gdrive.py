"""Google Docs: the HTML draft uploaded to a Drive folder and converted to a Google Doc.

Drive v3 multipart upload (`POST /upload/drive/v3/files?uploadType=multipart`, the metadata
asking for `application/vnd.google-apps.document`, the media `text/html`); a republish
uploads new content to the same file (`PATCH /upload/drive/v3/files/{id}`). A service
account signs in through google-auth (its key file's `token_uri` is where the signed JWT
grant goes); the bearer token then rides on the shared HTTP client with its retries.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import requests

from incident_timeline.ingest.http import HttpClient

from .base import Publication, Request, next_version, reveal
from .errors import PublishError

NAME = "gdrive"
DOC = "application/vnd.google-apps.document"
FOLDER = "application/vnd.google-apps.folder"
SCOPES = ["https://www.googleapis.com/auth/drive"]
FIELDS = "id,name,mimeType,webViewLink,version"
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


def rate_limited(resp: requests.Response) -> bool:
    """Drive answers a rate limit with 429, or with 403 and the reason (rateLimitExceeded,
    userRateLimitExceeded): both are retried with backoff, a 403 of any other reason is not."""
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    try:
        errors = resp.json()["error"]["errors"]
        return any(isinstance(e, dict) and e.get("reason") in RATE_LIMIT_REASONS for e in errors)
    except (ValueError, KeyError, TypeError):
        return False


def access_token(options: dict[str, Any]) -> str:
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.oauth2 import service_account
    try:
        if options.get("credentials_file"):
            info = json.loads(Path(options["credentials_file"]).read_text(encoding="utf-8"))
        else:
            info = json.loads(reveal(options["credentials"]))
        creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (OSError, ValueError, KeyError) as exc:
        raise PublishError(NAME, f"the service account key is not readable: {type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:120] if str(exc) else ''}") from None
    try:
        creds.refresh(google.auth.transport.requests.Request(requests.Session()))
    except google.auth.exceptions.RefreshError as exc:
        reason = exc.args[0] if exc.args else "refused"
        raise PublishError(NAME, f"authentication failed: the token endpoint refused the service account "
                           f"({str(reason).split(':')[0][:80]})") from None
    except google.auth.exceptions.TransportError as exc:
        raise PublishError(NAME, f"the token endpoint could not be reached ({type(exc).__name__})") from None
    return creds.token


class GoogleDrive:
    def __init__(self, options: dict[str, Any], http_options: dict[str, Any] | None = None):
        self.options = options
        self.folder = str(options["folder_id"])
        self.http = HttpClient(NAME, options.get("base_url") or "https://www.googleapis.com", role="target",
                               rate_limited=rate_limited, headers={"Authorization": f"Bearer {access_token(options)}"},
                               **(http_options or {}))

    def publish(self, req: Request) -> list[Publication]:
        draft = req.draft
        before = req.before(self.folder)
        params = {"uploadType": "multipart", "supportsAllDrives": "true", "fields": FIELDS}
        found = None
        # published before, or (the record lost: a crash right after the upload) a Doc of
        # this name in the folder: updated, not duplicated
        file_id = before["remote_id"] if before else (None if req.new else self._find(draft.title))
        if file_id:
            found = self._upload("PATCH", f"upload/drive/v3/files/{file_id}", params,
                                 {"name": draft.title}, draft.html, gone_ok=True)
        if found is None:
            self._check_folder()
            found = self._upload("POST", "upload/drive/v3/files", params,
                                 {"name": draft.title, "mimeType": DOC, "parents": [self.folder]}, draft.html)
            before = None
        url = found.get("webViewLink") or f"https://docs.google.com/document/d/{found['id']}/edit"
        pub = Publication(NAME, self.folder, str(found["id"]), url, next_version(before))
        req.record(pub)
        return [pub]

    def _find(self, name: str) -> str | None:
        """The id of a Google Doc named `name` in the folder (Drive's `q` search, paged by
        nextPageToken), else None."""
        from incident_timeline.ingest.paging import cursor_pages
        quoted = name.replace("\\", "\\\\").replace("'", "\\'")
        params = {"q": f"'{self.folder}' in parents and name = '{quoted}' and mimeType = '{DOC}' and trashed = false",
                  "fields": "nextPageToken,files(id,name)", "supportsAllDrives": "true",
                  "includeItemsFromAllDrives": "true", "pageSize": "100"}
        pages = cursor_pages(NAME, "files.list", lambda query: self.http.send(
            "GET", "drive/v3/files", params=query, not_found=self._no_folder).json(), params,
            token_param="pageToken", next_token=lambda page: page.get("nextPageToken"))
        for page in pages:
            for f in page.get("files") or []:
                if f.get("name") == name:
                    return str(f["id"])
        return None

    def _check_folder(self) -> None:
        meta = self.http.send("GET", f"drive/v3/files/{self.folder}",
                              params={"fields": "id,name,mimeType,trashed", "supportsAllDrives": "true"},
                              not_found=self._no_folder).json()
        if meta.get("mimeType") != FOLDER or meta.get("trashed"):
            raise self._no_folder()

    def _no_folder(self) -> PublishError:
        return PublishError(NAME, f"folder {self.folder} not found (share it with the service account)")

    def _upload(self, method: str, path: str, params: dict, metadata: dict, html: str,
                gone_ok: bool = False) -> dict[str, Any] | None:
        boundary = f"incident-timeline-{uuid.uuid4().hex}"
        body = b"".join([
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps(metadata).encode(), b"\r\n",
            f"--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n".encode(),
            html.encode("utf-8"), f"\r\n--{boundary}--\r\n".encode()])
        try:
            return self.http.send(method, path, params=params, data=body,
                                  headers={"Content-Type": f"multipart/related; boundary={boundary}"},
                                  not_found=_Gone if gone_ok else self._no_folder).json()
        except _Gone:
            return None     # deleted since: a new Doc


class _Gone(Exception):
    pass
