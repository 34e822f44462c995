"""aggregator.http_backend: HTTP/1.1 on asyncio transports with h11, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from aggregator.config import Settings
from aggregator.errors import FetchError
from aggregator.http_backend import (
    ConnectError,
    ConnectTimeout,
    Pool,
    ProtocolError,
    ReadTimeout,
    Timeouts,
)
from aggregator.http_client import HttpClient
from tests.tls_files import self_signed

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
QUICK = Timeouts(connect=2, read=2)


class Peers:
    """What a test server saw: the client port of each connection, and how many the client hung up."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.hung_up = 0


@asynccontextmanager
async def server(handle: Serve, tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[int, Peers]]:
    """A server on a free port; yields (port, what it saw)."""
    peers = Peers()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.ports.append(writer.get_extra_info("peername")[1])
        try:
            await handle(reader, writer)
        except asyncio.IncompleteReadError:
            peers.hung_up += 1
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=tls)
    try:
        yield listener.sockets[0].getsockname()[1], peers
    finally:
        listener.close()


def answer(body: bytes, *, close_after: bool = False, head: bytes = b"HTTP/1.1 200 OK\r\n") -> Serve:
    """Answer every request on the connection with `body`; with `close_after`, hang up after the first."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            if close_after:
                return

    return handle


def new_pool(per_host: int = 2, keepalive: float = 5.0, context: ssl.SSLContext | None = None) -> Pool:
    return Pool(
        per_host=per_host,
        keep_hosts=4,
        keepalive=keepalive,
        ssl_context=lambda: context or ssl.create_default_context(),
    )


async def get(pool: Pool, port: int, path: str = "/", scheme: str = "http") -> tuple[int, bytes]:
    headers = [(b"Host", b"127.0.0.1:%d" % port)]
    response = await pool.request((scheme, "127.0.0.1", port), b"GET", path.encode(), headers, QUICK)
    try:
        body = b"".join([chunk async for chunk in response])
    finally:
        response.close()
    return response.status, body


# --- keep-alive -----------------------------------------------------------------------------------


def test_a_body_larger_than_the_read_buffer_arrives_whole_and_the_connection_is_kept() -> None:
    # past 256 KB the socket stops being read until the body is taken: the bytes must come out in order
    body = bytes(range(256)) * 12_000  # 3 MB

    async def main() -> tuple[list[tuple[int, bytes]], Peers]:
        async with server(answer(body)) as (port, peers):
            pool = new_pool()
            results = [await get(pool, port, "/big") for _ in range(2)]
            pool.close()
        return results, peers

    results, peers = asyncio.run(main())
    assert results == [(200, body), (200, body)]
    assert len(peers.ports) == 1  # both on one kept-alive connection


def test_a_body_comes_out_in_pieces_of_at_most_64_kib_however_much_has_arrived() -> None:
    # each piece is inflated whole by the gzip decoder before the size cap counts it: a 256 KB piece of a
    # gzip bomb was 256 MB in one call
    body = bytes(range(256)) * 4_000  # 1 MB, all buffered before it is read

    async def main() -> list[int]:
        async with server(answer(body)) as (port, _):
            pool = new_pool()
            response = await pool.request(("http", "127.0.0.1", port), b"GET", b"/", [(b"Host", b"x")], QUICK)
            await asyncio.sleep(0.2)
            sizes = [len(chunk) async for chunk in response]
            response.close()
            pool.close()
            return sizes

    sizes = asyncio.run(main())
    assert sum(sizes) == len(body) and max(sizes) <= 64 * 1024


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def main() -> tuple[list[tuple[int, bytes]], Peers]:
        async with server(answer(b"hi", close_after=True)) as (port, peers):
            pool = new_pool(keepalive=60)
            first = await get(pool, port)
            await asyncio.sleep(0.1)  # the server hangs up; the pool must see it before sending again
            second = await get(pool, port)
            pool.close()
            return [first, second], peers

    results, peers = asyncio.run(main())
    assert results == [(200, b"hi"), (200, b"hi")]
    assert len(peers.ports) == 2


def test_a_request_on_a_connection_the_server_drops_unanswered_goes_again_on_a_new_one() -> None:
    # the server closes a kept-alive connection just as the next request arrives: a GET is sent again once
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the second request: dropped without a word

    async def main() -> tuple[list[tuple[int, bytes]], Peers]:
        async with server(handle) as (port, peers):
            pool = new_pool()
            results = [await get(pool, port) for _ in range(2)]
            pool.close()
            return results, peers

    results, peers = asyncio.run(main())
    assert results == [(200, b"first"), (200, b"first")]
    assert len(peers.ports) == 2


def test_a_new_connection_dropped_unanswered_is_a_protocol_error_not_a_loop() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")

    async def main() -> tuple[str, Peers]:
        async with server(drop) as (port, peers):
            pool = new_pool()
            with pytest.raises(ProtocolError) as caught:
                await get(pool, port)
            pool.close()
            return str(caught.value), peers

    message, peers = asyncio.run(main())
    assert message == "the server closed the connection without answering"
    assert len(peers.ports) == 1


def test_an_idle_connection_past_its_keepalive_is_closed_not_reused() -> None:
    async def main() -> Peers:
        async with server(answer(b"hi")) as (port, peers):
            pool = new_pool(keepalive=0.05)
            await get(pool, port)
            await asyncio.sleep(0.15)
            await get(pool, port)
            pool.close()
            await asyncio.sleep(0.05)
            return peers

    peers = asyncio.run(main())
    assert len(peers.ports) == 2


def test_connection_close_in_the_answer_is_obeyed() -> None:
    async def main() -> Peers:
        async with server(answer(b"bye", head=b"HTTP/1.1 200 OK\r\nConnection: close\r\n")) as (port, peers):
            pool = new_pool()
            assert [await get(pool, port) for _ in range(2)] == [(200, b"bye")] * 2
            pool.close()
            return peers

    assert len(asyncio.run(main()).ports) == 2


def test_a_304_or_an_error_page_left_unread_still_gives_its_connection_back() -> None:
    # the body of a 304 (none) or a short 404 is already in the buffer when the head is: no read is needed
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            if request.startswith(b"GET /304 "):
                writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
            await writer.drain()

    async def main() -> tuple[list[int], Peers]:
        async with server(handle) as (port, peers):
            pool = new_pool()
            statuses = []
            for path in (b"/304", b"/404", b"/304"):
                response = await pool.request(("http", "127.0.0.1", port), b"GET", path, [(b"Host", b"x")], QUICK)
                await asyncio.sleep(0.02)  # let the whole answer arrive
                response.close()  # unread
                statuses.append(response.status)
            pool.close()
            return statuses, peers

    statuses, peers = asyncio.run(main())
    assert statuses == [304, 404, 304]
    assert len(peers.ports) == 1


def test_a_body_left_half_read_closes_its_connection() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(b"defghij")
            await writer.drain()

    async def main() -> tuple[tuple[int, bytes], Peers]:
        async with server(handle) as (port, peers):
            pool = new_pool()
            response = await pool.request(("http", "127.0.0.1", port), b"GET", b"/", [(b"Host", b"x")], QUICK)
            response.close()  # 3 of 10 bytes in: the connection cannot carry another request
            whole = await get(pool, port)
            pool.close()
            return whole, peers

    whole, peers = asyncio.run(main())
    assert whole == (200, b"abcdefghij")
    assert len(peers.ports) == 2


def test_no_more_idle_connections_are_kept_for_a_host_than_its_limit() -> None:
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    async def main() -> Peers:
        async with server(handle) as (port, peers):
            pool = new_pool(per_host=1)
            both = asyncio.gather(get(pool, port), get(pool, port))
            await asyncio.sleep(0.05)
            release.set()
            assert await both == [(200, b"ok")] * 2
            await asyncio.sleep(0.05)
            hung_up_before_close = peers.hung_up
            pool.close()
            await asyncio.sleep(0.05)
            assert peers.hung_up == 2
            peers.hung_up = hung_up_before_close
            return peers

    peers = asyncio.run(main())
    assert len(peers.ports) == 2 and peers.hung_up == 1  # one kept idle, the other closed at once


# --- framing ----------------------------------------------------------------------------------------


def test_chunked_bodies_bodies_ended_by_closing_and_informational_answers() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
        if request.startswith(b"GET /chunked "):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
            await writer.drain()
            writer.close()

    async def main() -> list[tuple[int, bytes]]:
        async with server(handle) as (port, _):
            pool = new_pool()
            results = [await get(pool, port, "/chunked"), await get(pool, port, "/close")]
            pool.close()
            return results

    assert asyncio.run(main()) == [(200, b"abcde"), (200, b"until the end")]


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "illegal status line"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 200_000, "Receive buffer too long"),  # a head past 100 KB
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "peer closed connection without sending complete"),
    ],
)
def test_what_is_not_http_is_a_one_line_protocol_error(reply: bytes, says: str) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()

    async def main() -> str:
        async with server(handle) as (port, _):
            pool = new_pool()
            with pytest.raises(ProtocolError) as caught:
                await get(pool, port)
            pool.close()
            return str(caught.value)

    message = asyncio.run(main())
    assert message.startswith(says) and "\n" not in message


def test_a_header_h11_refuses_fails_before_any_connection_is_opened() -> None:
    async def main() -> tuple[str, Peers]:
        async with server(answer(b"hi")) as (port, peers):
            pool = new_pool()
            headers = [(b"Host", b"x"), (b"If-None-Match", b'"a"\r\nX-Injected: 1')]
            with pytest.raises(ProtocolError) as caught:
                await pool.request(("http", "127.0.0.1", port), b"GET", b"/", headers, QUICK)
            pool.close()
            return str(caught.value), peers

    message, peers = asyncio.run(main())
    assert message.startswith("request not sent") and peers.ports == []


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_a_connect_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def main() -> None:
        pool = new_pool()
        async with server(silent) as (port, _):
            with pytest.raises(ReadTimeout):
                await pool.request(("http", "127.0.0.1", port), b"GET", b"/", [(b"Host", b"x")], Timeouts(2, 0.2))
        with pytest.raises(ConnectError):
            await get(pool, port)  # the server is gone
        pool.close()

    asyncio.run(main())


def test_cancelling_a_request_mid_answer_closes_its_connection() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await reader.read()  # until the client hangs up
        raise asyncio.IncompleteReadError(b"", None)

    async def main() -> Peers:
        async with server(stall) as (port, peers):
            pool = new_pool()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await get(pool, port)
            await asyncio.sleep(0.1)
            return peers

    assert asyncio.run(main()).hung_up == 1


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"), "localhost", "IP:127.0.0.1", "DNS:localhost")


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_tls_with_a_trusted_certificate_keeps_one_connection(certificate: tuple[Path, Path]) -> None:
    async def main() -> tuple[list[tuple[int, bytes]], Peers]:
        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        async with server(answer(b"secret"), tls=_server_context(certificate)) as (port, peers):
            pool = new_pool(context=trusting)
            results = [await get(pool, port, scheme="https") for _ in range(3)]
            pool.close()
        return results, peers

    results, peers = asyncio.run(main())
    assert results == [(200, b"secret")] * 3
    assert len(peers.ports) == 1


def test_an_untrusted_certificate_is_a_one_line_fetch_error(certificate: tuple[Path, Path]) -> None:
    async def main() -> str:
        tls = _server_context(certificate)
        async with server(answer(b"secret"), tls=tls) as (port, _), HttpClient(Settings(retries=0, deadline=5)) as http:
            with pytest.raises(FetchError) as caught:
                await http.get(f"https://127.0.0.1:{port}/feed.xml")
        return str(caught.value)

    message = asyncio.run(main())
    assert "certificate verify failed" in message and "\n" not in message


def test_the_ca_bundle_is_loaded_only_when_a_https_host_is_met(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    real = httpx.create_ssl_context
    monkeypatch.setattr(httpx, "create_ssl_context", lambda **kw: loads.append(kw) or real(**kw))

    async def main() -> int:
        async with server(answer(b"plain")) as (port, _), HttpClient(Settings(retries=0, deadline=5)) as http:
            assert [(await http.get(f"http://127.0.0.1:{port}/{n}")).content for n in "ab"] == [b"plain"] * 2
            plain = len(loads)
            async with server(answer(b"secret"), tls=_server_context(certificate)) as (tls_port, _):
                for _ in range(2):
                    with pytest.raises(FetchError):  # certifi's CAs do not trust the test certificate
                        await http.get(f"https://127.0.0.1:{tls_port}/")
        return plain

    assert asyncio.run(main()) == 0 and len(loads) == 1


def test_a_tls_handshake_that_never_answers_times_out() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)  # reads the ClientHello, never answers it

    async def main() -> None:
        async with server(mute) as (port, _):
            pool = new_pool()
            with pytest.raises(ConnectTimeout):
                await pool.request(("https", "127.0.0.1", port), b"GET", b"/", [(b"Host", b"x")], Timeouts(0.3, 2))
            pool.close()

    asyncio.run(main())
