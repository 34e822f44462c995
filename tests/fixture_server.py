"""A real HTTP server on 127.0.0.1 for end-to-end tests: serves a folder with ETag/Last-Modified and 304s.

Extra routes: `/status/<code>` answers that status; `/redirect?to=URL` answers 302 to URL. Every request
is recorded (path and headers) so tests can check what agg sent.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LAST_MODIFIED = "Sat, 21 Nov 2026 06:00:00 GMT"
TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=UTF-8",
}


@dataclass
class Served:
    base: str
    root: Path
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)  # per request: one port per client connection

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            served.requests.append((parts.path, {k.lower(): v for k, v in self.headers.items()}))
            served.client_ports.append(self.client_address[1])
            if parts.path.startswith("/status/"):
                return self._send(int(parts.path.rsplit("/", 1)[1]), b"failure", "text/plain")
            if parts.path == "/redirect":
                target = parse_qs(parts.query)["to"][0]
                return self._send(302, b"", "text/plain", {"Location": target})
            file = served.root / unquote(parts.path).lstrip("/")
            if file.is_dir():
                file = file / "index.html"
            if not file.is_file():
                return self._send(404, b"not found", "text/plain")
            body = file.read_bytes()
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", None, {"ETag": etag})
            extra = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
            if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                body = gzip.compress(body)
                extra["Content-Encoding"] = "gzip"
            return self._send(200, body, TYPES.get(file.suffix, "application/octet-stream"), extra)

        def _send(self, status: int, body: bytes, ctype: str | None, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


@contextmanager
def serve(root: Path) -> Iterator[Served]:
    """Serve `root` on a free port of 127.0.0.1 for the duration of the block."""
    served = Served("", root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.base = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
