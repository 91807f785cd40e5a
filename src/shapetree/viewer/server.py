"""``shapetree view``: the viewer served on the loopback interface, and nothing else.

The server answers GET and HEAD for a fixed set of URL paths, decided before it starts: the
viewer's static files, ``trees.json`` (the gallery) and the trees it was given under ``trees/``.
Every other path -- a directory, ``..``, an absolute or percent-encoded path, any other file --
is refused without touching the disk, and so are requests whose Host is not the loopback address
(a web page cannot reach the server through a DNS name that points at 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote

from .. import UsageError
from .files import TYPES, gallery, gallery_json, static_files

_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob:; connect-src 'self' http: https: "
                                "blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
}


def _loopback_host(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"the viewer serves on the loopback interface only (127.0.0.1 or ::1), not {host!r}")
    return host


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address, routes: dict[str, tuple[bytes | Path, str]]):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.routes = routes
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "shapetree-viewer"
    sys_version = ""

    def log_message(self, format, *args) -> None:
        pass  # quiet: the terminal shows the URL and nothing per request

    def _refuse(self, status: HTTPStatus, why: str) -> None:
        body = f"{status.value} {status.phrase}: {why}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in _HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _allowed_host(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        port = self.server.server_address[1]
        return host in {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}

    def _route(self) -> tuple[bytes | Path, str] | None:
        """The body and type for the request's path, or None once a refusal has been sent."""
        if not self._allowed_host():
            self._refuse(HTTPStatus.FORBIDDEN, "this server answers only to 127.0.0.1 / localhost")
            return None
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        if not raw.startswith("/") or raw.startswith("//"):
            self._refuse(HTTPStatus.BAD_REQUEST, "only paths relative to the viewer are served")
            return None
        path = unquote(raw)
        parts = path.split("/")
        if ".." in parts or "\\" in path or "\x00" in path or path != raw:
            self._refuse(HTTPStatus.FORBIDDEN, "path traversal and encoded paths are refused")
            return None
        route = self.server.routes.get(path[1:] or "index.html")
        if route is None:
            self._refuse(HTTPStatus.NOT_FOUND, "not a file of the viewer or a tree it was given")
        return route

    def do_GET(self) -> None:
        route = self._route()
        if route is None:
            return
        body, kind = route
        try:
            data = body if isinstance(body, bytes) else body.read_bytes()
        except OSError:
            self._refuse(HTTPStatus.NOT_FOUND, "the file is gone")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for k, v in _HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "the viewer only reads")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


class ViewerServer:
    """A loopback HTTP server for the viewer and the given trees (validated first).

    tree_paths: occupancy ``.stree`` files (the gallery, the first one shown); normals_path: a
    normal-map ``.stree`` for the first. port 0 picks a free port; ``url`` says which.
    """

    def __init__(self, tree_paths: list[str | Path], normals_path: str | Path | None = None, *,
                 host: str = "127.0.0.1", port: int = 0):
        entries, trees = gallery(tree_paths, normals_path)
        routes: dict[str, tuple[bytes | Path, str]] = {
            name: (path, TYPES[path.suffix]) for name, path in static_files().items()
        }
        routes["trees.json"] = (gallery_json(entries), TYPES[".json"])
        routes.update({name: (path, TYPES[".stree"]) for name, path in trees.items()})
        bind = _loopback_host(host)
        try:
            self._httpd = _Server((bind, int(port)), routes)
        except OSError as e:
            raise UsageError(f"cannot listen on {bind} port {port}: {e.strerror or e}") from None
        port = self._httpd.server_address[1]
        self.url = f"http://[{bind}]:{port}/" if ":" in bind else f"http://{bind}:{port}/"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> Self:
        """Serve from a background thread (tests, notebooks); ``close`` stops it."""
        self._thread = threading.Thread(target=self.serve_forever, name="shapetree-viewer", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve(tree_paths: list[str | Path], normals_path: str | Path | None = None, *, host: str = "127.0.0.1",
          port: int = 0, open_browser: bool = True) -> None:
    """Serve the viewer for ``tree_paths`` until Ctrl-C: prints the URL, opens a browser if asked."""
    server = ViewerServer(tree_paths, normals_path, host=host, port=port)
    print(f"shapetree viewer at {server.url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        try:
            webbrowser.open(server.url)
        except webbrowser.Error:
            pass  # no browser here: the URL is printed
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.close()
