"""All network I/O. The only module that imports httpx.

One `HttpClient` per run: async, keep-alive, a global and a per-host limit on requests in flight,
conditional GET from stored validators, retries with capped backoff and jitter, and hard bounds on
every request (connect/read timeouts, a total deadline, a body-size cap counted after
decompression, a redirect limit, http/https only). Failures become `FetchError` with one readable line.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import os
import random
import ssl
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

# httpx's __init__ loads its optional command-line client whenever click is installed (sqlite-utils needs
# it): click, rich and pygments, 80 modules and 50 ms of every run. None here makes that import fail as it
# does without click, and httpx goes on without its CLI.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx

from aggregator.config import Settings
from aggregator.encoding import decode_bytes
from aggregator.errors import FetchError
from aggregator.http_backend import (
    Answer,
    ConnectError,
    ConnectTimeout,
    NetworkError,
    Pool,
    ProtocolError,
    ReadError,
    ReadTimeout,
    Timeouts,
)
from aggregator.models import Validator
from aggregator.proxy import ProxyRules
from aggregator.urls import resolve

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
_DRAIN_BYTES = 64 * 1024  # an error page or redirect body up to this size is read to keep its connection
_DRAIN_SECONDS = 1.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_KEEPALIVE_SECONDS = 5.0  # an idle connection is closed after this (httpx's default)


@dataclass(frozen=True, slots=True)
class Response:
    """A finished response. `not_modified` is a 304 to a conditional GET (then `content` is empty);
    `same_body` means a 200 whose body hashes the same as last time."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    validator: Validator
    not_modified: bool = False
    same_body: bool = False

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    @property
    def unchanged(self) -> bool:
        return self.not_modified or self.same_body

    def text(self) -> str:
        return decode_bytes(self.content, self.headers.get("content-type"))


class HttpClient:
    """The shared async HTTP client of one run. Use as `async with HttpClient(settings) as http:`."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._global = asyncio.Semaphore(max(1, settings.concurrency))
        self._hosts: dict[tuple[str, str, int | None], asyncio.Semaphore] = {}
        # requests go straight to an httpx transport: redirects, retries, limits and the deadline are done
        # here, and httpx.AsyncClient's layers over a transport (auth, redirects, a cookie jar, event hooks)
        # cost a quarter of the CPU of a conditional GET while doing nothing agg needs
        if transport is None:
            rules = ProxyRules.configured(settings.proxy, os.environ)  # a bad proxy fails the run here, once
            transport = _Transport(max(1, settings.per_host), keep=max(1, settings.concurrency), proxies=rules)
        self._transport = transport
        self._headers = {"User-Agent": settings.user_agent, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
        self._extensions = {"timeout": httpx.Timeout(settings.timeout, connect=settings.timeout).as_dict()}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def get(
        self,
        url: str,
        *,
        validator: Validator | None = None,
        accept: str | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """GET `url`, following redirects and retrying what is worth retrying; raise FetchError otherwise.

        With a `validator`, sends If-None-Match / If-Modified-Since and reports 304 as `not_modified`.
        """
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(attempts):
            try:
                return await self._get_following(url, validator, accept, max_bytes)
            except FetchError as error:
                retry_in = self._retry_delay(error, attempt)
                if attempt + 1 >= attempts or retry_in is None:
                    raise
                await asyncio.sleep(retry_in)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _retry_delay(self, error: FetchError, attempt: int) -> float | None:
        if not error.retryable:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.settings.max_retry_after else None
        backoff = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0**attempt)
        return backoff * random.uniform(0.5, 1.5)  # jitter keeps many sources from retrying in step

    async def _get_following(
        self, url: str, validator: Validator | None, accept: str | None, max_bytes: int | None
    ) -> Response:
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            try:
                origin = _origin(current)
            except ValueError:
                raise FetchError(url, f"invalid redirect target {current[:200]!r}") from None
            if origin[0] not in ("http", "https"):
                raise FetchError(url, f"refused redirect to a non-http(s) URL ({origin[0]}:)")
            status, headers, content = await self._request(current, origin, validator, accept, max_bytes)
            if status in _REDIRECTS and headers.get("location"):
                current = resolve(current, headers["location"])
                continue
            return self._finish(current, status, headers, content, validator)
        raise FetchError(url, f"too many redirects (more than {self.settings.max_redirects})")

    def _finish(
        self, url: str, status: int, headers: Mapping[str, str], content: bytes, validator: Validator | None
    ) -> Response:
        if status == 304 and validator is not None:
            return Response(url, status, headers, b"", validator, not_modified=True)
        if status >= 400 or status < 200 or status in _REDIRECTS:
            raise _status_error(url, status, headers)
        body_hash = hashlib.blake2b(content, digest_size=16).hexdigest()
        fresh = Validator(headers.get("etag"), headers.get("last-modified"), body_hash)
        same = validator is not None and validator.body_hash == body_hash
        return Response(url, status, headers, content, fresh, same_body=same)

    async def _request(
        self,
        url: str,
        origin: tuple[str, str, int | None],
        validator: Validator | None,
        accept: str | None,
        max_bytes: int | None,
    ) -> tuple[int, dict[str, str], bytes]:
        headers: dict[str, str] = {}
        if accept:
            headers["Accept"] = accept
        if validator is not None:
            if validator.etag:
                headers["If-None-Match"] = validator.etag
            if validator.last_modified:
                headers["If-Modified-Since"] = validator.last_modified
        limit = max_bytes or self.settings.max_bytes
        per_host = self._hosts.get(origin)
        if per_host is None:
            per_host = self._hosts[origin] = asyncio.Semaphore(max(1, self.settings.per_host))
        async with per_host, self._global:  # wait for the host first, so a busy host holds no global slot
            try:
                async with asyncio.timeout(self.settings.deadline) as deadline:
                    return await self._stream(url, headers, limit, deadline)
            except TimeoutError:
                # bytes kept coming but too slowly: trying again would only take as long again
                raise FetchError(url, f"timed out: no complete answer within {self.settings.deadline:g} s") from None
            except httpx.TimeoutException as e:
                raise _retryable(FetchError(url, f"timed out ({type(e).__name__})")) from None
            except httpx.TransportError as e:
                raise _retryable(FetchError(url, f"connection failed: {_describe(e)}")) from None
            except httpx.InvalidURL as e:
                raise FetchError(url, f"invalid URL: {e}") from None

    async def _stream(
        self, url: str, headers: dict[str, str], limit: int, deadline: asyncio.Timeout
    ) -> tuple[int, dict[str, str], bytes]:
        request = httpx.Request("GET", url, headers={**self._headers, **headers}, extensions=self._extensions)
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                return 304, response_headers, b""  # never a body: closing gives the connection back
            if response.status_code in _REDIRECTS or response.status_code >= 400:
                await _drain(response, deadline)
                return response.status_code, response_headers, b""
            declared = response_headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchError(url, f"too large: {int(declared):,} bytes declared (limit {limit:,})")
            chunks: list[bytes] = []
            size = 0
            try:
                async for chunk in response.aiter_bytes():  # decoded bytes: a gzip bomb is counted inflated
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(url, f"too large: more than {limit:,} bytes (after decompression)")
                    chunks.append(chunk)
            except httpx.DecodingError as e:
                raise FetchError(url, f"bad content encoding: {e}") from None
            return response.status_code, response_headers, b"".join(chunks)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()


class _Transport(httpx.AsyncBaseTransport):
    """httpx's requests and responses over `http_backend.Pool`, its failures as httpx's exceptions."""

    def __init__(self, per_host: int, keep: int, proxies: ProxyRules | None = None) -> None:
        self._context: ssl.SSLContext | None = None
        self._pool = Pool(
            per_host=per_host,
            keep_hosts=keep,
            keepalive=_KEEPALIVE_SECONDS,
            ssl_context=self._ssl,
            proxy_for=proxies.proxy_for if proxies else None,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[url.scheme])
        timeouts = request.extensions.get("timeout", {})
        with _as_httpx_errors():
            answer = await self._pool.request(
                origin, request.method.encode(), url.raw_path, request.headers.raw,
                Timeouts(connect=timeouts.get("connect"), read=timeouts.get("read")),
            )  # fmt: skip
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
        )

    def _ssl(self) -> ssl.SSLContext:
        """certifi's CAs, as httpx.AsyncClient has them; loaded on the first https connection (it costs 18 ms)."""
        if self._context is None:
            self._context = httpx.create_ssl_context(trust_env=False)
        return self._context

    async def aclose(self) -> None:
        self._pool.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, answer: Answer) -> None:
        self._answer = answer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._answer:
                yield chunk

    async def aclose(self) -> None:
        self._answer.close()


