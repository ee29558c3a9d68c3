"""Raw responses: ``cflow.with_raw_response.<method>(...)`` returns a :class:`CflowResponse`
(status, headers, elapsed time, attempts) instead of the parsed value.

It is done once, at the :class:`~cflow_async._requester.Requester`: the client copy behind
``with_raw_response`` has a :class:`RawRequester`, so every method that calls through the
Requester (legacy, OpenAPI namespaces, and any added later) gets a raw form for free.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from ._requester import NO_BODY, Requester

if TYPE_CHECKING:
    from ._client import CflowClient

__all__ = ["CflowResponse", "RawRequester", "RawResponses"]

T = TypeVar("T")


class CflowResponse(Generic[T]):
    """The HTTP response behind a call, with the call's usual value from :meth:`parse`.

    ``elapsed`` covers the whole call in seconds (every attempt and backoff included),
    ``attempts`` counts the requests that left. The body is read (and checked) when the
    call returns, so errors are raised exactly as without ``with_raw_response``.
    """

    __slots__ = ("_value", "attempts", "content", "elapsed", "headers", "status_code")

    def __init__(
        self,
        status_code: int,
        headers: httpx.Headers,
        content: bytes,
        elapsed: float,
        attempts: int,
        value: T,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.elapsed = elapsed
        self.attempts = attempts
        self._value = value

    def parse(self) -> T:
        """What the method returns without ``with_raw_response``."""
        return self._value

    def __repr__(self) -> str:
        return (
            f"<CflowResponse [{self.status_code}] attempts={self.attempts}"
            f" elapsed={self.elapsed:.3f}s>"
        )


class RawRequester(Requester):
    """A Requester whose calls return a :class:`CflowResponse`."""

    __slots__ = ()

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
    ) -> Any:
        call = self.call(operation, method, path, template, params, body)
        start = time.perf_counter()
        raw, value = await self.transport.exchange(call, reader)
        return CflowResponse(
            raw.status,
            httpx.Headers(raw.headers),
            raw.content,
            time.perf_counter() - start,
            raw.attempts,
            value,
        )


# Not one call each (bulk yields many results; record_schema may make none), or no calls.
_REFUSED = frozenset(
    {
        "submit_records",
        "import_records",
        "record_schema",
        "openapi",
        "aclose",
        "with_options",
        "with_raw_response",
    }
)


class RawResponses:
    """``cflow.with_raw_response``: the client's methods and namespaces, each returning a
    :class:`CflowResponse`. Typed loosely: ``.parse()`` gives the usual value."""

    __slots__ = ("_client",)

    def __init__(self, client: CflowClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if name in _REFUSED or name.startswith("_"):
            raise AttributeError(f"with_raw_response has no {name!r}")
        return getattr(self._client, name)

    def __repr__(self) -> str:
        return f"<RawResponses of {self._client!r}>"
