"""What every request must pass before it reaches a page: a local server is still a server.

- Host: only names of this machine (on a loopback address: 127.0.0.1, localhost, ::1 and nothing
  else), so that a web page elsewhere cannot rebind its own domain name to this address (DNS
  rebinding) and read the pages as its own.
- Origin and Sec-Fetch-Site: a request that a page of another site (another port included) made
  is refused, whatever its method; a request that changes something (POST) must show that it
  comes from this page (its Origin, Sec-Fetch-Site: same-origin, or the X-Jixiao header that a
  page elsewhere cannot send without asking first).
- Token: when the server has one (always when it listens beyond this machine), every request
  carries it, as ?token=… once (then as a cookie: the page redirects to itself without it) or in
  the X-Jixiao-Token header.
- Size: a request body may not pass the upload limit.

Refusals are one Chinese sentence (a page, or JSON for the page's own scripts) with status 403,
400 or 413; nothing of the request is processed.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from html import escape
from urllib.parse import parse_qsl, quote, urlencode

SAFE_METHODS = {"GET", "HEAD"}
TOKEN_PARAM = "token"
TOKEN_HEADER = "x-jixiao-token"
PAGE_HEADER = "x-jixiao"


# Every answer: no framing by another site (clickjacking), scripts and styles only from the page
# itself, nothing guessed from content, no address (with a token in it) sent to another site.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),      # not no-referrer: a form would then send Origin: null
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class TooLarge(Exception):
    """The request body passed the limit (raised from receive())."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None]:
    """"127.0.0.1:8000" → ("127.0.0.1", 8000); "[::1]:80" → ("::1", 80); a bad port → (host, -1)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    if not port:
        return host.lower(), None
    return host.lower(), int(port) if port.isdigit() else -1


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def machine_names() -> set[str]:
    names = {"localhost"}
    try:
        names.add(socket.gethostname().lower())
        names.add(socket.getfqdn().lower())
    except OSError:
        pass
    return names


class Guard:
    """ASGI middleware: Host, Origin, token and body size, in that order."""

    def __init__(self, app, *, bind_host: str, port: int, token: str | None, max_body: int):
        self.app = app
        self.bind_host = bind_host.strip("[]").lower()
        self.port = port
        self.token = token
        self.max_body = max_body
        self.loopback = is_loopback(self.bind_host)
        self.names = machine_names() | {self.bind_host}
        self.cookie = f"jixiao_token_{port}"

    # -- the checks ---------------------------------------------------------------------------
    def host_ok(self, host_header: str) -> bool:
        host, port = split_host(host_header)
        if not host or port == -1 or (port is not None and port != self.port):
            return False
        if self.loopback:
            return host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)
        return _is_ip(host) or host in self.names

    def token_of(self, scope, headers: dict[str, str]) -> tuple[str | None, bool]:
        """(token the request carries, whether it came in the query string)."""
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if TOKEN_PARAM in query:
            return query[TOKEN_PARAM], True
        if TOKEN_HEADER in headers:
            return headers[TOKEN_HEADER], False
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie:
                return value, False
        return None, False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":          # the page has none: refused before anything runs
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inner_send = send

        async def send(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await inner_send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        wants_json = "application/json" in headers.get("accept", "") or PAGE_HEADER in headers
        host = headers.get("host", "")

        def refuse(status: int, message: str):
            return _respond(send, status, message, wants_json)

        if not self.host_ok(host):
            await refuse(400, f"拒绝访问：地址中的主机名“{host or '（空）'}”不是运行 jixiao 的这台电脑"
                              "（可能是其他网站借用了本机地址）：请用启动 jixiao serve 时显示的地址打开")
            return
        origin = headers.get("origin")
        own = f"http://{host}".lower()
        site = headers.get("sec-fetch-site")
        if (origin is not None and origin.lower() != own) or site in ("cross-site", "same-site"):
            await refuse(403, f"拒绝访问：这个请求来自其他网站或页面（{origin or site}），jixiao 只接受本页面自己的操作："
                              "请直接在 jixiao 页面中操作")
            return
        if scope["method"] not in SAFE_METHODS and origin is None and site != "same-origin" \
                and PAGE_HEADER not in headers:
            await refuse(403, "拒绝访问：这个请求不是从 jixiao 页面发出的：请在 jixiao 页面中操作")
            return
        if self.token is not None:
            given, in_query = self.token_of(scope, headers)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                await refuse(403, "需要访问口令：请用启动 jixiao serve 时显示的完整地址（带 token=…）打开本页面")
                return
            if in_query and scope["method"] in SAFE_METHODS:
                await self._redirect_without_token(scope, send)
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await refuse(413, f"上传的内容太大（超过 {self.max_body // 1024 // 1024} MB）：请分批上传，"
                              "每个文件不超过上限")
            return

        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise TooLarge()
            return message

        await self.app(scope, limited_receive, send)

    async def _redirect_without_token(self, scope, send):
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
                 if k != TOKEN_PARAM]
        location = quote(scope.get("root_path", "") + scope["path"]) + (f"?{urlencode(query)}" if query else "")
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("utf-8")), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def _respond(send, status: int, message: str, wants_json: bool):
    if wants_json:
        body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
        kind = b"application/json; charset=utf-8"
    else:
        body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>拒绝访问</title></head>'
                f'<body><h1>无法打开</h1><p>{escape(message)}</p>'
                f"</body></html>").encode("utf-8")
        kind = b"text/html; charset=utf-8"

    async def go():
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})

    return go()
