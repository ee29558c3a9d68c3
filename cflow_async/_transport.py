"""The one request path: credentials, retries, the retry budget, the response-size cap and
the mapping of failures to typed errors, as an httpx transport.

Both the facade (which hands requests straight to this transport) and the generated
``cflow_openapi`` functions (which go through an ``httpx.AsyncClient`` mounted on it) pass
through :meth:`CflowTransport.handle_async_request`, so there is exactly one retry loop.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from ._config import Credentials
from ._errors import (
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    ResponseTooLargeError,
    api_error,
)
from ._retry import (
    IDEMPOTENT_METHODS,
    RETRYABLE_STATUSES,
    RetryBudget,
    RetryPolicy,
    is_certificate_error,
    never_sent,
    parse_retry_after,
)

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "CflowTransport", "ClientTransport"]

logger = logging.getLogger("cflow_async")

DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024


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


class CflowTransport(httpx.AsyncBaseTransport):
    """Wraps the network transport (``inner``) with everything a Cflow call needs."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        credentials: Credentials,
        policy: RetryPolicy,
        budget: RetryBudget,
        trusted: bool,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        owns_inner: bool = True,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.budget = budget
        self.max_response_bytes = max_response_bytes
        self._credentials = credentials
        self._auth_headers = tuple(credentials.headers().items())
        self._trusted = trusted
        self._owns_inner = owns_inner

    def __repr__(self) -> str:
        return f"<CflowTransport inner={type(self.inner).__name__} policy={self.policy!r}>"

    def with_policy(self, policy: RetryPolicy) -> CflowTransport:
        """A transport on the same pool and budget with another policy; closing it is a no-op."""
        return CflowTransport(
            self.inner,
            credentials=self._credentials,
            policy=policy,
            budget=self.budget,
            trusted=self._trusted,
            max_response_bytes=self.max_response_bytes,
            owns_inner=False,
        )

    async def aclose(self) -> None:
        if self._owns_inner:
            await self.inner.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = request.headers
        for name, value in self._auth_headers:
            headers[name] = value
        policy = self.policy
        if policy.deadline is None:
            return await self._send_with_retries(request, policy, None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.deadline
        try:
            async with asyncio.timeout_at(deadline):
                return await self._send_with_retries(request, policy, deadline)
        except TimeoutError:
            raise CflowTimeoutError(
                f"deadline of {policy.deadline:g} s exceeded"
                f" for {request.method} {request.url.path}",
                outcome_unknown=request.method not in IDEMPOTENT_METHODS,
            ) from None

    async def _send_with_retries(
        self, request: httpx.Request, policy: RetryPolicy, deadline: float | None
    ) -> httpx.Response:
        idempotent = request.method in IDEMPOTENT_METHODS
        budget = self.budget
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._attempt(request)
            except (httpx.TransportError, OSError) as exc:
                budget.record_failure()
                safe = never_sent(exc, self._trusted)
                error = _transport_error(exc, request, attempt, unknown=not (idempotent or safe))
                if (idempotent or safe) and not is_certificate_error(exc):
                    delay = policy.backoff(attempt)
                    if self._may_retry(request, attempt, delay, deadline, str(error)):
                        await asyncio.sleep(delay)
                        continue
                raise error from exc

            status = response.status_code
            if status < 300:
                budget.record_success()
                response.extensions["cflow_attempts"] = attempt
                return response
            if status not in RETRYABLE_STATUSES:
                budget.record_success()  # the server is up and answering
                raise api_error(response, attempts=attempt)
            budget.record_failure()
            retry_after = parse_retry_after(response.headers)
            # A POST is retried only on 429: the server says it did not act on it.
            retryable = idempotent or status == 429
            error_kwargs = {
                "attempts": attempt,
                "outcome_unknown": not idempotent and status >= 500,
                "retry_after": retry_after,
            }
            if retryable and retry_after is not None and retry_after > policy.max_retry_after:
                logger.info(
                    "Not retrying %s %s: Retry-After %.3gs is above max_retry_after %.3gs",
                    request.method,
                    request.url.path,
                    retry_after,
                    policy.max_retry_after,
                )
                raise api_error(response, **error_kwargs)  # type: ignore[arg-type]
            if retryable:
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                reason = f"HTTP {status}"
                if self._may_retry(request, attempt, delay, deadline, reason):
                    await asyncio.sleep(delay)
                    continue
            raise api_error(response, **error_kwargs)  # type: ignore[arg-type]

    def _may_retry(
        self,
        request: httpx.Request,
        attempt: int,
        delay: float,
        deadline: float | None,
        reason: str,
    ) -> bool:
        policy = self.policy
        if attempt > policy.max_retries:
            return False
        if deadline is not None and asyncio.get_running_loop().time() + delay >= deadline:
            return False
        if not self.budget.allows_retry():
            logger.info(
                "Not retrying %s %s after %s: the client's retry budget is exhausted",
                request.method,
                request.url.path,
                reason,
            )
            return False
        logger.info(
            "Retrying %s %s (attempt %d of %d) in %.3fs: %s",
            request.method,
            request.url.path,
            attempt + 1,
            policy.max_retries + 1,
            delay,
            reason,
        )
        return True

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        """One exchange; the body is read here, under the size cap, and the stream closed."""
        response = await self.inner.handle_async_request(request)
        try:
            limit = self.max_response_bytes
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise _too_large(request, limit)
            chunks = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > limit:
                    raise _too_large(request, limit)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=b"".join(chunks),
            request=request,
            extensions=response.extensions,
        )


def _too_large(request: httpx.Request, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"response to {request.method} {request.url.path} is larger than"
        f" max_response_bytes={limit}; it was not read"
    )


def _transport_error(
    exc: BaseException, request: httpx.Request, attempts: int, *, unknown: bool
) -> CflowError:
    where = f"{request.method} {request.url.path}"
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").lower()
        return CflowTimeoutError(
            f"{kind} for {where}: {detail}", attempts=attempts, outcome_unknown=unknown
        )
    return CflowConnectionError(
        f"connection failed for {where}: {detail}", attempts=attempts, outcome_unknown=unknown
    )
