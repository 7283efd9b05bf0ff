"""Local stand-ins for the four APIs, on pytest-httpserver: the real paths, fields, error
bodies and status codes (Confluence Cloud v2 and v1, Drive v3 + Google's token endpoint,
Slack Web API, Jira REST v3), with state so a republish can be seen to update in place."""
from __future__ import annotations

import base64
import json
import re
from email import message_from_bytes
from itertools import count

from werkzeug import Request, Response

EMAIL, TOKEN = "sre-bot@acme.example", "confluence-token-123456"


def _json(data, status=200, headers=None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


def basic_ok(request: Request, user: str, token: str) -> bool:
    want = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    return request.headers.get("Authorization") == want


class Confluence:
    """Confluence Cloud: /wiki/api/v2 pages and spaces, /wiki/rest/api attachments and labels."""

    def __init__(self, server, spaces=("OPS",)):
        self.server, self.spaces = server, {k: str(98300 + i) for i, k in enumerate(spaces)}
        self.pages: dict[str, dict] = {}
        self.attachments: dict[str, dict[str, bytes]] = {}
        self.labels: dict[str, set[str]] = {}
        self.ids = count(65601)
        self.fail_next: list[Response] = []
        self.base = server.url_for("/wiki")
        server.expect_request(re.compile(r"^/wiki/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if self.fail_next:
            return self.fail_next.pop(0)
        if not basic_ok(request, EMAIL, TOKEN):
            return _json({"code": 401, "message": "Unauthorized; scope does not match"}, 401)
        path, method = request.path, request.method
        if path == "/wiki/api/v2/spaces" and method == "GET":
            keys = request.args.get("keys", "").split(",")
            found = [{"id": self.spaces[k], "key": k, "name": k, "type": "global", "status": "current"}
                     for k in keys if k in self.spaces]
            return _json({"results": found, "_links": {"base": self.base}})
        if path == "/wiki/api/v2/pages" and method == "GET":     # one result a page, paged by cursor
            found = sorted(i for i, p in self.pages.items() if p["spaceId"] == request.args["space-id"]
                           and p["title"] == request.args.get("title", p["title"]))
            start = int(request.args.get("cursor", "0"))
            links = {"base": self.base}
            if start + 1 < len(found):
                links["next"] = f"/wiki/api/v2/pages?space-id={request.args['space-id']}&cursor={start + 1}"
            return _json({"results": [self._page(i) for i in found[start:start + 1]], "_links": links})
        if path == "/wiki/api/v2/pages" and method == "POST":
            body = request.get_json()
            if body["spaceId"] not in self.spaces.values():
                return _json({"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Space not found"}]}, 404)
            if body.get("parentId") and body["parentId"] not in self.pages and body["parentId"] != "1000":
                return _json({"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Parent not found"}]}, 404)
            if any(p["title"] == body["title"] and p["spaceId"] == body["spaceId"] for p in self.pages.values()):
                return _json({"errors": [{"status": 400, "code": "BAD_REQUEST", "title": "A page with this title "
                                          "already exists: A page already exists with the same TITLE in this space"}]}, 400)
            page_id = str(next(self.ids))
            self.pages[page_id] = {"id": page_id, "status": "current", "title": body["title"],
                                   "spaceId": body["spaceId"], "parentId": body.get("parentId"),
                                   "body": body["body"], "version": {"number": 1, "message": ""}}
            return _json(self._page(page_id))
        m = re.fullmatch(r"/wiki/api/v2/pages/(\d+)", path)
        if m:
            page = self.pages.get(m.group(1))
            if page is None:
                return _json({"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found"}]}, 404)
            if method == "GET":
                return _json(self._page(page["id"]))
            body = request.get_json()
            if body["version"]["number"] != page["version"]["number"] + 1:
                return _json({"errors": [{"status": 409, "code": "CONFLICT", "title": "Version must be incremented "
                                          f"on update. Current version is: {page['version']['number']}"}]}, 409)
            page.update(title=body["title"], body=body["body"], version=body["version"])
            return _json(self._page(page["id"]))
        m = re.fullmatch(r"/wiki/rest/api/content/(\d+)/child/attachment", path)
        if m and method == "PUT":
            if request.headers.get("X-Atlassian-Token") != "no-check":
                return _json({"statusCode": 403, "message": "XSRF check failed"}, 403)
            upload = request.files["file"]
            self.attachments.setdefault(m.group(1), {})[upload.filename] = upload.read()
            return _json({"results": [{"id": "att1", "type": "attachment", "title": upload.filename}], "size": 1})
        m = re.fullmatch(r"/wiki/rest/api/content/(\d+)/label", path)
        if m and method == "POST":
            names = {item["name"] for item in request.get_json()}
            self.labels.setdefault(m.group(1), set()).update(names)
            return _json({"results": [{"prefix": "global", "name": n, "id": str(i)}
                                      for i, n in enumerate(sorted(self.labels[m.group(1)]))],
                          "start": 0, "limit": 200, "size": len(self.labels[m.group(1)])})
        return _json({"statusCode": 404, "message": f"no route {method} {path}"}, 404)

    def _page(self, page_id: str) -> dict:
        page = self.pages[page_id]
        slug = re.sub(r"[^A-Za-z0-9]+", "+", page["title"])
        return {**page, "authorId": "5b10ac8d82e05b22cc7d4ef5",
                "_links": {"webui": f"/spaces/OPS/pages/{page_id}/{slug}", "editui": f"/pages/resumedraft.action?"
                           f"draftId={page_id}", "tinyui": "/x/AQAB", "base": self.base}}


