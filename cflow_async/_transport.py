"""The one request path: credentials, retries, the retry budget, the response-size cap and
the mapping of failures to typed errors.

Two doors lead to :meth:`CflowTransport.send`, the single retry loop:

* the facade calls it directly with a :class:`Call` (no httpx Request/Response objects on
  the hot path: building them costs more CPU than the rest of a call);
* the generated ``cflow_openapi`` functions go through an ``httpx.AsyncClient`` mounted on
  this transport, whose :meth:`handle_async_request` adapts httpx's types to a Call.

Below it sits a backend (``_backends``): httpx's transport or aiohttp, which only moves bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

import httpx

from ._backends import Backend, Call, RawResponse
from ._config import Credentials
from ._constants import DEFAULT_MAX_RESPONSE_BYTES, SECRET_HEADERS, USER_AGENT
from ._errors import (
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    ResponseTooLargeError,
    ResponseValidationError,
    api_error,
    redact_request,
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

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "CflowTransport"]

logger = logging.getLogger("cflow_async")


class CflowTransport(httpx.AsyncBaseTransport):
    """Everything a Cflow call needs on top of moving bytes (``inner``, a backend)."""

    def __init__(
        self,
        inner: Backend,
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
        self._trusted = trusted
        self._owns_inner = owns_inner
        auth = credentials.headers()
        self._auth_items = tuple(auth.items())
        # Scrubbed from any body an error carries: a server may echo the headers back.
        self._secrets = (credentials.api_key.encode(), credentials.user_key.encode())
        # gzip and deflate: both backends decode them natively.
        base = _Headers(
            {
                "accept": "application/json",
                "accept-encoding": "gzip, deflate",
                "user-agent": USER_AGENT,
                **auth,
            }
        )
        #: Complete header sets for the facade's requests, built once per client.
        self.get_headers: Mapping[str, str] = base
        self.json_headers: Mapping[str, str] = _Headers(
            {**base, "content-type": "application/json"}
        )

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

    # -- the generated layer's door ----------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = await self.call_from(request)
        raw = await self.send(call)
        if raw.content.strip():
            # The generated parsers call response.json() unguarded; keep a bad body from
            # escaping them as a raw JSONDecodeError.
            try:
                json.loads(raw.content)
            except (ValueError, RecursionError) as exc:
                raise ResponseValidationError(
                    f"unreadable response to {call.method} {call.path}: {exc}",
                    response=self.error_response(call, raw),
                    attempts=raw.attempts,
                    outcome_unknown=call.method not in IDEMPOTENT_METHODS,
                ) from None
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
        headers = _Headers(request.headers.multi_items())
        headers.update(self._auth_items)
        headers["accept-encoding"] = "gzip, deflate"
        timeout = request.extensions.get("timeout") or {}
        return Call(
            request.method,
            str(request.url),
            headers,
            await request.aread() or None,
            (
                timeout.get("connect"),
                timeout.get("read"),
                timeout.get("write"),
                timeout.get("pool"),
            ),
        )

    # -- the retry loop ----------------------------------------------------------------

    async def send(self, call: Call) -> RawResponse:
        """Send ``call`` under the policy; returns a 2xx response or raises a CflowError."""
        loop = asyncio.get_running_loop()
        inner = self.inner
        if loop is not inner.loop:
            # Pooled connections belong to the loop that opened them (the pool is shared
            # with with_options copies, so the binding lives on it).
            if inner.loop is not None:
                raise CflowError(
                    "this CflowClient was first used in another event loop; create one"
                    " client per event loop (e.g. inside asyncio.run or a FastAPI lifespan)"
                )
            inner.loop = loop
        policy = self.policy
        attempts = [0]  # shared with the loop, so a deadline error can tell the count
        if policy.deadline is None:
            return await self._send_with_retries(call, policy, None, attempts)
        deadline = asyncio.get_running_loop().time() + policy.deadline
        try:
            async with asyncio.timeout_at(deadline):
                return await self._send_with_retries(call, policy, deadline, attempts)
        except TimeoutError:
            raise CflowTimeoutError(
                f"deadline of {policy.deadline:g} s exceeded for {call.method} {call.path}",
                attempts=attempts[0],
                outcome_unknown=call.method not in IDEMPOTENT_METHODS,
            ) from None

    async def _send_with_retries(
        self, call: Call, policy: RetryPolicy, deadline: float | None, attempts: list[int]
    ) -> RawResponse:
        idempotent = call.method in IDEMPOTENT_METHODS
        budget = self.budget
        attempt = 0
        while True:
            if self.inner.closed:  # also after a backoff, if aclose() came meanwhile
                raise CflowError(
                    f"cannot send {call.method} {call.path}: the CflowClient is closed",
                    attempts=attempt,
                )
            attempt += 1
            attempts[0] = attempt
            try:
                raw = await self.inner.send(call, self.max_response_bytes)
            except ResponseTooLargeError as exc:
                # An answer came, so a write was probably applied.
                raise ResponseTooLargeError(
                    str(exc), attempts=attempt, outcome_unknown=not idempotent
                ) from None
            except (httpx.RequestError, OSError) as exc:
                budget.record_failure()
                # A failed certificate check happens before any request byte, whatever
                # the transport; otherwise only a trusted transport's word counts.
                safe = never_sent(exc, self._trusted) or is_certificate_error(exc)
                error = _transport_error(exc, call, attempt, unknown=not (idempotent or safe))
                if (idempotent or safe) and not is_certificate_error(exc):
                    delay = policy.backoff(attempt)
                    if self._may_retry(call, attempt, delay, deadline, str(error)):
                        await asyncio.sleep(delay)
                        continue
                if isinstance(exc, httpx.RequestError):
                    # The cause stays for debugging, but its request must not hold the keys.
                    exc.request = self.redacted_request(call)
                raise error from exc
            except Exception as exc:
                # Last resort, so the caller only ever sees a CflowError. Nothing says the
                # request did not leave, so no retry, and a write's outcome is unknown.
                raise CflowConnectionError(
                    f"request failed for {call.method} {call.path}: {type(exc).__name__}",
                    attempts=attempt,
                    outcome_unknown=not idempotent,
                ) from exc

            status = raw.status
            if status < 300:
                budget.record_success()
                raw.attempts = attempt
                return raw
            response = self.error_response(call, raw)
            # Any 5xx to a write may come after the server acted (a 524 is an origin timeout).
            unknown = not idempotent and status >= 500
            if status not in RETRYABLE_STATUSES:
                budget.record_success()  # the server is up and answering
                raise api_error(response, attempts=attempt, outcome_unknown=unknown)
            budget.record_failure()
            retry_after = parse_retry_after(response.headers)
            # A POST is retried only on 429: the server says it did not act on it.
            retryable = idempotent or status == 429
            if retryable and retry_after is not None and retry_after > policy.max_retry_after:
                logger.info(
                    "Not retrying %s %s: Retry-After %.3gs is above max_retry_after %.3gs",
                    call.method,
                    call.path,
                    retry_after,
                    policy.max_retry_after,
                )
            elif retryable:
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                if self._may_retry(call, attempt, delay, deadline, f"HTTP {status}"):
                    await asyncio.sleep(delay)
                    continue
            raise api_error(
                response, attempts=attempt, outcome_unknown=unknown, retry_after=retry_after
            )

    def _may_retry(
        self, call: Call, attempt: int, delay: float, deadline: float | None, reason: str
    ) -> bool:
        policy = self.policy
        if attempt > policy.max_retries:
            return False
        if deadline is not None and asyncio.get_running_loop().time() + delay >= deadline:
            return False
        if not self.budget.allows_retry():
            logger.info(
                "Not retrying %s %s after %s: the client's retry budget is exhausted",
                call.method,
                call.path,
                reason,
            )
            return False
        logger.info(
            "Retrying %s %s (attempt %d of %d) in %.3fs: %s",
            call.method,
            call.path,
            attempt + 1,
            policy.max_retries + 1,
            delay,
            reason,
        )
        return True

    def error_response(self, call: Call, raw: RawResponse) -> httpx.Response:
        """An httpx.Response for an error to carry: attached to a redacted copy of the
        request, with any echo of the keys in the body replaced."""
        content = raw.content
        for secret in self._secrets:
            content = content.replace(secret, b"[redacted]")
        return httpx.Response(
            raw.status, headers=raw.headers, content=content, request=self.redacted_request(call)
        )

    @staticmethod
    def redacted_request(call: Call) -> httpx.Request:
        return redact_request(httpx.Request(call.method, call.url, headers=call.headers))


class _Headers(dict[str, str]):
    """Request headers that never show the credentials in a repr."""

    def __repr__(self) -> str:
        return repr({k: "[redacted]" if k in SECRET_HEADERS else v for k, v in self.items()})


def _transport_error(exc: BaseException, call: Call, attempts: int, *, unknown: bool) -> CflowError:
    where = f"{call.method} {call.path}"
    detail = str(exc) or type(exc).__name__
    _, _, query = call.url.partition("?")
    if query:  # never show the query (it names the user), whatever a library put in
        detail = detail.replace(call.url, call.path).replace(query, "...")
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").lower()
        return CflowTimeoutError(
            f"{kind} for {where}: {detail}", attempts=attempts, outcome_unknown=unknown
        )
    return CflowConnectionError(
        f"connection failed for {where}: {detail}", attempts=attempts, outcome_unknown=unknown
    )
