"""aggregator.http_client against httpx.MockTransport: no network, real protocol objects."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fixture_server import Served, serve

from aggregator.config import Settings
from aggregator.errors import FetchError
from aggregator.http_client import HttpClient, Response, Validator, _origin, parse_retry_after

FAST = Settings(retries=2, max_retry_after=2, deadline=2, timeout=1)
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class Recorder:
    """A MockTransport handler that answers from a function and remembers every request."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result = self.answer(request)
        if not isinstance(result, httpx.Response):
            result = await result
        return result

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def run_get(
    answer: Handler, url: str = "https://a.example.com/feed", settings: Settings = FAST, **kwargs: object
) -> tuple[Response | FetchError, Recorder]:
    """GET once through a fresh client; the response or the FetchError, and the recorder."""
    recorder = Recorder(answer)

    async def main() -> Response | FetchError:
        async with HttpClient(settings, transport=httpx.MockTransport(recorder)) as http:
            try:
                return await http.get(url, **kwargs)  # type: ignore[arg-type]
            except FetchError as error:
                return error

    return asyncio.run(main()), recorder


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's retry sleeps instead of waiting them out."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, result: object = None) -> object:
        delays.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return delays


# --- plain GET, conditional GET -----------------------------------------------------------------


def _open_sockets() -> int:
    """This process's open sockets (Linux)."""
    return sum(1 for fd in Path("/proc/self/fd").iterdir() if "socket" in str(fd.resolve()))


def test_plain_get() -> None:
    result, rec = run_get(
        lambda r: httpx.Response(
            200,
            content=b"<rss/>",
            headers={
                "Content-Type": "application/rss+xml; charset=utf-8",
                "ETag": '"v1"',
                "Last-Modified": "Wed, 22 May 2024 10:00:00 GMT",
            },
        ),
        accept="application/rss+xml",
    )
    assert isinstance(result, Response)
    assert result.status == 200
    assert result.content == b"<rss/>"
    assert result.url == "https://a.example.com/feed"
    assert result.content_type == "application/rss+xml"
    assert result.text() == "<rss/>"
    assert result.validator.etag == '"v1"'
    assert result.validator.last_modified == "Wed, 22 May 2024 10:00:00 GMT"
    assert result.validator.body_hash
    assert not result.unchanged
    request = rec.requests[0]
    assert request.headers["accept"] == "application/rss+xml"
    assert request.headers["user-agent"] == FAST.user_agent
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers


def test_conditional_get_304() -> None:
    validator = Validator(etag='"v1"', last_modified="Wed, 22 May 2024 10:00:00 GMT", body_hash="abc")
    result, rec = run_get(lambda r: httpx.Response(304), validator=validator)
    assert isinstance(result, Response)
    assert result.not_modified
    assert result.unchanged
    assert result.content == b""
    assert result.validator == validator
    assert rec.requests[0].headers["if-none-match"] == '"v1"'
    assert rec.requests[0].headers["if-modified-since"] == "Wed, 22 May 2024 10:00:00 GMT"
    assert len(rec.requests) == 1


def test_conditional_get_sends_only_what_it_has() -> None:
    _, rec = run_get(lambda r: httpx.Response(304), validator=Validator(last_modified="Tue, 21 May 2024 00:00:00 GMT"))
    assert "if-none-match" not in rec.requests[0].headers
    assert rec.requests[0].headers["if-modified-since"] == "Tue, 21 May 2024 00:00:00 GMT"


def test_same_body_hash_is_same_body() -> None:
    first, _ = run_get(lambda r: httpx.Response(200, content=b"<rss>same</rss>"))
    assert isinstance(first, Response)
    second, _ = run_get(lambda r: httpx.Response(200, content=b"<rss>same</rss>"), validator=first.validator)
    assert isinstance(second, Response)
    assert second.same_body
    assert second.unchanged
    assert not second.not_modified
    assert second.content == b"<rss>same</rss>"
    third, _ = run_get(lambda r: httpx.Response(200, content=b"<rss>new</rss>"), validator=first.validator)
    assert isinstance(third, Response)
    assert not third.same_body
    assert third.validator.body_hash != first.validator.body_hash


# --- redirects ----------------------------------------------------------------------------------