class Slack:
    """chat.postMessage, chat.update, chat.getPermalink; errors inside HTTP 200 bodies."""

    def __init__(self, server, token="xoxb-1111-2222-publishbottoken"):
        self.token = token
        self.messages: dict[tuple[str, str], dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.channels = {"C05INC4213", "C0SRE0001"}
        self.ts = count(1791990000)
        self.fail_next: list[Response] = []
        self.after_post: list[Response] = []   # answers given instead, once the post is made
        self.history_scope = True          # False: the token lacks channels:history
        server.expect_request(re.compile(r"^/api/(chat\.|conversations\.history).*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if self.fail_next:
            return self.fail_next.pop(0)
        method = request.path.rsplit("/", 1)[1]
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json({"ok": False, "error": "invalid_auth"})
        args = request.get_json(silent=True) or {**request.args.to_dict(), **request.form.to_dict()}
        self.calls.append((method, args))
        channel = args.get("channel")
        if channel not in self.channels:
            return _json({"ok": False, "error": "channel_not_found"})
        if method == "chat.postMessage":
            ts = f"{next(self.ts)}.000100"
            self.messages[(channel, ts)] = {"text": args["text"], "edited": False, "metadata": args.get("metadata")}
            if self.after_post:
                return self.after_post.pop(0)
            return _json({"ok": True, "channel": channel, "ts": ts,
                          "message": {"type": "message", "text": args["text"], "ts": ts, "bot_id": "B0PUB"}})
        if method == "chat.update":
            key = (channel, args["ts"])
            if key not in self.messages:
                return _json({"ok": False, "error": "message_not_found"})
            self.messages[key] = {"text": args["text"], "edited": True}
            return _json({"ok": True, "channel": channel, "ts": args["ts"], "text": args["text"]})
        if method == "conversations.history":
            if not self.history_scope:
                return _json({"ok": False, "error": "missing_scope", "needed": "channels:history",
                              "provided": "chat:write"})
            # newest first, metadata only when asked for (include_all_metadata)
            with_meta = args.get("include_all_metadata") in ("true", "1", "True")
            found = [{"type": "message", "ts": ts, "text": m["text"], "bot_id": "B0PUB",
                      **({"metadata": m["metadata"]} if with_meta and m.get("metadata") else {})}
                     for (ch, ts), m in sorted(self.messages.items(), reverse=True) if ch == channel]
            return _json({"ok": True, "messages": found[:int(args.get("limit", 100))], "has_more": False,
                          "pin_count": 0, "response_metadata": {"next_cursor": ""}})
        if method == "chat.getPermalink":
            return _json({"ok": True, "channel": channel,
                          "permalink": f"https://acme.slack.com/archives/{channel}/p{args['message_ts'].replace('.', '')}"})
        return _json({"ok": False, "error": "unknown_method"})


class Jira:
    """POST /rest/api/3/issue/{key}/remotelink: a link with a known globalId is updated."""

    def __init__(self, server, issues=("OPS-1234", "OPS-1240")):
        self.issues = set(issues)
        self.links: dict[str, dict[str, dict]] = {}
        self.ids = count(10000)
        server.expect_request(re.compile(r"^/rest/api/3/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if not basic_ok(request, EMAIL, "jira-token-abcdef"):
            return _json({"errorMessages": ["You are not authorized to perform this operation. Please log in."],
                          "errors": {}}, 401)
        m = re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)/remotelink", request.path)
        if not m or request.method != "POST":
            return _json({"errorMessages": ["Not found"], "errors": {}}, 404)
        if m.group(1) not in self.issues:
            return _json({"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                          "errors": {}}, 404)
        body = request.get_json()
        if not body.get("object", {}).get("url") or not body["object"].get("title"):
            return _json({"errorMessages": [], "errors": {"object": "'object' is required"}}, 400)
        links = self.links.setdefault(m.group(1), {})
        existing = links.get(body.get("globalId"))
        link_id = existing["id"] if existing else next(self.ids)
        links[body.get("globalId")] = {"id": link_id, **body}
        return _json({"id": link_id, "self": f"{request.host_url}rest/api/3/issue/{m.group(1)}/remotelink/{link_id}"},
                     200 if existing else 201)


class Drive:
    """Google's OAuth token endpoint for a service account's JWT grant, and Drive v3 files."""

    def __init__(self, server, public_key_pem: bytes, folders=("1FoLdEr0ps",)):
        self.public_key_pem = public_key_pem
        self.folders = set(folders)
        self.files: dict[str, dict] = {}
        self.tokens_issued = 0
        self.fail_next: list[Response] = []
        self.empty_pages = 0               # files.list pages answered empty before the match
        self.ids = count(1)
        server.expect_request("/token", method="POST").respond_with_handler(self.token)
        server.expect_request(re.compile(r"^/(upload/)?drive/v3/files.*")).respond_with_handler(self.handle)

    def token(self, request: Request) -> Response:
        from google.auth import jwt
        if request.form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return _json({"error": "unsupported_grant_type"}, 400)
        try:
            claims = jwt.decode(request.form["assertion"], certs=None, verify=False)
            jwt.decode(request.form["assertion"], certs=self.public_key_pem, verify=True,
                       audience="https://oauth2.googleapis.com/token")   # google-auth's grant audience
        except ValueError as exc:
            self.refused = str(exc)
            return _json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        if "https://www.googleapis.com/auth/drive" not in claims.get("scope", ""):
            return _json({"error": "invalid_scope", "error_description": "Invalid OAuth scope"}, 400)
        self.tokens_issued += 1
        return _json({"access_token": "ya29.c.fake-drive-access", "expires_in": 3599, "token_type": "Bearer"})

    def handle(self, request: Request) -> Response:
        if self.fail_next:
            return self.fail_next.pop(0)
        if request.headers.get("Authorization") != "Bearer ya29.c.fake-drive-access":
            return _json({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                    "errors": [{"reason": "authError"}], "status": "UNAUTHENTICATED"}}, 401)
        path = request.path
        if path == "/drive/v3/files" and request.method == "GET":
            named = re.search(r"name = '((?:[^'\\]|\\.)*)'", request.args["q"]).group(1)
            named = re.sub(r"\\(.)", r"\1", named)
            found = [self._file(i) for i, f in sorted(self.files.items()) if f["name"] == named]
            # Drive may answer a page with no files and a nextPageToken: the search goes on
            page = int(request.args.get("pageToken") or 0)
            if page < self.empty_pages:
                return _json({"kind": "drive#fileList", "files": [], "nextPageToken": str(page + 1),
                              "incompleteSearch": False})
            return _json({"kind": "drive#fileList", "files": found, "incompleteSearch": False})
        m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if m and request.method == "GET":
            if m.group(1) not in self.folders:
                return self._not_found(m.group(1))
            return _json({"id": m.group(1), "name": "Post-mortems", "trashed": False,
                          "mimeType": "application/vnd.google-apps.folder"})
        if request.args.get("uploadType") != "multipart":
            return _json({"error": {"code": 400, "message": "Bad Request"}}, 400)
        metadata, media, media_type = self._parts(request)
        if path == "/upload/drive/v3/files" and request.method == "POST":
            if not set(metadata.get("parents", [])) <= self.folders:
                return self._not_found(metadata["parents"][0])
            file_id = f"1DoC{next(self.ids):04d}"
            self.files[file_id] = {"id": file_id, "name": metadata["name"], "mimeType": metadata["mimeType"],
                                   "parents": metadata["parents"], "media": media, "media_type": media_type,
                                   "version": 1}
            return _json(self._file(file_id))
        m = re.fullmatch(r"/upload/drive/v3/files/([^/]+)", path)
        if m and request.method == "PATCH":
            if m.group(1) not in self.files:
                return self._not_found(m.group(1))
            f = self.files[m.group(1)]
            f.update(name=metadata.get("name", f["name"]), media=media, media_type=media_type, version=f["version"] + 1)
            return _json(self._file(m.group(1)))
        return _json({"error": {"code": 404, "message": "Not Found"}}, 404)

    def _file(self, file_id: str) -> dict:
        f = self.files[file_id]
        return {"kind": "drive#file", "id": f["id"], "name": f["name"], "mimeType": f["mimeType"],
                "version": str(f["version"]), "webViewLink": f"https://docs.google.com/document/d/{f['id']}/edit?usp=drivesdk"}

    @staticmethod
    def _not_found(file_id: str) -> Response:
        return _json({"error": {"code": 404, "message": f"File not found: {file_id}.",
                                "errors": [{"message": f"File not found: {file_id}.", "domain": "global",
                                            "reason": "notFound", "location": "fileId", "locationType": "parameter"}]}},
                     404)

    @staticmethod
    def _parts(request: Request):
        head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        msg = message_from_bytes(head + request.get_data())
        parts = msg.get_payload()
        metadata = json.loads(parts[0].get_payload(decode=True))
        return metadata, parts[1].get_payload(decode=True).decode("utf-8"), parts[1].get_content_type()


class ConfluenceDataCenter:
    """Confluence Data Center: REST v1 content (`/rest/api/content`), spaces by key, the parent as
    an ancestor, a personal access token as Bearer; searches paged by `start` in `_links.next`."""

    def __init__(self, server, pat="dc-pat-0123456789abcdef", spaces=("OPS",)):
        self.pat, self.spaces = pat, {k: 131000 + i for i, k in enumerate(spaces)}
        self.pages: dict[str, dict] = {}
        self.attachments: dict[str, dict[str, bytes]] = {}
        self.labels: dict[str, set[str]] = {}
        self.ids = count(2000001)
        self.base = server.url_for("/").rstrip("/")
        server.expect_request(re.compile(r"^/rest/api/(content|space)(/.*)?$")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.pat}":
            return _json({"statusCode": 401, "message": "This request requires authentication."}, 401)
        path, method = request.path, request.method
        m = re.fullmatch(r"/rest/api/space/([^/]+)", path)
        if m:
            if m.group(1) not in self.spaces:
                return _json({"statusCode": 404, "message": f"No space with key : {m.group(1)}"}, 404)
            return _json({"id": self.spaces[m.group(1)], "key": m.group(1), "name": "Operations", "type": "global"})
        if path == "/rest/api/content" and method == "GET":    # one result a page, paged by start
            found = sorted(i for i, p in self.pages.items() if p["space"]["key"] == request.args["spaceKey"]
                           and p["title"] == request.args.get("title", p["title"]))
            start = int(request.args.get("start", "0"))
            links = {"base": self.base, "context": ""}
            if start + 1 < len(found):
                links["next"] = (f"/rest/api/content?spaceKey={request.args['spaceKey']}&type=page"
                                 f"&limit=1&start={start + 1}")
            return _json({"results": [self._page(i) for i in found[start:start + 1]], "start": start,
                          "limit": 1, "size": len(found[start:start + 1]), "_links": links})
        if path == "/rest/api/content" and method == "POST":
            body = request.get_json()
            if body["space"]["key"] not in self.spaces:
                return _json({"statusCode": 404, "message": "Space does not exist"}, 404)
            if any(p["title"] == body["title"] for p in self.pages.values()):
                return _json({"statusCode": 400, "message": "A page with this title already exists"}, 400)
            page_id = str(next(self.ids))
            self.pages[page_id] = {"id": page_id, "type": "page", "status": "current", "title": body["title"],
                                   "space": {"key": body["space"]["key"]}, "ancestors": body.get("ancestors", []),
                                   "body": body["body"], "version": {"number": 1}}
            return _json(self._page(page_id))
        m = re.fullmatch(r"/rest/api/content/(\d+)", path)
        if m:
            page = self.pages.get(m.group(1))
            if page is None:
                return _json({"statusCode": 404, "message": "No content found with id"}, 404)
            if method == "GET":
                return _json(self._page(page["id"]))
            body = request.get_json()
            if body["version"]["number"] != page["version"]["number"] + 1:
                return _json({"statusCode": 409, "message": "Version must be incremented on update."}, 409)
            page.update(title=body["title"], body=body["body"], version={"number": body["version"]["number"]})
            return _json(self._page(page["id"]))
        m = re.fullmatch(r"/rest/api/content/(\d+)/child/attachment", path)
        if m and method == "PUT" and request.headers.get("X-Atlassian-Token") == "no-check":
            upload = request.files["file"]
            self.attachments.setdefault(m.group(1), {})[upload.filename] = upload.read()
            return _json({"results": [{"id": "att9", "type": "attachment", "title": upload.filename}], "size": 1})
        m = re.fullmatch(r"/rest/api/content/(\d+)/label", path)
        if m and method == "POST":
            self.labels.setdefault(m.group(1), set()).update(item["name"] for item in request.get_json())
            return _json({"results": [{"prefix": "global", "name": n} for n in sorted(self.labels[m.group(1)])]})
        return _json({"statusCode": 404, "message": f"no route {method} {path}"}, 404)

    def _page(self, page_id: str) -> dict:
        page = self.pages[page_id]
        return {**page, "_links": {"webui": f"/pages/viewpage.action?pageId={page_id}", "base": self.base,
                                   "self": f"{self.base}/rest/api/content/{page_id}"}}
