"""CflowClient: configuration and lifecycle. The legacy endpoints come from the
``LegacyEndpoints`` mixin (``_legacy``), the OpenAPI operations are namespaces
(``cflow.requests``, ...) over the generated layer; both make their calls through one
``Requester`` (``_transport``)."""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import os
import ssl
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import httpx

from ._backends import Backend, ClientTransport, HttpxBackend, ssl_context
from ._config import Credentials, Region, resolve_base_url, resolve_timeout
from ._constants import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESPONSE_BYTES
from ._errors import InvalidArgumentError
from ._headers import caller_headers, caller_query
from ._hooks import Hooks
from ._legacy import LegacyEndpoints
from ._logs import configure_from_env
from ._openapi_mixin import OpenAPINamespaces
from ._requester import Requester
from ._retry import RetryBudget, RetryPolicy
from ._schema_cache import DEFAULT_SCHEMA_TTL, SchemaCache
from ._transport import CflowTransport
from ._values import resolve_timezone

if TYPE_CHECKING:
    from cflow_openapi import Client as OpenAPIClient

    from ._bulk import RowResult
    from ._raw import RawResponses
    from .importer import ImportSummary

__all__ = ["DEFAULT_MAX_CONNECTIONS", "CflowClient", "HttpBackend"]

HttpBackend = Literal["aiohttp", "httpx"]


def _default_backend() -> HttpBackend:
    # aiohttp measures 3-9x less CPU per call than httpx's own transport (README,
    # "Performance"), so it is a core dependency; httpx remains for a trimmed install.
    return "aiohttp" if importlib.util.find_spec("aiohttp") is not None else "httpx"


