"""The generated layer's door: ``cflow.openapi``, the generated ``cflow_openapi`` client,
sends through :class:`OpenAPIDoor`, an httpx transport that turns each httpx.Request into
a :class:`Call` for the one request path (``CflowTransport.exchange``): the same
credentials, retries, hooks, size cap and unreadable-body rule as the facade's calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from ._backends import Call
from ._constants import USER_AGENT
from ._errors import CflowError
from ._headers import RequestHeaders

if TYPE_CHECKING:
    from cflow_openapi import Client as OpenAPIClient

    from ._transport import CflowTransport

__all__ = ["OpenAPIDoor", "openapi_client"]


def openapi_client(
    transport: CflowTransport, base_url: str, timeout: httpx.Timeout
) -> OpenAPIClient:
    """A generated-layer client whose requests all go through ``transport``."""
    from cflow_openapi import Client as OpenAPIClient

    # trust_env=False: environment proxies would mount transports that bypass ours (no
    # credentials, no retries). Closing the pool is the client's (CflowClient.aclose).
    http = httpx.AsyncClient(
        base_url=base_url,
        transport=OpenAPIDoor(transport),
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
        headers={"accept": "application/json", "user-agent": USER_AGENT},
    )
    # The generator's sync functions would build a plain httpx.Client outside the request
    # path (no credentials, retries or cap); give them one that refuses.
    sync = httpx.Client(base_url=base_url, transport=_AsyncOnly(), trust_env=False)
    return OpenAPIClient(base_url=base_url).set_async_httpx_client(http).set_httpx_client(sync)


class OpenAPIDoor(httpx.AsyncBaseTransport):
    """An httpx transport onto ``transport``'s request path."""

    def __init__(self, transport: CflowTransport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<OpenAPIDoor to {self._transport!r}>"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = await self.call_from(request)
        # The generated parsers call response.json() unguarded; keep a bad body from
        # escaping them as a raw JSONDecodeError (the same rule as the facade's reads).
        raw, _ = await self._transport.exchange(call, _any, empty_ok=True)
        return httpx.Response(
            raw.status,
            headers=raw.headers,
            content=raw.content,
            request=request,
            extensions={"cflow_attempts": raw.attempts},
        )

    async def call_from(self, request: httpx.Request) -> Call:
        """The Call for an httpx.Request, with the credentials added (to the Call only: the
        caller's request object never holds them)."""
        transport = self._transport
        headers = RequestHeaders(request.headers.multi_items())
        headers.update(transport.extra_headers)
        headers.update(transport.auth_items)
        headers["accept-encoding"] = "gzip, deflate"
        timeout = request.extensions.get("timeout") or {}
        url = request.url
        if transport.extra_query:
            # The request's own parameters win, as in Requester.call.
            url = url.copy_with(params=httpx.QueryParams(transport.extra_query).merge(url.params))
        return Call(
            request.method,
            str(url),
            headers,
            await request.aread() or None,
            (
                timeout.get("connect"),
                timeout.get("read"),
                timeout.get("write"),
                timeout.get("pool"),
            ),
        )

    async def aclose(self) -> None:
        """The pool is the CflowClient's: ``CflowClient.aclose`` closes it."""


class _AsyncOnly(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise CflowError(
            "cflow.openapi is async-only: await the generated asyncio() / asyncio_detailed()"
            " functions, which go through the client's request path"
        )


def _any(data: Any) -> Any:
    return data
