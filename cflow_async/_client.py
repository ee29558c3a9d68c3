"""CflowClient: configuration, the legacy endpoints, and the OpenAPI namespaces."""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar
from urllib.parse import quote, urlencode

import httpx
from cflow_openapi import Client as OpenAPIClient

from ._backends import Backend, Call, ClientTransport, HttpxBackend, RawResponse, ssl_context
from ._config import Credentials, Region, resolve_base_url, resolve_timeout
from ._constants import API_PREFIX, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESPONSE_BYTES, USER_AGENT
from ._errors import CflowError, InvalidArgumentError, ResponseValidationError
from ._retry import RetryBudget, RetryPolicy
from ._transport import CflowTransport
from ._values import record_values, text_id, workflow_name_text
from .models import (
    FieldDefinition,
    ProcessStage,
    StageStatus,
    Workflow,
    record_id_from_json,
)

if TYPE_CHECKING:
    from ._bulk import RowResult
    from ._resources import RequestsResource, RolesResource, UsersResource, WorkflowsResource

__all__ = ["DEFAULT_MAX_CONNECTIONS", "CflowClient", "HttpBackend"]

T = TypeVar("T")
HttpBackend = Literal["aiohttp", "httpx"]


@functools.lru_cache(maxsize=1024)
def _query(params: tuple[tuple[str, str], ...]) -> str:
    # quote (not quote_plus), nothing safe: '&', '=', '/', CR/LF and non-ASCII are all
    # percent-encoded and stay inside their value. Cached: most calls repeat a few queries.
    return urlencode(params, quote_via=quote)


def _default_backend() -> HttpBackend:
    # aiohttp measures 2-4x less CPU per call (README, "Performance"); it is an optional
    # extra, so fall back to httpx's own transport when it is not installed.
    import importlib.util

    return "aiohttp" if importlib.util.find_spec("aiohttp") is not None else "httpx"