class CflowClient(LegacyEndpoints, OpenAPINamespaces):
    """An async client for Cflow's legacy and OpenAPI endpoints.

    Use it as ``async with CflowClient(...) as cflow:``, or call :meth:`aclose`. One
    instance holds one connection pool; share it (e.g. one per FastAPI app).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        user_key: str | None = None,
        username: str | None = None,
        region: Region | str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        http_backend: HttpBackend | None = None,
        http_client: httpx.AsyncClient | None = None,
        verify: bool | str | ssl.SSLContext = True,
        allow_insecure_http: bool = False,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        timezone: dt.tzinfo | str | None = None,
        schema_ttl: float = DEFAULT_SCHEMA_TTL,
        hooks: Iterable[object] | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        configure_from_env()  # CFLOW_LOG: once per process, on the first client
        self._credentials = Credentials.resolve(api_key, user_key, username)
        # The Cflow account's time zone: aware datetimes are converted into it, and
        # refused without it (Cflow's date format has no zone).
        self._timezone = resolve_timezone(timezone)
        self._schemas = SchemaCache(schema_ttl)
        self._base_url = resolve_base_url(base_url, region, allow_insecure_http=allow_insecure_http)
        policy = _policy(retry if retry is not None else RetryPolicy())
        budget = retry_budget if retry_budget is not None else RetryBudget()
        if not isinstance(budget, RetryBudget):
            raise InvalidArgumentError(
                f"retry_budget must be a RetryBudget, got {type(budget).__name__}"
            )
        if max_connections < 1:
            raise InvalidArgumentError("max_connections must be at least 1")
        if max_response_bytes < 1:
            raise InvalidArgumentError("max_response_bytes must be at least 1")
        headers = None
        if default_headers is not None:
            headers = caller_headers(default_headers, "default_headers")
        # No Hooks object without hooks: the retry loop then skips them with one test.
        observed = Hooks(hooks) if hooks is not None else None
        if observed is not None and not observed.hooks:
            observed = None
        if http_client is not None:
            if http_backend is not None:
                raise InvalidArgumentError("pass http_backend or http_client, not both")
            inner: Backend = HttpxBackend(ClientTransport(http_client))
            # Nothing proves a request through someone else's transport was never sent.
            trusted, backend = False, "custom"
        else:
            backend = http_backend or _default_backend()
            inner = _make_backend(backend, verify, max_connections)
            trusted = True
        transport = CflowTransport(
            inner,
            credentials=self._credentials,
            policy=policy,
            budget=budget,
            trusted=trusted,
            max_response_bytes=max_response_bytes,
            hooks=observed,
            extra_headers=headers,
        )
        self._setup(transport, resolve_timeout(timeout), backend)

    def _setup(
        self,
        transport: CflowTransport,
        timeout: httpx.Timeout,
        backend: str,
        requester: type[Requester] = Requester,
    ) -> None:
        self._transport = transport
        self._timeout = timeout
        self._backend = backend
        self._username = self._credentials.username
        timeouts = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        self._requester = requester(transport, self._base_url, timeouts)

    @functools.cached_property
    def openapi(self) -> OpenAPIClient:
        """The generated ``cflow_openapi`` client, on the same pool and request path:
        ``await list_users.asyncio(client=cflow.openapi)``."""
        from ._openapi_door import openapi_client

        return openapi_client(self._transport, self._base_url, self._timeout)

    # -- lifecycle --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``https://us.cflowapps.com``."""
        return self._base_url

    @property
    def http_backend(self) -> str:
        return self._backend

    @property
    def retry(self) -> RetryPolicy:
        return self._transport.policy

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    @property
    def timezone(self) -> dt.tzinfo | None:
        """The Cflow account's time zone (``timezone=``), or None."""
        return self._timezone

    @property
    def retry_budget(self) -> RetryBudget:
        """The client-wide retry budget, shared by ``with_options`` copies."""
        return self._transport.budget

    def __repr__(self) -> str:
        return (
            f"<CflowClient base_url={self._base_url!r} username={self._credentials.username!r}"
            f" backend={self._backend!r}>"
        )

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> CflowClient:
        """A light copy with another retry policy or timeout, and headers or query
        parameters added to its calls, sharing this client's pool, retry budget and hooks.
        Closing the copy does not close the pool."""
        headers = None if extra_headers is None else caller_headers(extra_headers, "extra_headers")
        query = None if extra_query is None else caller_query(extra_query, "extra_query")
        transport = self._transport.derive(
            _policy(retry) if retry is not None else self.retry, headers, query
        )
        timeout_ = self._timeout if timeout is None else resolve_timeout(timeout)
        return self._copy(transport, timeout_, Requester)

    @property
    def with_raw_response(self) -> RawResponses:
        """The same methods, returning a :class:`CflowResponse` (status, headers, elapsed,
        attempts; ``.parse()`` gives the usual value):
        ``await cflow.with_raw_response.requests.list("wf-1")``."""
        from ._raw import RawRequester, RawResponses

        clone = self._copy(self._transport, self._timeout, RawRequester)
        # validate=True reads the form first: that read is not the call asked for, so it
        # stays plain (and shares this client's schema cache).
        clone.record_schema = self.record_schema  # type: ignore[method-assign]
        return RawResponses(clone)

    def _copy(
        self, transport: CflowTransport, timeout: httpx.Timeout, requester: type[Requester]
    ) -> CflowClient:
        clone = object.__new__(CflowClient)
        clone._credentials = self._credentials
        clone._base_url = self._base_url
        clone._timezone = self._timezone
        clone._schemas = self._schemas  # same account, same forms: share the cache
        clone._setup(transport, timeout, self._backend, requester)
        return clone

    async def aclose(self) -> None:
        """Close the connection pool (a caller's injected ``http_client`` is left open).
        Later facade calls raise a CflowError."""
        await self._transport.aclose()
        if "openapi" in self.__dict__:  # created on first use
            await self.openapi.get_async_httpx_client().aclose()
            self.openapi.get_httpx_client().close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- bulk -------------------------------------------------------------------------

    def submit_records(
        self,
        workflow_name: str,
        rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        rate: float | None = None,
        progress: Callable[[RowResult], Any] | None = None,
        validate: bool = False,
    ) -> AsyncIterable[RowResult]:
        """Submit many records; yields one :class:`RowResult` per row as each finishes.

        Rows are read lazily, at most ``concurrency`` are in flight, and ``rate`` caps
        requests per second. Each result carries the row's index, and either the record
        id or the typed error (check ``error.outcome_unknown`` before resubmitting).

        With ``validate=True`` the workflow's schema is fetched once, when iteration
        starts, and a row with problems yields a failed result (a RecordValidationError
        with ``.problems``) without a request.
        """
        from ._bulk import submit_records

        # Arguments are checked here, when called, not when iteration starts.
        return submit_records(
            self,
            workflow_name,
            rows,
            concurrency=concurrency,
            rate=rate,
            progress=progress,
            validate=validate,
        )

    async def import_records(
        self,
        workflow_name: str,
        rows: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        journal: str | os.PathLike[str] | None = None,
        key: str | None = None,
        mapping: Mapping[str, str] | None = None,
        concurrency: int = 8,
        rate: float | None = None,
        dry_run: bool = False,
        reconcile: bool = False,
        resubmit_unknown: bool = False,
        rejects: str | os.PathLike[str] | None = None,
        validate: bool = True,
        settle: float = 30.0,
        progress: bool = False,
    ) -> ImportSummary:
        """Import rows as records, as a durable job: resumable, never a duplicate.

        ``rows`` is a CSV, JSON Lines or XLSX file, or an iterable of mappings. The
        journal (SQLite; by default ``FILE.journal.sqlite``) remembers each row's fate, so
        running the same import again skips rows already done and never resends a row
        that may already be in Cflow; ``reconcile=True`` looks those up by ``key`` (a
        column that is also a Cflow field) first. ``rate`` caps requests per second; a
        429 slows the import down by itself. Returns an
        :class:`~cflow_async.importer.ImportSummary`; see the README, "Importing a
        spreadsheet".
        """
        from .importer.api import import_records

        return await import_records(
            self,
            workflow_name,
            rows,
            journal=journal,
            key=key,
            mapping=mapping,
            concurrency=concurrency,
            rate=rate,
            dry_run=dry_run,
            reconcile=reconcile,
            resubmit_unknown=resubmit_unknown,
            rejects=rejects,
            validate=validate,
            settle=settle,
            progress=progress,
        )


def _policy(policy: Any) -> RetryPolicy:
    if not isinstance(policy, RetryPolicy):
        raise InvalidArgumentError(f"retry must be a RetryPolicy, got {type(policy).__name__}")
    return policy


def _make_backend(
    backend: str, verify: bool | str | ssl.SSLContext, max_connections: int
) -> Backend:
    if backend == "aiohttp":
        from ._aiohttp import AiohttpBackend

        return AiohttpBackend(max_connections=max_connections, verify=verify)
    if backend == "httpx":
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        transport = httpx.AsyncHTTPTransport(verify=ssl_context(verify), limits=limits)
        return HttpxBackend(transport, max_connections)
    raise InvalidArgumentError(
        f"unknown http_backend {backend!r}; valid backends: 'aiohttp', 'httpx'"
    )
