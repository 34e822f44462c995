"""A small, fast HTTP/1.1 server for the benchmark feeds: its own process, stdlib asyncio, keep-alive.

Serves every `<dir>/<i>.xml` at `/feed/<i>.xml` from memory (bytes and gzip pre-computed at start), with a
strong ETag (hash of the bytes) and a fixed Last-Modified; If-None-Match / If-Modified-Since answer 304.
It listens on several ports of 127.0.0.1 (every port serves every feed) so that a client's per-host limit
sees several "hosts", as it would with real feeds. `GET /__stats` returns the status counts as JSON,
`GET /__stats?reset=1` returns them and clears them.

    python bench/feedserver.py --dir FEEDS --ports 16 --ready-file READY.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import os
import signal
from collections import Counter
from pathlib import Path

LAST_MODIFIED = "Mon, 01 Jun 2026 00:00:00 GMT"


class Feeds:
    def __init__(self, directory: Path) -> None:
        self.plain: dict[str, bytes] = {}
        self.gzipped: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.types: dict[str, str] = {}
        for path in directory.glob("*.xml"):
            data = path.read_bytes()
            key = f"/feed/{path.name}"
            self.plain[key] = data
            self.gzipped[key] = gzip.compress(data, compresslevel=5, mtime=0)
            self.etags[key] = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
            self.types[key] = "application/atom+xml" if b"<feed" in data[:1000] else "application/rss+xml"
        self.stats: Counter[str] = Counter()


async def handle(feeds: Feeds, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            path, _, query = target.partition("?")
            status, extra, body = respond(feeds, method, path, query, headers)
            if path != "/__stats":
                feeds.stats[str(status)] += 1
            out = [f"HTTP/1.1 {status} {_PHRASES[status]}\r\n".encode()]
            out.append(b"Content-Length: %d\r\n" % len(body))
            out.extend(f"{k}: {v}\r\n".encode() for k, v in extra.items())
            out.append(b"Connection: keep-alive\r\n\r\n" if keep_alive else b"Connection: close\r\n\r\n")
            if method != "HEAD":
                out.append(body)
            writer.writelines(out)
            await writer.drain()
            if not keep_alive:
                return
    except ConnectionError:
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


_PHRASES = {200: "OK", 304: "Not Modified", 404: "Not Found", 405: "Method Not Allowed"}


def respond(
    feeds: Feeds, method: str, path: str, query: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    if path == "/__stats":
        body = json.dumps(dict(feeds.stats)).encode()
        if "reset=1" in query:
            feeds.stats.clear()
        return 200, {"Content-Type": "application/json"}, body
    if method not in ("GET", "HEAD"):
        return 405, {}, b""
    data = feeds.plain.get(path)
    if data is None:
        return 404, {"Content-Type": "text/plain"}, b"not found"
    etag = feeds.etags[path]
    validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Vary": "Accept-Encoding"}
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        if etag in tags or "*" in tags:
            return 304, validators, b""
    elif headers.get("if-modified-since") == LAST_MODIFIED:
        return 304, validators, b""
    extra = {"Content-Type": feeds.types[path], **validators}
    if "gzip" in headers.get("accept-encoding", ""):
        extra["Content-Encoding"] = "gzip"
        return 200, extra, feeds.gzipped[path]
    return 200, extra, data


async def serve(args: argparse.Namespace) -> None:
    feeds = Feeds(Path(args.dir))
    servers = [
        await asyncio.start_server(
            lambda r, w: handle(feeds, r, w), "127.0.0.1", args.port_base + i if args.port_base else 0, backlog=1024
        )
        for i in range(args.ports)
    ]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready = Path(args.ready_file)
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"ports": ports, "feeds": len(feeds.plain), "pid": os.getpid()}))
    tmp.replace(ready)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="folder of <i>.xml feeds")
    parser.add_argument("--ports", type=int, default=16, help="listening ports on 127.0.0.1 (default 16)")
    parser.add_argument("--port-base", type=int, default=0, help="first port (default: any free ports)")
    parser.add_argument("--ready-file", required=True, help="written as JSON {ports: [...]} once listening")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
