"""httpcore's sockets on asyncio's own transports. The only module that imports httpcore.

httpcore runs on asyncio through anyio, which wraps every socket read and write in a cancel scope with
its own timer and exception mapping: a quarter of the CPU of a conditional GET (a run of 1,000 feeds
that all answer 304). This backend reads from a protocol's buffer, waits on a future only when the buffer
is empty, and raises the same httpcore exceptions anyio's backend does (ConnectError, ReadTimeout, ...).
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any, Literal

import httpcore

_SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
# httpcore's names for what an asyncio transport calls otherwise
_TRANSPORT_INFO = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}
_HIGH_WATER = 256 * 1024  # bytes buffered before the socket stops being read (the body is read as it comes)


def connection_pool(
    ssl_context: ssl.SSLContext | None, connections: int, keepalive: float
) -> httpcore.AsyncConnectionPool:
    """An HTTP/1.1 connection pool of at most `connections` sockets, on this backend (`ssl_context` for https)."""
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=keepalive,
        network_backend=AsyncioBackend(),
    )


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections opened with `loop.create_connection`, TLS with `loop.start_tls` (agg opens no Unix
    sockets: httpcore's base class refuses them)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    lambda: _Buffered(loop), host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():  # asyncio already sets TCP_NODELAY
            sock.setsockopt(*option)
        return _Stream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Buffered(asyncio.Protocol):
    """What a connection has received, and whether it has ended; read by `_Stream`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # EOF, or the connection was lost
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self._waiters: dict[str, asyncio.Future[None]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= _HIGH_WATER and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        _wake(self._waiters.get("data"))

    def eof_received(self) -> bool:
        self.ended = True
        _wake(self._waiters.get("data"))
        return False  # close the transport: HTTP/1.1 never writes after the server has finished

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        _wake(self._waiters.get("data"))
        _wake(self._waiters.get("drained"))

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self._waiters.get("drained"))

    async def until(self, event: Literal["data", "drained"]) -> None:
        """Wait until something was received ("data") or writes are taken again ("drained"), or the end."""
        waiter = self._waiters[event] = self.loop.create_future()
        try:
            await waiter
        finally:
            del self._waiters[event]


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Buffered) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.ended:
            try:
                async with asyncio.timeout(timeout):
                    await protocol.until("data")
            except TimeoutError:
                raise httpcore.ReadTimeout("the server sent nothing in time") from None
        if protocol.buffer:
            data = bytes(protocol.buffer[:max_bytes])
            del protocol.buffer[:max_bytes]
            if protocol.reading_paused and len(protocol.buffer) < _HIGH_WATER // 4:
                protocol.reading_paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the end of the stream, as a socket's recv() says it

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.ended or self._transport.is_closing():
            raise httpcore.WriteError(str(protocol.error or "the connection is closed"))
        self._transport.write(buffer)
        if protocol.writing_paused:
            try:
                async with asyncio.timeout(timeout):
                    await protocol.until("drained")
            except TimeoutError:
                raise httpcore.WriteTimeout("the server took nothing in time") from None
            if protocol.error is not None:
                raise httpcore.WriteError(str(protocol.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = self._protocol.loop
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("the TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as e:  # ssl.SSLError is an OSError; named for the reader
            self._transport.close()
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        self._protocol.transport = transport  # start_tls does not call connection_made again
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info in _TRANSPORT_INFO:
            return self._transport.get_extra_info(_TRANSPORT_INFO[info])
        if info == "is_readable":
            # an idle keep-alive connection with data or an end waiting is one the server has given up on
            protocol = self._protocol
            return bool(protocol.buffer) or protocol.ended or _readable(self._transport.get_extra_info("socket"))
        return None


def _readable(sock: socket.socket | None) -> bool:
    """Whether the kernel holds data (or an end) the event loop has not read yet."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))
