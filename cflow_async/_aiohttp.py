"""An httpx transport backed by aiohttp: httpx types at the surface, aiohttp's faster
connection handling underneath. Imported only when ``http_backend="aiohttp"``.

Why not httpx-aiohttp: it reports aiohttp's ServerDisconnectedError (the connection
dropped, possibly after the server read the request) as ``httpx.ConnectTimeout``, which
reads as "never sent" and would let a POST be retried into a duplicate. Here only errors
raised before a byte was written map to the connect family.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport"]

_CHUNK = 64 * 1024


class _BodyStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(f"incomplete response body: {exc}") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(f"server disconnected: {exc}") from exc
        except aiohttp.SocketTimeoutError as exc:
            raise httpx.ReadTimeout(f"read timed out: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (one connection pool), created on first use inside the loop."""

    def __init__(self, *, max_connections: int, verify: bool | str | ssl.SSLContext = True) -> None:
        self._max_connections = max_connections
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _ssl(self) -> ssl.SSLContext | bool:
        verify = self._verify
        if isinstance(verify, ssl.SSLContext) or verify is False:
            return verify
        # The same trust store as httpx's transport: certifi's bundle, or the caller's file.
        return httpx.create_ssl_context(verify=verify)

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, limit_per_host=0, ssl=self._ssl(), ttl_dns_cache=300
        )
        # auto_decompress=False: httpx decodes Content-Encoding itself, as with its own
        # transport; the size cap then applies to bytes on the wire.
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        t = request.extensions.get("timeout") or {}
        key = (t.get("connect"), t.get("read"), t.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's `connect` covers waiting for a pooled connection plus connecting.
            total_connect = None if connect is None or pool is None else connect + pool
            timeout = aiohttp.ClientTimeout(
                total=None, connect=total_connect, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._new_session()
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                timeout=self._timeout(request),
            )
        except aiohttp.ClientConnectorError as exc:
            # Raised while connecting (refused, DNS, TLS handshake): nothing was sent.
            raise httpx.ConnectError(str(exc)) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            # Waiting for a pooled connection or for the TCP/TLS handshake: nothing was sent.
            raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
        except aiohttp.SocketTimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
        except aiohttp.ServerDisconnectedError as exc:
            # The connection dropped after the request may have been read: NOT "never sent".
            raise httpx.RemoteProtocolError(f"server disconnected: {exc}") from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out") from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_BodyStream(response),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
