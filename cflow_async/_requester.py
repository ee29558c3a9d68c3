"""What a client (or ``with_options`` copy) builds calls with: :class:`Requester` turns
an operation, a path, query parameters and a JSON body into a :class:`Call` for the
transport. The legacy endpoints and the OpenAPI namespaces both use it; the raw-response
mode (``_raw``) is a Requester that returns the response too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote, urlencode

from ._backends import Call, Timeouts
from ._errors import InvalidArgumentError

if TYPE_CHECKING:
    from ._transport import CflowTransport

__all__ = ["NO_BODY", "Requester", "encode_json", "path_segment"]

T = TypeVar("T")

#: Marks a call without a body (``None`` is a JSON body: ``null``).
NO_BODY: Final[Any] = object()


@functools.lru_cache(maxsize=1024)
def _query(params: tuple[tuple[str, str], ...]) -> str:
    # quote (not quote_plus), nothing safe: '&', '=', '/', CR/LF and non-ASCII are all
    # percent-encoded and stay inside their value. Cached: most calls repeat a few queries.
    return urlencode(params, quote_via=quote)


def path_segment(value: str) -> str:
    """``value`` percent-encoded for one path segment (``/`` included)."""
    return quote(value, safe="")


def encode_json(body: Any) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise InvalidArgumentError(f"the values cannot be sent as JSON: {exc}") from None


class Requester:
    """What one client (or ``with_options`` copy) needs to make a call: the transport, the
    server root and the timeouts. The legacy endpoints and the OpenAPI namespaces both
    call :meth:`request`; neither reaches into the client."""

    __slots__ = ("base_url", "extra_query", "timeouts", "transport")

    def __init__(self, transport: CflowTransport, base_url: str, timeouts: Timeouts) -> None:
        self.transport = transport
        self.base_url = base_url
        self.timeouts = timeouts
        self.extra_query = transport.extra_query

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        reader: Callable[[Any], T] | None,
        *,
        template: str | None = None,
        params: Mapping[str, str] | None = None,
        body: Any = NO_BODY,
    ) -> T:
        """Send ``method path`` (``path`` already encoded, from the server root) and return
        ``reader(decoded JSON)``; with ``reader=None`` the body is not read. ``template``
        None: hooks and traces name the call from the OpenAPI table (``_operations``)."""
        call = self.call(operation, method, path, template, params, body)
        return await self.transport.request(call, reader)

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        template: str | None,
        params: Mapping[str, str] | None,
        body: Any,
    ) -> Call:
        url = self.base_url + path
        if self.extra_query:
            # The call's own parameters win: a WorkflowName or RecordId in the query must
            # always agree with the body they travel with.
            params = {**self.extra_query, **params} if params else self.extra_query
        if params:
            url = url + "?" + _query(tuple(params.items()))
        transport = self.transport
        if body is NO_BODY:
            headers, content = transport.get_headers, None
        else:
            headers, content = transport.json_headers, encode_json(body)
        return Call(method, url, headers, content, self.timeouts, operation, template)
