"""The aiohttp backend: aiohttp's fast HTTP/1.1 client under our request path. Imported only
when ``http_backend="aiohttp"`` is chosen (or picked by default when aiohttp is installed).

Why not httpx-aiohttp: it reports aiohttp's ServerDisconnectedError (the connection
dropped, possibly after the server read the request) as ``httpx.ConnectTimeout``, which
reads as "never sent" and would let a POST be retried into a duplicate. Here only errors
raised before a byte was written map to httpx's connect family.
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import httpx
from yarl import URL

from ._backends import Call, RawResponse, Timeouts, fresh_headers, ssl_context, too_large

__all__ = ["AiohttpBackend"]

_CHUNK = 64 * 1024


class AiohttpBackend:
    """One aiohttp session (one connection pool), created on first use inside the loop."""

    def __init__(self, *, max_connections: int, verify: bool | str | ssl.SSLContext = True) -> None:
        self._max_connections = max_connections
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._urls: dict[str, URL] = {}
        self.closed = False
        self.loop: asyncio.AbstractEventLoop | None = None

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            ssl=ssl_context(self._verify),
            ttl_dns_cache=300,
        )
        session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        # aiohttp quietly sends a GET, PUT or DELETE again when a kept-alive connection drops
        # it. That resend would bypass the one retry loop: no attempt counted, no hook or
        # span, no backoff, no budget. Its own test client turns it off the same way; the
        # retry loop already retries whatever may be repeated.
        session._retry_connection = False
        self._session = session
        return session

    def _timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            connect, read, _write, pool = timeouts
            # aiohttp's `connect` covers waiting for a pooled connection plus connecting.
            total_connect = None if connect is None or pool is None else connect + pool
            timeout = aiohttp.ClientTimeout(
                total=None, connect=total_connect, sock_connect=connect, sock_read=read
            )
            self._timeouts[timeouts] = timeout
        return timeout

    def _url(self, url: str) -> URL:
        # Parsing is a visible share of a call; most calls repeat a few URLs.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = URL(url, encoded=True)  # already percent-encoded by the caller
            if len(self._urls) < 1024:
                self._urls[url] = parsed
        return parsed

    async def send(self, call: Call, limit: int) -> RawResponse:
        if self.closed:
            # aclose() came while the call awaited something (a hook): opening a new
            # session now would leak it. Nothing was sent; the retry loop then reports
            # the closed client.
            raise httpx.ConnectError("the client was closed before this request was sent")
        session = self._session or self._new_session()
        try:
            async with session.request(
                call.method,
                self._url(call.url),
                headers=call.headers,
                data=call.content,
                allow_redirects=False,
                timeout=self._timeout(call.timeout),
            ) as response:
                length = response.content_length
                if length is not None and length > limit:
                    raise too_large(call, limit)
                if length is not None and "Content-Encoding" not in response.headers:
                    content = await response.read()
                else:
                    # Decoded size is what lands in memory, so count it chunk by chunk.
                    chunks = []
                    size = 0
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise too_large(call, limit)
                        chunks.append(chunk)
                    content = b"".join(chunks)
                return RawResponse(
                    response.status, fresh_headers(list(response.raw_headers)), content
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
            raise httpx.RemoteProtocolError(f"incomplete response: {exc}") from exc
        except aiohttp.ClientResponseError as exc:
            # Its str() embeds the URL (query included) and its request_info holds our
            # headers: keep neither, not even as the chained cause.
            bad_response = f"bad response: {exc.status} {exc.message}"
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out") from exc
        raise httpx.RemoteProtocolError(bad_response)

    async def aclose(self) -> None:
        self.closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
