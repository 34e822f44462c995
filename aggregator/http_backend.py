"""HTTP/1.1 connections on asyncio's own transports, h11 speaking the protocol. The only module that imports h11.

httpx's own engine, httpcore, runs on asyncio through anyio: the locks, events and cancel scopes it takes
around every request were two thirds of the CPU of a conditional GET (a run of 1,000 feeds that all
answer 304), and importing it took 47 ms and 108 modules. agg needs none of what they are for:
- its client already limits requests per host and in all, so a request here never waits for a connection;
- nothing here awaits while giving a connection back or closing it, so a cancelled request can never
  leave a connection half returned.

`Pool.request` sends a request and returns an `Answer` once the status line and headers are in; the body
is read by iterating it, and `Answer.close()` keeps the connection for the next request to that origin,
or closes it. Failures are `NetworkError`s with one readable line.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import h11

from aggregator.proxy import Proxy

Origin = tuple[str, str, int]  # scheme, host (ASCII, IDNA-encoded), port

_MAX_HEAD = 100 * 1024  # a status line and headers longer than this are refused (httpcore's limit too)
_HIGH_WATER = 256 * 1024  # bytes buffered before the socket stops being read (the body is read as it comes)
# bytes handed on per read (httpcore's figure): a gzip bomb inflates each read up to 1,000-fold before the
# client's size cap can count it, and a whole buffer at once blocked the event loop for a 256 MB inflate
_READ_BYTES = 64 * 1024
_END = h11.EndOfMessage()  # immutable, and building one validates its (empty) trailers: 6 us a request


class NetworkError(Exception):
    """A request that failed on the way; the message is one readable line."""


class ConnectError(NetworkError):
    pass


class ConnectTimeout(ConnectError):
    pass


class ReadError(NetworkError):
    pass


class ReadTimeout(ReadError):
    pass


class ProtocolError(NetworkError):
    """The server's answer is not HTTP/1.1 (or agg's request was refused by h11 before it left)."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float | None  # to open the connection, TLS handshake included
    read: float | None  # for each wait on the server


class Pool:
    """Kept-alive connections, at most `per_host` of them per origin, for the `keep_hosts` origins used last.

    An idle connection older than `keepalive` seconds, or one the server has hung up or written to
    meanwhile, is closed instead of reused. `ssl_context` is asked for once per https connection.
    """

    def __init__(
        self,
        *,
        per_host: int,
        keep_hosts: int,
        keepalive: float,
        ssl_context: Callable[[], ssl.SSLContext],
        proxy_for: Callable[[str, str], Proxy | None] | None = None,
    ) -> None:
        self._proxy_for = proxy_for  # (scheme, host) to the proxy a request goes through, or None for none
        self._per_host = per_host
        self._keep_hosts = keep_hosts
        self._keepalive = keepalive
        self._ssl_context = ssl_context
        self._idle: OrderedDict[Origin, list[_Connection]] = OrderedDict()  # least recently used first
        self._open: set[_Connection] = set()

    async def request(
        self, origin: Origin, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], timeouts: Timeouts
    ) -> Answer:
        """Send a request without a body; return once the answer's head is in."""
        proxy = self._proxy_for(origin[0], origin[1]) if self._proxy_for is not None else None
        if proxy is not None and origin[0] == "http":  # the proxy forwards it: the whole URL, and its password
            target = b"http://" + _authority(origin, default=80) + target
            if proxy.authorization is not None:
                headers = [*headers, (b"Proxy-Authorization", proxy.authorization)]
        try:
            head = h11.Request(method=method, target=target, headers=headers)
        except h11.LocalProtocolError as e:
            raise ProtocolError(f"request not sent: {e}") from None
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await connection.exchange(self, head, timeouts)
            except (ReadError, ProtocolError) as error:
                if isinstance(error, ReadTimeout) or connection.received:
                    raise
                # the server closed the idle connection as the request went out: a GET is safe to send again
        connection = await self._connect(origin, timeouts.connect, proxy)
        return await connection.exchange(self, head, timeouts)

    def _take_idle(self, origin: Origin) -> _Connection | None:
        connections = self._idle.get(origin)
        now = time.monotonic()
        while connections:
            connection = connections.pop()  # the most recently used: the least likely to be expired
            if not connections:
                del self._idle[origin]
            if connection.reusable(now - self._keepalive):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, seconds: float | None, proxy: Proxy | None) -> _Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        through = f" through the proxy {proxy.shown}" if proxy is not None else ""
        try:
            async with asyncio.timeout(seconds):  # the tunnel and the TLS handshake included
                transport: asyncio.BaseTransport
                if proxy is None:
                    transport, protocol = await loop.create_connection(
                        lambda: _Buffered(loop), host, port, ssl=context, server_hostname=host if context else None
                    )
                else:
                    transport, protocol = await loop.create_connection(lambda: _Buffered(loop), proxy.host, proxy.port)
                    if context is not None:
                        transport = await _tunnel(transport, protocol, origin, proxy, context)
        except TimeoutError:
            raise ConnectTimeout(f"connecting to {host}:{port}{through} timed out") from None
        except OSError as e:  # ssl.SSLError is an OSError: a refused certificate lands here too
            raise ConnectError(f"{e or type(e).__name__}{through}") from None
        assert isinstance(transport, asyncio.Transport)
        connection = _Connection(origin, transport, protocol, self._open)
        self._open.add(connection)
        return connection

    def give_back(self, connection: _Connection) -> None:
        """Keep a connection whose last exchange ended cleanly; close the origins used longest ago."""
        connection.idle_since = time.monotonic()
        connections = self._idle.pop(connection.origin, [])
        self._idle[connection.origin] = connections  # now the most recently used
        if len(connections) >= self._per_host:
            connection.close()
        else:
            connections.append(connection)
        expired = connection.idle_since - self._keepalive
        while self._idle:
            oldest = next(iter(self._idle))
            if len(self._idle) <= self._keep_hosts and self._idle[oldest][-1].idle_since >= expired:
                break
            for stale in self._idle.pop(oldest):
                stale.close()

    def close(self) -> None:
        """Close every connection, idle or still answering."""
        self._idle.clear()
        for connection in list(self._open):
            connection.close()