def test_redirects_followed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/feed":
            return httpx.Response(301, headers={"Location": "/atom.xml"})
        if request.url.path == "/atom.xml":
            return httpx.Response(302, headers={"Location": "https://b.example.org/final.xml"})
        return httpx.Response(200, content=b"<feed/>")

    result, rec = run_get(answer)
    assert isinstance(result, Response)
    assert result.url == "https://b.example.org/final.xml"
    assert result.content == b"<feed/>"
    assert [str(r.url) for r in rec.requests] == [
        "https://a.example.com/feed",
        "https://a.example.com/atom.xml",
        "https://b.example.org/final.xml",
    ]


@pytest.mark.parametrize(("hops", "ok"), [(2, True), (3, False)])
def test_redirect_limit(hops: int, ok: bool) -> None:
    settings = Settings(retries=2, max_retry_after=2, deadline=2, timeout=1, max_redirects=2)

    def answer(request: httpx.Request) -> httpx.Response:
        step = int(request.url.path.strip("/") or 0)
        if step < hops:
            return httpx.Response(307, headers={"Location": f"/{step + 1}"})
        return httpx.Response(200, content=b"done")

    result, rec = run_get(answer, "https://a.example.com/0", settings=settings)
    if ok:
        assert isinstance(result, Response)
        assert result.content == b"done"
        assert len(rec.requests) == hops + 1
    else:
        assert isinstance(result, FetchError)
        assert "too many redirects" in str(result)
        assert result.url == "https://a.example.com/0"
        assert len(rec.requests) == 3  # not retried
        assert not result.retryable


def test_redirect_loop() -> None:
    result, rec = run_get(lambda r: httpx.Response(302, headers={"Location": str(r.url)}))
    assert isinstance(result, FetchError)
    assert "too many redirects" in str(result)
    assert len(rec.requests) == FAST.max_redirects + 1


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://a.example.com/x", "FILE:///etc/passwd"])
def test_redirect_to_non_http_refused(location: str) -> None:
    result, rec = run_get(lambda r: httpx.Response(302, headers={"Location": location}))
    assert isinstance(result, FetchError)
    assert "refused redirect to a non-http(s) URL" in str(result)
    assert len(rec.requests) == 1
    assert not result.retryable


def test_redirect_to_javascript_refused() -> None:
    # httpx itself rejects this Location while building the next request; it still ends as a FetchError
    result, rec = run_get(lambda r: httpx.Response(302, headers={"Location": "javascript:alert(1)"}))
    assert isinstance(result, FetchError)
    assert len(rec.requests) == 1


def test_redirect_without_location_is_an_error() -> None:
    result, _ = run_get(lambda r: httpx.Response(301))
    assert isinstance(result, FetchError)
    assert "HTTP 301" in str(result)


def test_malformed_redirect_location_is_fetch_error() -> None:
    result, _ = run_get(lambda r: httpx.Response(302, headers={"Location": "http://[oops/"}))
    assert isinstance(result, FetchError)


# --- retries ------------------------------------------------------------------------------------


def test_503_retry_after_then_success(sleeps: list[float]) -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "1"}), httpx.Response(200, content=b"ok")])
    result, rec = run_get(lambda r: next(answers))
    assert isinstance(result, Response)
    assert result.content == b"ok"
    assert len(rec.requests) == 2
    assert sleeps == [1.0]


