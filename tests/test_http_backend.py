"""aggregator.http_backend: httpcore's sockets on asyncio transports, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest

from aggregator.config import Settings
from aggregator.errors import FetchError
from aggregator.http_backend import AsyncioBackend, connection_pool
from aggregator.http_client import HttpClient

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handle: Serve, tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[int, list[int]]]:
    """A server on a free port; yields (port, the client port of each connection it accepted)."""
    peers: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        try:
            await handle(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=tls)
    try:
        yield listener.sockets[0].getsockname()[1], peers
    finally:
        listener.close()


def answer(body: bytes, *, close_after: bool = False) -> Serve:
    """Answer every request on the connection with `body`; with `close_after`, hang up after the first."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            if close_after:
                return

    return handle


async def get(pool: httpcore.AsyncConnectionPool, url: str) -> tuple[int, bytes]:
    response = await pool.request("GET", url)
    return response.status, response.content


def test_a_body_larger_than_the_read_buffer_arrives_whole() -> None:
    # past 256 KB the socket stops being read until httpcore takes some: the bytes must come out in order
    body = bytes(range(256)) * 12_000  # 3 MB

    async def main() -> list[tuple[int, bytes]]:
        async with server(answer(body)) as (port, peers):
            pool = connection_pool(ssl.create_default_context(), 2, 5.0)
            async with pool:
                results = [await get(pool, f"http://127.0.0.1:{port}/big") for _ in range(2)]
            assert len(peers) == 1  # both on one kept-alive connection
        return results

    assert asyncio.run(main()) == [(200, body), (200, body)]


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def main() -> tuple[list[tuple[int, bytes]], list[int]]:
        async with server(answer(b"hi", close_after=True)) as (port, peers):
            pool = connection_pool(ssl.create_default_context(), 1, 60.0)
            async with pool:
                first = await get(pool, f"http://127.0.0.1:{port}/")
                await asyncio.sleep(0.1)  # the server hangs up; httpcore must see it before sending again
                second = await get(pool, f"http://127.0.0.1:{port}/")
            return [first, second], peers

    results, peers = asyncio.run(main())
    assert results == [(200, b"hi"), (200, b"hi")]
    assert len(peers) == 2


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_a_connect_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def main() -> None:
        backend = AsyncioBackend()
        async with server(silent) as (port, _):
            stream = await backend.connect_tcp("127.0.0.1", port, timeout=1)
            await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=1)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(1024, timeout=0.2)
            await stream.aclose()
        with pytest.raises(httpcore.ConnectError):
            await backend.connect_tcp("127.0.0.1", port, timeout=1)  # the server is gone

    asyncio.run(main())


def test_the_end_of_a_stream_reads_as_empty_and_a_write_after_it_fails() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")
        await writer.drain()

    async def main() -> None:
        async with server(hang_up) as (port, _):
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1)
            assert await stream.read(2, timeout=1) == b"by"
            assert await stream.read(1024, timeout=1) == b"e"
            assert await stream.read(1024, timeout=1) == b""
            assert stream.get_extra_info("is_readable") is True  # ended: not a connection to reuse
            with pytest.raises(httpcore.WriteError):
                await stream.write(b"more", timeout=1)
            await stream.aclose()

    asyncio.run(main())


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_tls_with_a_trusted_certificate_keeps_one_connection(certificate: tuple[Path, Path]) -> None:
    async def main() -> tuple[list[tuple[int, bytes]], list[int], str | None]:
        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        async with server(answer(b"secret"), tls=_server_context(certificate)) as (port, peers):
            pool = connection_pool(trusting, 1, 5.0)
            async with pool:
                results = [await get(pool, f"https://127.0.0.1:{port}/") for _ in range(3)]
                stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1)
                secured = await stream.start_tls(trusting, server_hostname="127.0.0.1", timeout=1)
                version = secured.get_extra_info("ssl_object").version()
                await secured.aclose()
        return results, peers, version

    results, peers, version = asyncio.run(main())
    assert results == [(200, b"secret")] * 3
    assert len(peers) == 2  # the pool's one connection, and the stream opened by hand
    assert version is not None and version.startswith("TLS")


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
                with pytest.raises(FetchError):  # certifi's CAs do not trust the test certificate
                    await http.get(f"https://127.0.0.1:{tls_port}/")
        return plain

    assert asyncio.run(main()) == 0 and len(loads) == 1


def test_a_tls_handshake_that_never_answers_times_out() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)  # reads the ClientHello, never answers it

    async def main() -> None:
        async with server(mute) as (port, _):
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1)
            with pytest.raises(httpcore.ConnectTimeout):
                await stream.start_tls(ssl.create_default_context(), server_hostname="localhost", timeout=0.3)

    asyncio.run(main())


def test_a_write_waits_while_the_server_reads_nothing_then_times_out_or_goes_through() -> None:
    big = b"x" * (32 * 1024 * 1024)  # more than the kernel's buffers: the transport must pause writing
    received: list[int] = []

    async def slow_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.5)
        total = 0
        while chunk := await reader.read(1 << 20):
            total += len(chunk)
            if total >= len(big):
                break
        received.append(total)

    async def main() -> None:
        async with server(slow_reader) as (port, _):
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1)
            with pytest.raises(httpcore.WriteTimeout):
                await stream.write(big, timeout=0.1)  # nobody reads for 0.5 s
            await stream.aclose()
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1)
            await stream.write(big, timeout=5)  # returns once the transport takes writes again
            await stream.aclose()
            for _ in range(50):
                if received:
                    break
                await asyncio.sleep(0.1)

    asyncio.run(main())
    assert len(big) in received
