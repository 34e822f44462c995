"""aggregator.proxy and proxied requests: the rules, then a real proxy on 127.0.0.1 (HTTP forwarding and a
CONNECT tunnel with TLS through it), then `agg fetch` run with HTTP_PROXY set."""

from __future__ import annotations

import asyncio
import base64
import json
import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aggregator.config import Settings, parse_config
from aggregator.errors import ConfigError, FetchError
from aggregator.http_backend import ConnectError, Pool, Timeouts
from aggregator.http_client import HttpClient
from aggregator.proxy import Proxy, ProxyRules, parse_proxy
from tests.agg_cli import run_agg, write_feeds_toml
from tests.tls_files import self_signed

QUICK = Timeouts(connect=3, read=3)
FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Far away</title>'
    b"<link>http://blog.example/</link><item><title>Notes from behind a proxy</title>"
    b"<link>http://blog.example/posts/1.html</link><guid>http://blog.example/posts/1.html</guid>"
    b"<pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate>"
    b"<description>&lt;p&gt;Attention is all you need, again.&lt;/p&gt;</description></item></channel></rss>"
)


# --- the rules ------------------------------------------------------------------------------------


def _rules(setting: str = "", **environ: str) -> ProxyRules:
    return ProxyRules.configured(setting, environ)


def test_each_scheme_takes_its_own_variable_and_all_proxy_fills_in() -> None:
    rules = _rules(https_proxy="http://tls-proxy:3128", ALL_PROXY="http://any:8080")
    assert rules.proxy_for("https", "blog.example") == Proxy("tls-proxy", 3128, None, "http://tls-proxy:3128")
    assert rules.proxy_for("http", "blog.example") == Proxy("any", 8080, None, "http://any:8080")
    assert _rules().proxy_for("https", "blog.example") is None


def test_the_lower_case_variable_wins_and_http_proxy_is_ignored_under_cgi() -> None:
    assert _rules(http_proxy="http://low:1", HTTP_PROXY="http://up:2").proxy_for("http", "x.example").host == "low"  # type: ignore[union-attr]
    assert _rules(HTTP_PROXY="http://up:2").proxy_for("http", "x.example").host == "up"  # type: ignore[union-attr]
    assert _rules(HTTP_PROXY="http://up:2", REQUEST_METHOD="GET").proxy_for("http", "x.example") is None


def test_no_proxy_names_hosts_and_their_subdomains_and_loopback_is_always_direct() -> None:
    rules = _rules(HTTPS_PROXY="http://p:3128", NO_PROXY=" .internal.example, hackmd.io:443,10.0.0.7")
    direct = ["internal.example", "wiki.internal.example", "hackmd.io", "10.0.0.7"]
    direct += ["localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]", "app.localhost"]
    assert [host for host in direct if rules.proxy_for("https", host) is not None] == []
    proxied = ["blog.example", "nothackmd.io", "hackmd.io.evil.example", "10.0.0.8"]
    assert [host for host in proxied if rules.proxy_for("https", host) is None] == []
    assert _rules(HTTPS_PROXY="http://p:3128", no_proxy="*").proxy_for("https", "blog.example") is None


def test_the_setting_overrides_the_environment_and_direct_turns_proxies_off() -> None:
    environ = {"HTTPS_PROXY": "http://env:1", "HTTP_PROXY": "http://env:1"}
    configured = ProxyRules.configured("http://configured:7890", environ)
    assert {configured.proxy_for(s, "blog.example").host for s in ("http", "https")} == {"configured"}  # type: ignore[union-attr]
    direct = ProxyRules.configured("direct", environ)
    assert direct.proxy_for("http", "blog.example") is None and direct.proxy_for("https", "blog.example") is None
    assert configured and not direct and not _rules()  # with no proxy at all, requests skip the lookup


