"""Running the page: bind the socket first (a port in use is one Chinese sentence, not uvicorn's
traceback), then uvicorn on it, quietly (our own lines say where the page is), the browser
opened once the server listens. Errors inside the server are logged to stderr with their
traceback; the user's page only ever shows a sentence."""

from __future__ import annotations

import errno
import ipaddress
import logging
import secrets
import socket
import sys
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .guard import is_loopback


@dataclass
class Address:
    host: str
    port: int
    token: str | None
    generated: bool                  # the token was made here (printed for the user)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")


def check_address(host: str, port: int, token: str | None) -> tuple[str, str | None, bool]:
    """(host, token, generated): a non-loopback host needs a token; one is made when none is given."""
    host = (host or "").strip().strip("[]")
    if not host:
        raise UsageError("--host 不能为空：请写 127.0.0.1（只在本机打开）或本机的地址")
    if not 0 <= port <= 65535:
        raise UsageError(f"端口 {port} 不合理：请写 1 至 65535 之间的数字，如 8000")
    if token is not None and (len(token) < 8 or not token.isascii() or not token.isprintable() or " " in token
                              or ";" in token):
        raise UsageError("访问口令（--token）至少 8 个字符，只用英文字母、数字和符号，不含空格和分号")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise UsageError(f"--host “{host}”不是 IP 地址：请写 127.0.0.1，或本机在局域网中的 IP 地址") from None
    if not is_loopback(host) and token is None:
        return host, secrets.token_urlsafe(16), True
    return host, token, False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1" if host == "localhost" else host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"端口 {port} 已被其他程序占用（可能 jixiao serve 已经在运行）：请用 --port 换一个端口，"
                             "如 --port 8001") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise UsageError(f"本机没有地址 {host}：请写 127.0.0.1，或本机在局域网中的 IP 地址") from None
        if exc.errno == errno.EACCES:
            raise UsageError(f"没有权限使用端口 {port}：请换一个 1024 以上的端口，如 --port 8000") from None
        raise UsageError(f"无法在 {host}:{port} 上启动（{exc.strerror or type(exc).__name__}）：请换一个端口") from None
    return sock


class Running:
    """A server on its own thread (tests, screenshots): .url, .stop()."""

    def __init__(self, server, thread: threading.Thread, sock: socket.socket, address: Address):
        self.server, self.thread, self.sock, self.address = server, thread, sock, address

    @property
    def url(self) -> str:
        return self.address.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def _server(app, sock):
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", log_config=None,
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def _logging() -> None:
    log = logging.getLogger("jixiao.web")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s jixiao 页面出错：%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.WARNING)
            logger.propagate = False


def prepare(folder: str | Path, host: str = "127.0.0.1", port: int = 8000, token: str | None = None):
    """(app, socket, address): everything checked and bound, nothing served yet."""
    from .app import create_app

    host, token, generated = check_address(host, port, token)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    try:
        app = create_app(folder, host=host, port=actual, token=token)
    except BaseException:
        sock.close()
        raise
    return app, sock, Address(host, actual, token, generated)


def start_in_thread(folder: str | Path, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> Running:
    app, sock, address = prepare(folder, host, port, token)
    server = _server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="jixiao-serve", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.02)
    return Running(server, thread, sock, address)


def serve(folder: str | Path, *, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
          open_browser: bool = True, say=print, warm=None) -> None:
    """Serve the collection until Ctrl+C. warm(site) runs once the port is bound and before the page
    is served (the CLI scans the inbox there, with its progress bar, so the first page is quick)."""
    _logging()
    app, sock, address = prepare(folder, host, port, token)
    if warm is not None:
        try:
            warm(app.site)
        except BaseException:
            sock.close()
            raise
    server = _server(app, sock)
    say(f"收集情况页面：{address.url}")
    if address.generated:
        say(f"访问口令：{address.token}（用上面的完整地址打开；其他电脑上也要带着口令）")
    if not is_loopback(address.host):
        if address.host in ("0.0.0.0", "::"):
            say("其他电脑上请把地址中的 127.0.0.1 换成本机在局域网中的 IP 地址（口令 token=… 不变）")
        say("注意：本页面可以从其他电脑打开，只把地址告诉需要的人；页面不加密，只在单位内网中使用")
    say("按 Ctrl+C 停止。")

    if open_browser:
        def when_started():
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                webbrowser.open(address.url)

        threading.Thread(target=when_started, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:               # uvicorn hands Ctrl+C back once it has shut down
        pass
    finally:
        sock.close()
    say("已停止。")