class Answer:
    """A response whose head is in: `status`, `reason`, `headers` (names as sent); iterate it for the body."""

    def __init__(self, pool: Pool, connection: _Connection, head: h11.Response, read_seconds: float | None) -> None:
        self.status = head.status_code
        self.reason = head.reason
        self.headers: list[tuple[bytes, bytes]] = list(head.headers.raw_items())
        self._pool = pool
        self._connection: _Connection | None = connection
        self._read_seconds = read_seconds
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        while not self._complete:
            event = await connection.next_event(self._read_seconds)
            if type(event) is h11.Data:
                yield bytes(event.data)
            elif type(event) is h11.EndOfMessage:
                self._complete = True
            else:
                raise ProtocolError(f"unexpected {type(event).__name__} in a response body")

    def close(self) -> None:
        """Give the connection back if the body has been read to its end (or already sits in the buffer, as
        a 304's or a short error page's does), else close it. Never waits."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if not self._complete:
            self._complete = connection.finish_from_buffer()
        state = connection.h11
        if self._complete and state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            self._pool.give_back(connection)
        else:
            connection.close()


class _Connection:
    __slots__ = ("_open", "h11", "idle_since", "origin", "protocol", "received", "transport")

    def __init__(self, origin: Origin, transport: asyncio.Transport, protocol: _Buffered, open_: set[_Connection]):
        self.origin = origin
        self.transport = transport
        self.protocol = protocol
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self.idle_since = 0.0
        self.received = False  # whether this exchange has had a byte from the server yet
        self._open = open_

    def reusable(self, fresh_after: float) -> bool:
        protocol = self.protocol
        if self.idle_since < fresh_after or protocol.buffer or protocol.ended or self.transport.is_closing():
            return False
        # an idle keep-alive connection with data or an end waiting is one the server has given up on
        return not self.h11.trailing_data[0] and not _readable(self.transport.get_extra_info("socket"))

    async def exchange(self, pool: Pool, head: h11.Request, timeouts: Timeouts) -> Answer:
        try:
            self.received = False
            if self.protocol.ended or self.transport.is_closing():
                raise ReadError(str(self.protocol.error or "the connection is closed"))
            try:
                data = (self.h11.send(head) or b"") + (self.h11.send(_END) or b"")
            except h11.LocalProtocolError as e:
                raise ProtocolError(f"request not sent: {e}") from None
            self.transport.write(data)  # a request without a body always fits the transport's buffer
            while True:
                event = await self.next_event(timeouts.read)
                if type(event) is h11.Response:
                    return Answer(pool, self, event, timeouts.read)
                if type(event) is not h11.InformationalResponse:  # a 100 Continue or 103 Early Hints: skipped
                    raise ProtocolError(f"unexpected {type(event).__name__} instead of a response")
        except BaseException:
            self.close()
            raise

    async def next_event(self, read_seconds: float | None) -> h11.Event | type[h11.PAUSED]:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as e:
                raise ProtocolError(str(e) or "the answer is not HTTP/1.1") from None
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # h11's stubs do not narrow on `is not`
            data = await self._read(read_seconds)
            if not data and self.h11.their_state is h11.SEND_RESPONSE:
                raise ProtocolError("the server closed the connection without answering")
            self.h11.receive_data(data)

    def finish_from_buffer(self) -> bool:
        """Read the rest of the body from what has already arrived, without waiting; whether it ended."""
        if self.protocol.buffer:
            self.h11.receive_data(self._take_buffer(len(self.protocol.buffer)))  # never b"": that means the end
        try:
            while (event := self.h11.next_event()) is not h11.NEED_DATA:
                if type(event) is h11.EndOfMessage:
                    return True
                if type(event) is not h11.Data:
                    return False
        except h11.RemoteProtocolError:
            return False
        return False

    async def _read(self, seconds: float | None) -> bytes:
        protocol = self.protocol
        if not protocol.buffer and not protocol.ended:
            try:
                async with asyncio.timeout(seconds):
                    await protocol.received_more()
            except TimeoutError:
                raise ReadTimeout("the server sent nothing in time") from None
        if protocol.buffer:
            self.received = True
            return self._take_buffer(_READ_BYTES)
        if protocol.error is not None:
            raise ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the end of the stream

    def _take_buffer(self, size: int) -> bytes:
        protocol = self.protocol
        data = bytes(protocol.buffer[:size])
        del protocol.buffer[:size]
        if protocol.reading_paused and len(protocol.buffer) < _HIGH_WATER // 4:
            protocol.reading_paused = False
            self.transport.resume_reading()
        return data

    def close(self) -> None:
        self._open.discard(self)
        self.transport.close()


async def _tunnel(
    transport: asyncio.BaseTransport, protocol: _Buffered, origin: Origin, proxy: Proxy, context: ssl.SSLContext
) -> asyncio.BaseTransport:
    """Ask `proxy` for a CONNECT tunnel to the origin, then speak TLS to the origin through it."""
    assert isinstance(transport, asyncio.Transport)
    authority = _authority(origin, default=None)
    state = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
    headers = [(b"Host", authority)]
    if proxy.authorization is not None:
        headers.append((b"Proxy-Authorization", proxy.authorization))
    try:
        transport.write(
            (state.send(h11.Request(method=b"CONNECT", target=authority, headers=headers)) or b"")
            + (state.send(_END) or b"")
        )
        while (event := state.next_event()) is h11.NEED_DATA or type(event) is h11.InformationalResponse:
            if event is h11.NEED_DATA:
                if not protocol.buffer and not protocol.ended:
                    await protocol.received_more()
                if not protocol.buffer:
                    raise ConnectError(f"the proxy {proxy.shown} closed the connection instead of opening a tunnel")
                state.receive_data(bytes(protocol.buffer))
                protocol.buffer.clear()
    except h11.ProtocolError as e:
        transport.close()
        raise ConnectError(f"the proxy {proxy.shown} did not answer CONNECT in HTTP/1.1 ({e})") from None
    except BaseException:
        transport.close()
        raise
    assert isinstance(event, h11.Response)
    if not 200 <= event.status_code < 300 or state.trailing_data[0]:
        transport.close()
        reason = event.reason.decode("latin-1")
        raise ConnectError(
            f"the proxy {proxy.shown} refused a tunnel to {authority.decode()}: {event.status_code} {reason}"
        )
    tls = await asyncio.get_running_loop().start_tls(transport, protocol, context, server_hostname=origin[1])
    assert isinstance(tls, asyncio.Transport)
    protocol.transport = tls  # reading is paused and resumed on what the connection reads from
    return tls


def _authority(origin: Origin, *, default: int | None) -> bytes:
    """host:port of an origin (the port left out when it is `default`), an IPv6 host in brackets."""
    _, host, port = origin
    name = f"[{host}]" if ":" in host else host
    return (name if port == default else f"{name}:{port}").encode("ascii")


class _Buffered(asyncio.Protocol):
    """What a connection has received, and whether it has ended; read by `_Connection`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # EOF, or the connection was lost
        self.error: BaseException | None = None
        self.reading_paused = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= _HIGH_WATER and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close the transport: HTTP/1.1 never writes after the server has finished

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()

    async def received_more(self) -> None:
        """Wait until something is received, or the end."""
        waiter = self._waiter = self.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _readable(sock: socket.socket | None) -> bool:
    """Whether the kernel holds data (or an end) the event loop has not read yet."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))