class CflowClient:
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
        http_backend: HttpBackend | None = None,
        http_client: httpx.AsyncClient | None = None,
        verify: bool | str | ssl.SSLContext = True,
        allow_insecure_http: bool = False,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._credentials = Credentials.resolve(api_key, user_key, username)
        self._base_url = resolve_base_url(base_url, region, allow_insecure_http=allow_insecure_http)
        policy = retry if retry is not None else RetryPolicy()
        if not isinstance(policy, RetryPolicy):
            raise InvalidArgumentError(f"retry must be a RetryPolicy, got {type(policy).__name__}")
        if max_connections < 1:
            raise InvalidArgumentError("max_connections must be at least 1")
        if max_response_bytes < 1:
            raise InvalidArgumentError("max_response_bytes must be at least 1")
        if http_client is not None:
            if http_backend is not None:
                raise InvalidArgumentError("pass http_backend or http_client, not both")
            inner: Backend = HttpxBackend(ClientTransport(http_client))
            # Nothing proves a request through someone else's transport was never sent.
            trusted, backend = False, "custom"
        else:
            backend = http_backend or _default_backend()
            inner = self._make_backend(backend, verify, max_connections)
            trusted = True
        transport = CflowTransport(
            inner,
            credentials=self._credentials,
            policy=policy,
            budget=RetryBudget(policy.budget_max_tokens, policy.budget_token_ratio),
            trusted=trusted,
            max_response_bytes=max_response_bytes,
        )
        self._setup(transport, resolve_timeout(timeout), backend)

        self._urls = {
            path: self._base_url + API_PREFIX + path
            for path in (
                "/connection/GetConnection",
                "/cflow/getworkflows",
                "/cflow/getprocess",
                "/cflow/getstatus",
                "/cflow/submitrecord",
                "/cflow/updaterecord",
                "/cflow/getworkflowprocessfieldsformap",
                "/cflow/getworkflowfieldsets",
                "/cflow/getworkflowprocessfieldsets",
            )
        }

    def _setup(self, transport: CflowTransport, timeout: httpx.Timeout, backend: str) -> None:
        self._transport = transport
        self._timeout = timeout
        self._backend = backend
        self._timeouts = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        self._timeout_extension = {"timeout": timeout.as_dict()}

    @functools.cached_property
    def openapi(self) -> OpenAPIClient:
        """The generated ``cflow_openapi`` client, on the same pool and request path:
        ``await list_users.asyncio(client=cflow.openapi)``."""
        # trust_env=False: environment proxies would mount transports that bypass ours
        # (no credentials, no retries). Closing is the transport's: see aclose().
        http = httpx.AsyncClient(
            base_url=self._base_url,
            transport=self._transport,
            timeout=self._timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"accept": "application/json", "user-agent": USER_AGENT},
        )
        # The generator's sync functions would build a plain httpx.Client outside the
        # request path (no credentials, retries or cap); give them one that refuses.
        sync = httpx.Client(base_url=self._base_url, transport=_AsyncOnly(), trust_env=False)
        client = OpenAPIClient(base_url=self._base_url).set_async_httpx_client(http)
        return client.set_httpx_client(sync)

    @staticmethod
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

    # -- the OpenAPI namespaces (imported on first use: the generated package's api and
    # model modules are a large share of import time) ------------------------------------

    @functools.cached_property
    def workflows(self) -> WorkflowsResource:
        from ._resources import WorkflowsResource

        return WorkflowsResource(self)

    @functools.cached_property
    def requests(self) -> RequestsResource:
        from ._resources import RequestsResource

        return RequestsResource(self)

    @functools.cached_property
    def users(self) -> UsersResource:
        from ._resources import UsersResource

        return UsersResource(self)

    @functools.cached_property
    def roles(self) -> RolesResource:
        from ._resources import RolesResource

        return RolesResource(self)

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
    ) -> CflowClient:
        """A light copy with another retry policy or timeout, sharing this client's pool
        and its client-wide retry budget (whose size stays the client's). Closing the
        copy does not close the pool."""
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidArgumentError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        clone = object.__new__(CflowClient)
        clone._credentials = self._credentials
        clone._base_url = self._base_url
        clone._urls = self._urls
        transport = self._transport.with_policy(retry if retry is not None else self.retry)
        clone._setup(
            transport, self._timeout if timeout is None else resolve_timeout(timeout), self._backend
        )
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

    # -- the request path -------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> tuple[Call, RawResponse]:
        url = self._urls[path]
        if params:
            url = url + "?" + _query(tuple(params.items()))
        transport = self._transport
        if body is None:
            call = Call(method, url, transport.get_headers, None, self._timeouts)
        else:
            try:
                content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
            except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
                raise InvalidArgumentError(f"the values cannot be sent as JSON: {exc}") from None
            call = Call(method, url, transport.json_headers, content, self._timeouts)
        return call, await transport.send(call)

    async def _legacy(
        self,
        method: str,
        path: str,
        reader: Callable[[Any], T],
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> T:
        call, raw = await self._send(method, path, params, body)
        try:
            return reader(json.loads(raw.content))
        except _UNREADABLE as exc:
            response = self._transport.error_response(call, raw)
            raise _validation_error(response, exc, raw.attempts, write=body is not None) from None

    async def _generated(self, kwargs: dict[str, Any], parse: Callable[[Any], T] | None) -> T:
        """Send a request built by the generated layer (its ``_get_kwargs``) and read the
        body with ``parse`` (built on the generated models' ``from_dict``).

        Any 2xx is read as the documented model: a server answering 200 where the document
        says 201 has still created the request, and must not look like a failure.
        """
        transport = self._transport
        kwargs = dict(kwargs)
        method = kwargs.pop("method")
        url = self._base_url + kwargs.pop("url")
        request = httpx.Request(method, url, extensions=self._timeout_extension, **kwargs)
        call = await transport.call_from(request)
        raw = await transport.send(call)
        if parse is None:
            return None  # type: ignore[return-value]
        try:
            return parse(json.loads(raw.content))
        except CflowError:
            raise
        except _UNREADABLE as exc:
            response = transport.error_response(call, raw)
            write = call.method not in ("GET", "HEAD")
            raise _validation_error(response, exc, raw.attempts, write=write) from None

    # -- legacy endpoints -------------------------------------------------------------

    def _user(self) -> str:
        return self._credentials.username

    async def check_connection(self) -> None:
        """GET connection/GetConnection. Returns on 200; raises AuthenticationError on 401."""
        await self._send("GET", "/connection/GetConnection")

    async def get_workflows(self) -> list[Workflow]:
        return await self._legacy(
            "GET", "/cflow/getworkflows", Workflow.list_from_json, {"username": self._user()}
        )

    async def get_process(self, workflow_name: str) -> list[ProcessStage]:
        params = {"username": self._user(), "WorkflowName": workflow_name_text(workflow_name)}
        return await self._legacy("GET", "/cflow/getprocess", ProcessStage.list_from_json, params)

    async def get_status(self, workflow_name: str, group_id: str | int) -> list[StageStatus]:
        params = {
            "WorkflowName": workflow_name_text(workflow_name),
            "group_id": text_id(group_id, "group_id"),
        }
        return await self._legacy("GET", "/cflow/getstatus", StageStatus.list_from_json, params)

    async def submit_record(self, workflow_name: str, values: Mapping[str, Any]) -> str:
        """Submit a new record; returns its id. Never retried once it may have reached the
        server: on an unknown outcome the error has ``outcome_unknown=True``."""
        name = workflow_name_text(workflow_name)
        body = {"main": {"WorkflowName": name}, "dynamicobj": record_values(values)}
        params = {"username": self._user(), "WorkflowName": name}
        return await self._legacy("POST", "/cflow/submitrecord", record_id_from_json, params, body)

    async def update_record(
        self,
        workflow_name: str,
        group_id: str | int,
        record_id: str | int,
        values: Mapping[str, Any],
    ) -> str:
        name = workflow_name_text(workflow_name)
        gid, rid = text_id(group_id, "group_id"), text_id(record_id, "record_id")
        body = {
            "main": {"WorkflowName": name, "group_id": gid, "RecordId": rid},
            "Values": record_values(values),
        }
        params = {"username": self._user(), "WorkflowName": name, "group_id": gid, "RecordId": rid}
        return await self._legacy("POST", "/cflow/updaterecord", record_id_from_json, params, body)

    async def get_process_fields_for_map(
        self, workflow_name: str, group_id: str | int
    ) -> list[FieldDefinition]:
        params = {
            "username": self._user(),
            "WorkflowName": workflow_name_text(workflow_name),
            "group_id": text_id(group_id, "group_id"),
        }
        return await self._legacy(
            "GET",
            "/cflow/getworkflowprocessfieldsformap",
            FieldDefinition.list_from_json,
            params,
        )

    async def get_workflow_fieldsets(self, workflow_name: str) -> list[FieldDefinition]:
        params = {"username": self._user(), "WorkflowName": workflow_name_text(workflow_name)}
        return await self._legacy(
            "GET", "/cflow/getworkflowfieldsets", FieldDefinition.list_from_json, params
        )

    async def get_process_fieldsets(
        self, workflow_name: str, group_id: str | int
    ) -> list[FieldDefinition]:
        params = {
            "username": self._user(),
            "WorkflowName": workflow_name_text(workflow_name),
            "group_id": text_id(group_id, "group_id"),
        }
        return await self._legacy(
            "GET", "/cflow/getworkflowprocessfieldsets", FieldDefinition.list_from_json, params
        )

    # -- bulk -------------------------------------------------------------------------

    def submit_records(
        self,
        workflow_name: str,
        rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        rate: float | None = None,
        progress: Callable[[RowResult], Any] | None = None,
    ) -> AsyncIterable[RowResult]:
        """Submit many records; yields one :class:`RowResult` per row as each finishes.

        Rows are read lazily, at most ``concurrency`` are in flight, and ``rate`` caps
        requests per second. Each result carries the row's index, and either the record
        id or the typed error (check ``error.outcome_unknown`` before resubmitting).
        """
        from ._bulk import submit_records

        return submit_records(
            self, workflow_name, rows, concurrency=concurrency, rate=rate, progress=progress
        )


# What reading a hostile body can raise: bad JSON (ValueError), wrong shapes (Key/Type/
# AttributeError in the generated models), and JSON nested past the parser's recursion limit.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, RecursionError)


class _AsyncOnly(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise CflowError(
            "cflow.openapi is async-only: await the generated asyncio() / asyncio_detailed()"
            " functions, which go through the client's request path"
        )


def _validation_error(
    response: httpx.Response, exc: BaseException, attempts: int, *, write: bool
) -> ResponseValidationError:
    request = response.request
    message = f"unreadable response to {request.method} {request.url.path}: {exc}"
    # A write answered 2xx was applied, but its result (say the new record id) is lost.
    return ResponseValidationError(
        message, response=response, attempts=attempts, outcome_unknown=write
    )