def test_429_with_long_retry_after_fails_at_once(sleeps: list[float]) -> None:
    result, rec = run_get(lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    assert isinstance(result, FetchError)
    assert "rate limited" in str(result)
    assert "3600" in str(result)
    assert result.status == 429
    assert result.retry_after == 3600
    assert len(rec.requests) == 1
    assert sleeps == []


def test_500_retried_then_fails(sleeps: list[float]) -> None:
    result, rec = run_get(lambda r: httpx.Response(500))
    assert isinstance(result, FetchError)
    assert "HTTP 500" in str(result)
    assert result.status == 500
    assert len(rec.requests) == 1 + FAST.retries
    assert len(sleeps) == FAST.retries
    assert all(0 < delay <= 8 * 1.5 for delay in sleeps)


def test_retries_zero(sleeps: list[float]) -> None:
    settings = Settings(retries=0, max_retry_after=2, deadline=2, timeout=1)
    result, rec = run_get(lambda r: httpx.Response(502), settings=settings)
    assert isinstance(result, FetchError)
    assert len(rec.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_not_retried(status: int, sleeps: list[float]) -> None:
    result, rec = run_get(lambda r: httpx.Response(status))
    assert isinstance(result, FetchError)
    assert f"HTTP {status}" in str(result)
    assert result.status == status
    assert str(result).endswith("https://a.example.com/feed")
    assert len(rec.requests) == 1
    assert sleeps == []


def test_connection_error_retried_then_fails(sleeps: list[float]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result, rec = run_get(answer)
    assert isinstance(result, FetchError)
    assert "connection failed" in str(result)
    assert "connection refused" in str(result)
    assert result.retryable
    assert len(rec.requests) == 1 + FAST.retries
    assert len(sleeps) == FAST.retries


def test_connection_error_then_success(sleeps: list[float]) -> None:
    calls = Counter[str]()

    def answer(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("reset", request=request)
        return httpx.Response(200, content=b"ok")

    result, _ = run_get(answer)
    assert isinstance(result, Response)
    assert calls["n"] == 2


def test_read_timeout_is_retried(sleeps: list[float]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    result, rec = run_get(answer)
    assert isinstance(result, FetchError)
    assert "timed out" in str(result)
    assert len(rec.requests) == 1 + FAST.retries


# --- size limits --------------------------------------------------------------------------------


def test_too_large_by_content_length(sleeps: list[float]) -> None:
    result, rec = run_get(lambda r: httpx.Response(200, content=b"x" * 2000), max_bytes=1000)
    assert isinstance(result, FetchError)
    assert "too large" in str(result)
    assert "2,000 bytes declared" in str(result)
    assert len(rec.requests) == 1  # a size limit is not worth a retry
    assert sleeps == []


def test_too_large_streamed_without_content_length() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"y" * 100

    def answer(request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, content=chunks())
        assert "content-length" not in response.headers
        return response

    result, rec = run_get(answer, max_bytes=1000)
    assert isinstance(result, FetchError)
    assert "too large" in str(result)
    assert len(rec.requests) == 1


def test_streamed_body_under_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"<rss>", b"x" * 500, b"</rss>"):
            yield part

    result, _ = run_get(lambda r: httpx.Response(200, content=chunks()), max_bytes=1000)
    assert isinstance(result, Response)
    assert result.content == b"<rss>" + b"x" * 500 + b"</rss>"


def test_settings_max_bytes_used_by_default() -> None:
    settings = Settings(retries=0, max_retry_after=2, deadline=2, timeout=1, max_bytes=100)
    result, _ = run_get(lambda r: httpx.Response(200, content=b"z" * 101), settings=settings)
    assert isinstance(result, FetchError)
    assert "too large" in str(result)


async def _stream_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_gzip_bomb_counted_after_decompression() -> None:
    body = gzip.compress(b"\0" * 50_000)
    assert len(body) < 1000
    # the declared length is the small compressed size: only counting inflated bytes catches it
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(body))}

    result, _ = run_get(
        lambda r: httpx.Response(200, content=_stream_of(body[:100], body[100:]), headers=headers), max_bytes=10_000
    )
    assert isinstance(result, FetchError)
    assert "too large" in str(result)
    assert "after decompression" in str(result)


def test_gzip_body_decoded() -> None:
    text = "深度学习入门：反向传播算法详解".encode()
    result, rec = run_get(
        lambda r: httpx.Response(200, content=gzip.compress(text), headers={"Content-Encoding": "gzip"})
    )
    assert isinstance(result, Response)
    assert result.content == text
    assert "gzip" in rec.requests[0].headers["accept-encoding"]


def test_bad_gzip_is_fetch_error() -> None:
    result, _ = run_get(
        lambda r: httpx.Response(200, content=_stream_of(b"not gzip at all"), headers={"Content-Encoding": "gzip"})
    )
    assert isinstance(result, FetchError)
    assert "bad content encoding" in str(result)


# --- concurrency limits -------------------------------------------------------------------------


def _host_limit_scenario(settings: Settings, slow_requests: int) -> tuple[int, int, bool]:
    """`slow_requests` to slow.example.com block until fast.example.com has answered.

    Returns (most slow requests in flight at once, slow requests in flight when fast answered, fast answered).
    """
    active = Counter[str]()
    peak = Counter[str]()
    release = asyncio.Event()
    seen_when_fast_done = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        active[host] += 1
        peak[host] = max(peak[host], active[host])
        try:
            if host == "slow.example.com":
                await release.wait()
            return httpx.Response(200, content=host.encode())
        finally:
            active[host] -= 1

    async def main() -> bool:
        nonlocal seen_when_fast_done
        async with HttpClient(settings, transport=httpx.MockTransport(answer)) as http:
            slow = [asyncio.create_task(http.get(f"https://slow.example.com/{i}")) for i in range(slow_requests)]
            fast = asyncio.create_task(http.get("https://fast.example.com/"))
            try:
                # a guard against a deadlock, not a timing assertion
                await asyncio.wait_for(asyncio.shield(fast), timeout=1.5)
                fast_ok = True
                seen_when_fast_done = active["slow.example.com"]
            except TimeoutError:
                fast_ok = False
            release.set()
            results = await asyncio.gather(*slow, fast)
            assert all(isinstance(r, Response) for r in results)
            return fast_ok

    fast_ok = asyncio.run(main())
    return peak["slow.example.com"], seen_when_fast_done, fast_ok


def test_per_host_limit_while_other_hosts_proceed() -> None:
    settings = Settings(retries=0, max_retry_after=2, deadline=5, timeout=1, per_host=2)
    peak, in_flight, fast_ok = _host_limit_scenario(settings, slow_requests=6)
    assert fast_ok
    assert peak == 2
    assert in_flight == 2


def test_requests_waiting_for_a_host_do_not_hold_global_slots() -> None:
    settings = Settings(retries=0, max_retry_after=2, deadline=5, timeout=1, per_host=1, concurrency=2)
    peak, _, fast_ok = _host_limit_scenario(settings, slow_requests=3)
    assert peak == 1
    assert fast_ok


# --- Retry-After --------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 22, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Wed, 22 May 2024 10:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Wed, 22 May 2024 09:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


# --- keep-alive ---------------------------------------------------------------------------------


def test_one_connection_carries_304s_redirects_and_errors(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_bytes(b"<rss><channel><title>t</title></channel></rss>")

    async def main(served: Served) -> list[int | str]:
        seen: list[int | str] = []
        async with HttpClient(Settings(retries=0)) as http:
            first = await http.get(served.url("feed.xml"))
            for _ in range(3):  # a warm run: every answer is a 304 with no body
                seen.append((await http.get(served.url("feed.xml"), validator=first.validator)).status)
            seen.append((await http.get(served.url(f"redirect?to={served.url('feed.xml')}"))).status)
            try:
                await http.get(served.url("status/404"))  # an error page, with a body nobody reads
            except FetchError as error:
                seen.append(str(error.status))
            seen.append((await http.get(served.url("feed.xml"))).status)
        return seen

    with serve(tmp_path) as served:
        assert asyncio.run(main(served)) == [304, 304, 304, 200, "404", 200]
        assert len(served.requests) == 8
        # the server saw one client connection: no answer made agg hang up and connect again
        assert len(set(served.client_ports)) == 1, served.client_ports


@pytest.mark.parametrize("concurrency", [1, 3])
def test_idle_hosts_past_the_global_limit_lose_their_connections(tmp_path: Path, concurrency: int) -> None:
    (tmp_path / "feed.xml").write_bytes(b"<rss/>")

    async def main(servers: list[Served]) -> None:
        async with HttpClient(Settings(retries=0, concurrency=concurrency)) as http:
            for served in [*servers, servers[0]]:  # a, b, c, then a again
                assert (await http.get(served.url("feed.xml"))).status == 200

    with serve(tmp_path) as a, serve(tmp_path) as b, serve(tmp_path) as c:
        asyncio.run(main([a, b, c]))
        assert [len(s.requests) for s in (a, b, c)] == [2, 1, 1]
        # one idle host kept (concurrency 1): a's connection was closed for c's; three kept: a's is reused
        assert len(set(a.client_ports)) == (2 if concurrency == 1 else 1)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts sockets in /proc (Linux)")
def test_many_hosts_at_once_all_answered_and_idle_sockets_stay_bounded(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_bytes(b"<rss/>")
    settings = Settings(retries=0, concurrency=4, per_host=2)

    async def main(servers: list[Served]) -> tuple[list[int], int]:
        async with HttpClient(settings) as http:
            urls = [s.url(f"feed.xml?n={n}") for n in range(5) for s in servers]
            statuses = [r.status for r in await asyncio.gather(*(http.get(url) for url in urls))]
            await asyncio.sleep(0.2)  # let the servers see the closed connections
            return statuses, _open_sockets()

    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(serve(tmp_path)) for _ in range(12)]
        before = _open_sockets()
        statuses, during = asyncio.run(main(servers))
    assert statuses == [200] * 60
    assert all(len(s.requests) == 5 for s in servers)
    # 4 hosts kept, 2 connections each, and the servers' ends of those: never one pool per host seen
    assert during - before <= 2 * settings.concurrency * settings.per_host


def test_requests_are_anonymous_a_cookie_set_is_never_sent_back() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, content=b"<rss/>", headers={"Set-Cookie": "track=1; Path=/"}))

    async def main() -> None:
        async with HttpClient(FAST, transport=httpx.MockTransport(recorder)) as http:
            await http.get("https://a.example.com/feed")
            await http.get("https://a.example.com/feed")

    asyncio.run(main())
    assert [r.headers.get("cookie") for r in recorder.requests] == [None, None]
    assert {r.headers["accept-encoding"] for r in recorder.requests} == {"gzip, deflate"}


def test_a_stalled_redirect_body_never_turns_the_answer_into_a_timeout() -> None:
    # a 301 that declares 20 bytes of body and sends 3: draining it must give up inside the deadline
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if request.startswith(b"GET /old "):
            writer.write(b"HTTP/1.1 301 Moved\r\nLocation: /new\r\nContent-Length: 20\r\n\r\nMov")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(5)
        writer.close()

    async def main() -> tuple[Response, float]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with server, HttpClient(Settings(deadline=0.5, retries=0)) as http:
            response = await http.get(f"http://127.0.0.1:{port}/old")
            return response, loop.time() - started

    response, took = asyncio.run(main())
    assert (response.status, response.content, response.url.endswith("/new")) == (200, b"ok", True)
    assert took < 1.0


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Blog.example.org/a", ("https", "blog.example.org", 443)),
        ("https://blog.example.org:443/b", ("https", "blog.example.org", 443)),
        ("https://user@blog.example.org/c", ("https", "blog.example.org", 443)),
        ("http://blog.example.org:8080/d", ("http", "blog.example.org", 8080)),
    ],
)
def test_one_host_however_its_url_is_spelt_has_one_limit(url: str, origin: tuple[str, str, int]) -> None:
    assert _origin(url) == origin


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts sockets in /proc (Linux)")
def test_deadlines_and_cancellations_mid_answer_leave_no_connection_behind() -> None:
    # answers that stall in the headers, in a body, or in a body nobody wants, under a 0.2 s deadline,
    # with some requests cancelled from outside: every failure is a FetchError, and afterwards no pool is
    # left busy (it would keep its sockets open for ever)
    rng = random.Random(7)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            while True:
                kind = (await reader.readuntil(b"\r\n\r\n")).split(b" ", 2)[1].strip(b"/")
                await asyncio.sleep(rng.random() * 0.05 + (0.3 if kind == b"slowhead" else 0))
                if kind == b"304":
                    writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n")
                elif kind in (b"404", b"slowbody"):
                    status = b"404 Not Found" if kind == b"404" else b"200 OK"
                    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 10\r\n\r\nabc")
                    await writer.drain()
                    await asyncio.sleep(rng.random() * 0.4)
                    writer.write(b"defghij")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        writer.close()

    async def main() -> tuple[list[BaseException], int, int]:
        servers = [await asyncio.start_server(handle, "127.0.0.1", 0) for _ in range(8)]
        ports = [server.sockets[0].getsockname()[1] for server in servers]
        before = _open_sockets()
        settings = Settings(deadline=0.2, retries=0, concurrency=3, per_host=2)
        async with HttpClient(settings) as http:
            kinds = ["ok", "304", "404", "slowbody", "slowhead"]
            urls = [f"http://127.0.0.1:{rng.choice(ports)}/{rng.choice(kinds)}" for _ in range(120)]
            tasks = [asyncio.create_task(http.get(url)) for url in urls]
            await asyncio.sleep(0.3)
            for task in rng.sample(tasks, 20):
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.1)
            during = _open_sockets() - before
        for server in servers:
            server.close()
        unexpected = [
            o
            for o in outcomes
            if isinstance(o, BaseException) and not isinstance(o, FetchError | asyncio.CancelledError)
        ]
        return unexpected, during, sum(isinstance(o, Response) for o in outcomes)

    unexpected, during, answered = asyncio.run(main())
    assert unexpected == [] and answered > 0
    # the 3 hosts kept may hold 2 connections each (and the servers' ends of them)
    assert during <= 2 * 3 * 2
