"""What moves bytes: a backend takes a :class:`Call` and returns a :class:`RawResponse`
with the body read (under the size cap) and decoded, or raises one of httpx's transport
exceptions. Retries, credentials and error mapping are not theirs (see ``_transport``).

``HttpxBackend`` drives any httpx transport: httpx's own pool, a caller's
``httpx.AsyncClient`` (``ClientTransport``), or a test's mock. The aiohttp backend lives
in ``_aiohttp`` so that aiohttp is imported only when chosen.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import httpx

from ._errors import ResponseTooLargeError

__all__ = ["Backend", "Call", "ClientTransport", "HttpxBackend", "RawResponse", "too_large"]

# The body handed back is already decoded, so these no longer describe it.
_STALE_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})

Timeouts = tuple[float | None, float | None, float | None, float | None]


class Call:
    """One request as the retry loop sees it. ``timeout`` is (connect, read, write, pool).

    ``operation`` names the facade method (``"submit_record"``) and ``template`` the path
    as documented (``/integromat/api/cflow/workflows/{workflowId}/requests``): both are for
    logs, hooks and traces, which must not show ids or the query.
    """

    __slots__ = ("content", "headers", "method", "operation", "template", "timeout", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout: Timeouts,
        operation: str | None = None,
        template: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content
        self.timeout = timeout
        self.operation = operation
        self.template = template

    @property
    def path(self) -> str:
        """The URL's path, for messages and logs (never the query: it names the user)."""
        rest = self.url.split("://", 1)[-1]
        start = rest.find("/")
        return "/" if start < 0 else rest[start:].split("?", 1)[0]


class RawResponse:
    """A response with its body in memory. ``headers`` are raw pairs (minus encoding ones)."""

    __slots__ = ("attempts", "content", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.attempts = 1


class Backend(Protocol):
    closed: bool
    #: The event loop of the first call; the pool's connections belong to it.
    loop: asyncio.AbstractEventLoop | None

    async def send(self, call: Call, limit: int) -> RawResponse: ...

    async def aclose(self) -> None: ...


def too_large(call: Call, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"response to {call.method} {call.path} is larger than"
        f" max_response_bytes={limit}; it was not read"
    )


def fresh_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in raw if k.lower() not in _STALE_HEADERS]


_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_STEP = 256 * 1024


def decode(content: bytes, encoding: str, limit: int, call: Call) -> bytes:
    """Undo gzip/deflate in bounded steps, so a small compressed body can never expand
    past ``limit`` in memory (httpx's decoder inflates each chunk in one go)."""
    for name in reversed([e.strip().lower() for e in encoding.split(",")]):
        if name in ("", "identity"):
            continue
        if name not in _WBITS:
            raise httpx.RemoteProtocolError(f"unsupported Content-Encoding {name!r}")
        inflater = zlib.decompressobj(_WBITS[name])
        parts: list[bytes] = []
        size = 0
        data = content
        try:
            while data:
                part = inflater.decompress(data, _STEP)
                size += len(part)
                if size > limit:
                    raise too_large(call, limit)
                parts.append(part)
                data = inflater.unconsumed_tail
            parts.append(inflater.flush())
        except zlib.error as exc:
            raise httpx.RemoteProtocolError(f"corrupt {name} body: {exc}") from None
        content = b"".join(parts)
    return content


class _CappedStream(httpx.AsyncByteStream):
    """Counts raw bytes as they arrive and stops reading once the cap is passed."""

    def __init__(self, stream: httpx.AsyncByteStream, limit: int, call: Call) -> None:
        self._stream = stream
        self._limit = limit
        self._call = call

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > self._limit:
                raise too_large(self._call, self._limit)
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """certifi's trust store, as httpx uses by default; built once (it takes tens of ms)
    and shared by every client, which SSLContext allows."""
    return httpx.create_ssl_context()


def ssl_context(verify: bool | str | ssl.SSLContext) -> ssl.SSLContext | bool:
    if verify is True:
        return default_ssl_context()
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


class HttpxBackend:
    """Sends through an httpx transport and reads the body under the cap.

    ``max_connections`` (set for the pool we build, not for a caller's client) queues
    requests here rather than in httpcore: its pool matches every waiting request against
    every connection, so its CPU per call grows with the queue (measured 4.8 ms -> 2.0 ms
    per call at 512 concurrent calls over 32 connections).
    """

    def __init__(
        self, transport: httpx.AsyncBaseTransport, max_connections: int | None = None
    ) -> None:
        self.transport = transport
        self.closed = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._slots = None if max_connections is None else asyncio.Semaphore(max_connections)

    async def send(self, call: Call, limit: int) -> RawResponse:
        slots = self._slots
        if slots is None:
            return await self._send(call, limit)
        if slots.locked():
            try:
                async with asyncio.timeout(call.timeout[3]):
                    await slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("timed out waiting for a free connection") from None
        else:
            await slots.acquire()
        try:
            return await self._send(call, limit)
        finally:
            slots.release()

    async def _send(self, call: Call, limit: int) -> RawResponse:
        connect, read, write, pool = call.timeout
        request = httpx.Request(
            call.method,
            call.url,
            headers=call.headers,
            content=call.content,
            extensions={
                "timeout": {"connect": connect, "read": read, "write": write, "pool": pool}
            },
        )
        response = await self.transport.handle_async_request(request)
        headers = response.headers
        try:
            length = headers.get("content-length")
            if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
                raise too_large(call, limit)
            if response.is_stream_consumed:  # a mock may hand back a read response
                raw = response.content
            else:
                response.stream = _CappedStream(response.stream, limit, call)  # type: ignore[arg-type]
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        encoding = headers.get("content-encoding")
        content = decode(raw, encoding, limit, call) if encoding else raw
        if len(content) > limit:
            raise too_large(call, limit)
        return RawResponse(response.status_code, fresh_headers(headers.raw), content)

    async def aclose(self) -> None:
        self.closed = True
        await self.transport.aclose()


class ClientTransport(httpx.AsyncBaseTransport):
    """Sends through a caller's own ``httpx.AsyncClient`` (their pool, TLS and proxy setup)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Never follow redirects: the caller's client may be set to, and would carry our
        # credential headers to whatever origin the Location names.
        return await self._client.send(request, stream=True, follow_redirects=False)

    async def aclose(self) -> None:
        """The caller owns their client; closing it is theirs to do."""