_HTTPX_ERRORS: dict[type[NetworkError], type[httpx.TransportError]] = {
    ConnectTimeout: httpx.ConnectTimeout,
    ConnectError: httpx.ConnectError,
    ReadTimeout: httpx.ReadTimeout,
    ReadError: httpx.ReadError,
    ProtocolError: httpx.RemoteProtocolError,
}


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except NetworkError as e:
        raise _HTTPX_ERRORS.get(type(e), httpx.TransportError)(str(e)) from None


async def _drain(response: httpx.Response, deadline: asyncio.Timeout) -> None:
    """Read a body nobody wants (a redirect's, a short error page's) so the connection goes back to the pool;
    a long, unsized or slow one is left, and the connection closes with the response instead.

    Never past the request's deadline: the answer is already had, and must not become a timeout."""
    declared = response.headers.get("content-length", "")
    if not (declared.isdigit() and int(declared) <= _DRAIN_BYTES):
        return
    expiry = deadline.when()
    seconds = _DRAIN_SECONDS if expiry is None else min(_DRAIN_SECONDS, expiry - asyncio.get_running_loop().time())
    if seconds < _DRAIN_SECONDS / 10:
        return
    try:
        async with asyncio.timeout(seconds * 0.9):
            async for _chunk in response.aiter_raw():
                pass
    except (TimeoutError, httpx.HTTPError, httpx.StreamError):
        return  # the answer is already had: a failure here only costs the connection


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port, as the per-host limit keys hosts: "host", "HOST:443" and "user@host" are one.
    Raises ValueError for a URL that does not split (an unclosed "[" in the host)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None  # httpx refuses the URL with a readable error
    return parts.scheme.lower(), (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(parts.scheme.lower())


def _retryable(error: FetchError) -> FetchError:
    error.retryable = True
    return error


def _status_error(url: str, status: int, headers: Mapping[str, str]) -> FetchError:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unexpected status"
    retry_after = parse_retry_after(headers.get("retry-after"))
    cause = f"HTTP {status} {phrase}"
    if status == 429:
        cause = f"rate limited (HTTP 429{f', retry after {retry_after:g} s' if retry_after is not None else ''})"
    error = FetchError(url, cause, retry_after=retry_after, status=status)
    if status in _RETRY_STATUSES:
        _retryable(error)
    return error


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _describe(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]