def test_a_proxy_url_gives_its_credentials_as_basic_authorization_and_hides_the_password() -> None:
    proxy = parse_proxy("http://student:p%40ss@proxy.campus.example:3128", "HTTPS_PROXY")
    assert proxy.authorization == b"Basic " + base64.b64encode(b"student:p@ss")
    assert "p%40ss" not in proxy.shown and "p@ss" not in proxy.shown and proxy.port == 3128
    assert parse_proxy("127.0.0.1:7890", "x") == Proxy("127.0.0.1", 7890, None, "http://127.0.0.1:7890")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("socks5://127.0.0.1:1080", "HTTPS_PROXY: socks5:// proxies are not supported"),
        ("https://proxy.example:443", "HTTPS_PROXY: https:// proxies are not supported"),
        ("http://:8080", "HTTPS_PROXY: invalid proxy URL"),
        ("http://proxy.example:99999", "HTTPS_PROXY: invalid proxy URL"),
    ],
)
def test_a_proxy_agg_cannot_speak_is_a_one_line_error_naming_where_it_was_set(value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _rules(HTTPS_PROXY=value)
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)


def test_a_bad_proxy_setting_fails_the_config_check() -> None:
    with pytest.raises(ConfigError, match=r"feeds.toml: \[settings\] proxy: socks5:// proxies are not supported"):
        parse_config({"settings": {"proxy": "socks5://127.0.0.1:1080"}}, "feeds.toml")
    assert parse_config({"settings": {"proxy": "DIRECT"}}).settings.proxy == "DIRECT"


# --- a real proxy -----------------------------------------------------------------------------------


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tunnels: dict[str, int], refuse: bool) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.tunnels = tunnels  # CONNECT authority -> a port on 127.0.0.1 to splice it to
        self.refuse = refuse
        self.heads: list[list[str]] = []  # each request's head as the proxy got it (request line first)
        self.connections = 0


class _ProxyHandler(socketserver.StreamRequestHandler):
    """Forwards nothing: answers an absolute-form GET itself with FEED, and splices a CONNECT tunnel."""

    server: _ProxyServer

    def handle(self) -> None:
        self.server.connections += 1
        while True:
            head = []
            while (line := self.rfile.readline().decode("latin-1").rstrip("\r\n")) != "":
                head.append(line)
            if not head:
                return
            self.server.heads.append(head)
            method, target, _ = head[0].split(" ")
            if method == "CONNECT":
                self._tunnel(target)
                return
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n")
            self.wfile.write(b"Content-Length: %d\r\n\r\n" % len(FEED) + FEED)

    def _tunnel(self, authority: str) -> None:
        if self.server.refuse or authority not in self.server.tunnels:
            self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", self.server.tunnels[authority]))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        ends = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(ends, [], [], 5)
                if not readable:
                    return
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


@contextmanager
def proxy_server(tunnels: dict[str, int] | None = None, *, refuse: bool = False) -> Iterator[_ProxyServer]:
    server = _ProxyServer(tunnels or {}, refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _pool(proxy: Proxy, context: ssl.SSLContext | None = None) -> Pool:
    return Pool(
        per_host=2,
        keep_hosts=4,
        keepalive=5,
        ssl_context=lambda: context or ssl.create_default_context(),
        proxy_for=lambda scheme, host: None if host == "127.0.0.1" else proxy,
    )


async def _get(pool: Pool, url_origin: tuple[str, str, int], path: bytes, host: bytes) -> tuple[int, bytes]:
    answer = await pool.request(url_origin, b"GET", path, [(b"Host", host)], QUICK)
    try:
        return answer.status, b"".join([chunk async for chunk in answer])
    finally:
        answer.close()


def test_an_http_request_goes_to_the_proxy_whole_with_its_credentials_on_one_kept_connection() -> None:
    with proxy_server() as proxy:
        via = Proxy("127.0.0.1", proxy.server_address[1], b"Basic c3R1ZGVudDpwdw==", "http://127.0.0.1")

        async def main() -> list[tuple[int, bytes]]:
            pool = _pool(via)
            try:
                return [await _get(pool, ("http", "blog.example", 80), b"/feed.xml", b"blog.example") for _ in "ab"]
            finally:
                pool.close()

        assert asyncio.run(main()) == [(200, FEED)] * 2
    assert [head[0] for head in proxy.heads] == ["GET http://blog.example/feed.xml HTTP/1.1"] * 2
    assert "Proxy-Authorization: Basic c3R1ZGVudDpwdw==" in proxy.heads[0] and "Host: blog.example" in proxy.heads[0]
    assert proxy.connections == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"), "blog.example", "DNS:blog.example")


@contextmanager
def tls_server(certificate: tuple[Path, Path]) -> Iterator[int]:
    """A https server for blog.example on 127.0.0.1 that answers FEED; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)

    class Handler(socketserver.StreamRequestHandler):
        def setup(self) -> None:
            self.request = context.wrap_socket(self.request, server_side=True)
            super().setup()

        def handle(self) -> None:
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(FEED) + FEED)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_https_request_goes_through_a_connect_tunnel_with_tls_to_the_site(certificate: tuple[Path, Path]) -> None:
    with tls_server(certificate) as site_port:
        authority = f"blog.example:{site_port}"
        with proxy_server({authority: site_port}) as proxy:
            via = Proxy("127.0.0.1", proxy.server_address[1], b"Basic eDp5", "http://127.0.0.1")
            trusting = ssl.create_default_context(cafile=str(certificate[0]))

            async def main() -> tuple[int, bytes]:
                pool = _pool(via, trusting)
                try:
                    return await _get(pool, ("https", "blog.example", site_port), b"/feed.xml", authority.encode())
                finally:
                    pool.close()

            assert asyncio.run(main()) == (200, FEED)
    # the proxy saw only the tunnel's address and the credentials: the path went inside TLS
    assert proxy.heads == [[f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", "Proxy-Authorization: Basic eDp5"]]


def test_a_refused_tunnel_is_a_one_line_error_naming_the_proxy_and_its_answer() -> None:
    with proxy_server(refuse=True) as proxy:
        port = proxy.server_address[1]

        async def main() -> tuple[str, str]:
            pool = _pool(Proxy("127.0.0.1", port, None, f"http://127.0.0.1:{port}"))
            try:
                with pytest.raises(ConnectError) as direct:
                    await _get(pool, ("https", "blog.example", 443), b"/", b"blog.example")
            finally:
                pool.close()
            settings = Settings(retries=0, proxy=f"http://127.0.0.1:{port}")
            async with HttpClient(settings) as http:
                with pytest.raises(FetchError) as through_client:
                    await http.get("https://blog.example/feed.xml")
            return str(direct.value), str(through_client.value)

        pool_error, client_error = asyncio.run(main())
    assert pool_error == (
        f"the proxy http://127.0.0.1:{port} refused a tunnel to blog.example:443: 407 Proxy Authentication Required"
    )
    assert "407 Proxy Authentication Required" in client_error and "\n" not in client_error


def test_agg_fetch_reaches_a_feed_only_its_proxy_can_reach(tmp_path: Path) -> None:
    with proxy_server() as proxy:
        write_feeds_toml(tmp_path, {"far": "http://blog.example/feed.xml"}, {"retries": 0})
        env = {"HTTP_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}", "NO_PROXY": "", "no_proxy": ""}
        fetched = run_agg("fetch", "--json", cwd=tmp_path, env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["totals"]["new"] == 1
    assert proxy.heads[0][0] == "GET http://blog.example/feed.xml HTTP/1.1"
    found = run_agg("search", "proxy", "--json", cwd=tmp_path)
    assert [hit["title"] for hit in json.loads(found.stdout)] == ["Notes from behind a proxy"]


def test_proxy_direct_in_the_config_ignores_the_environment(tmp_path: Path) -> None:
    with proxy_server() as proxy:
        write_feeds_toml(tmp_path, {"far": "http://blog.example/feed.xml"}, {"retries": 0, "proxy": "direct"})
        env = {"HTTP_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}"}
        result = run_agg("fetch", cwd=tmp_path, env=env, timeout=60)
    assert proxy.heads == []
    assert result.returncode == 1 and "far" in result.stderr  # blog.example resolves nowhere here
