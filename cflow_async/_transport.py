"""The one request path: credentials, retries, the retry budget, the response-size cap, the
mapping of failures to typed errors, and the one read path for bodies.

Every call, from the legacy endpoints or the OpenAPI namespaces, is a :class:`Call` that a
:class:`Requester` (``_requester``) builds (URL, query, JSON body, headers) and hands to
:meth:`CflowTransport.request`: :meth:`~CflowTransport.send` runs the single retry loop and
:meth:`~CflowTransport.read` decodes the body, so the unreadable-2xx rule exists once. No
httpx Request or Response is built on that path: building them costs more CPU than the
rest of a call.

The generated ``cflow_openapi`` functions, awaited directly with ``client=cflow.openapi``,
come in through ``_openapi_door.OpenAPIDoor`` (an httpx transport), which adapts httpx's
types to a Call and reads through :meth:`CflowTransport.exchange`, the same rule.

Hooks (``_hooks``) are reported to from inside the retry loop, through a per-call observer
that exists only when there are hooks or DEBUG logging is on.

Below sits a backend (``_backends``): httpx's transport or aiohttp, which only moves bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import httpx

from ._backends import Backend, Call, RawResponse
from ._config import Credentials
from ._constants import DEFAULT_MAX_RESPONSE_BYTES, USER_AGENT
from ._errors import (
    CflowConnectionError,
    CflowError,
    CflowTimeoutError,
    ResponseTooLargeError,
    ResponseValidationError,
    api_error,
    redact_request,
    transport_error,
)
from ._headers import RequestHeaders
from ._hooks import CallObserver, Hooks
from ._retry import (
    RETRYABLE_STATUSES,
    RetryBudget,
    RetryPolicy,
    is_certificate_error,
    may_duplicate,
    never_sent,
    parse_retry_after,
)

__all__ = ["CflowTransport"]

_DEBUG: Final = logging.DEBUG

logger = logging.getLogger("cflow_async")

T = TypeVar("T")

# What reading a hostile body can raise: bad JSON (ValueError), wrong shapes (Key/Index/
# Type/AttributeError in the generated models), numbers out of range (OverflowError from a
# date), and JSON nested past the parser's recursion limit. Callers see none of them raw.
_UNREADABLE = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, RecursionError)


class CflowTransport:
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
        hooks: Hooks | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> None:
        self.inner = inner
        #: None when there are no hooks: the loop tests it once per attempt.
        self.hooks = hooks
        #: The caller's headers (lower-case names) and query parameters, already checked.
        self.extra_headers: Mapping[str, str] = extra_headers or {}
        self.extra_query: Mapping[str, str] = extra_query or {}
        self.policy = policy
        self.budget = budget
        self.max_response_bytes = max_response_bytes
        self._credentials = credentials
        self._trusted = trusted
        self._owns_inner = owns_inner
        auth = credentials.headers()
        #: The credential headers, added to every Call the generated layer's door builds.
        self.auth_items = tuple(auth.items())
        # Scrubbed from any body an error carries: a server may echo the headers back.
        self._secrets = (credentials.api_key.encode(), credentials.user_key.encode())
        # gzip and deflate: both backends decode them natively.
        base = RequestHeaders(
            {
                "accept": "application/json",
                "accept-encoding": "gzip, deflate",
                "user-agent": USER_AGENT,
                **self.extra_headers,
                **auth,
            }
        )
        #: Complete header sets for the facade's requests, built once per client.
        self.get_headers: Mapping[str, str] = base
        self.json_headers: Mapping[str, str] = RequestHeaders(
            {**base, "content-type": "application/json"}
        )

    def __repr__(self) -> str:
        return f"<CflowTransport inner={type(self.inner).__name__} policy={self.policy!r}>"

    def derive(
        self,
        policy: RetryPolicy,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> CflowTransport:
        """A transport on the same pool, budget and hooks with another policy, and these
        headers and query parameters added to this one's; closing it is a no-op."""
        return CflowTransport(
            self.inner,
            credentials=self._credentials,
            policy=policy,
            budget=self.budget,
            trusted=self._trusted,
            max_response_bytes=self.max_response_bytes,
            owns_inner=False,
            hooks=self.hooks,
            extra_headers={**self.extra_headers, **(extra_headers or {})},
            extra_query={**self.extra_query, **(extra_query or {})},
        )

    async def aclose(self) -> None:
        if self._owns_inner:
            await self.inner.aclose()

    # -- the read path -----------------------------------------------------------------

    async def request(self, call: Call, reader: Callable[[Any], T] | None) -> T:
        """Send ``call`` and read its body with ``reader`` (``None``: don't read it)."""
        if self.hooks is not None or logger.isEnabledFor(_DEBUG):
            value: T = (await self.exchange(call, reader))[1]
            return value
        raw = await self.send(call)
        if reader is None:
            return None  # type: ignore[return-value]
        return self.read(call, raw, reader)

    async def exchange(
        self, call: Call, reader: Callable[[Any], Any] | None, *, empty_ok: bool = False
    ) -> tuple[RawResponse, Any]:
        """The response to ``call`` and its body read with ``reader`` (None: not read;
        ``empty_ok``: an empty body is not read either), reported to the hooks."""
        observer = None
        if self.hooks is not None or logger.isEnabledFor(_DEBUG):
            observer = CallObserver(self.hooks, call, logger.isEnabledFor(_DEBUG))
        try:
            raw = await self.send(call, observer)
            if reader is None or (empty_ok and not raw.content.strip()):
                value = None
            else:
                value = self.read(call, raw, reader)
        except BaseException as exc:
            if observer is not None:
                await observer.end(exc)
            raise
        if observer is not None:
            await observer.end(None)
        return raw, value

    def read(self, call: Call, raw: RawResponse, reader: Callable[[Any], T]) -> T:
        """``reader(JSON of the body)``, or a ResponseValidationError when the body is not
        JSON or has the wrong shape. Any 2xx is read as the documented answer: a server
        answering 200 where the document says 201 has still acted, and must not look like
        a failure. A write whose answer is unreadable has still been applied, its result
        (say the new record id) lost: for a write that may not be repeated, that is an
        unknown outcome."""
        try:
            return reader(json.loads(raw.content))
        except CflowError:
            raise
        except _UNREADABLE as exc:
            problem = str(exc)
        # Raised outside the except block: a JSONDecodeError holds the whole body in
        # ``.doc`` (an echoed key too), and ``from None`` would still leave it reachable
        # as ``__context__`` for anything that walks the chain, as error trackers do.
        raise ResponseValidationError(
            f"unreadable response to {call.method} {call.path}: {problem}",
            response=self.error_response(call, raw),
            attempts=raw.attempts,
            outcome_unknown=may_duplicate(call.method),
        )

    # -- the retry loop ----------------------------------------------------------------

    async def send(self, call: Call, observer: CallObserver | None = None) -> RawResponse:
        """Send ``call`` under the policy; returns a 2xx response or raises a CflowError."""
        loop = asyncio.get_running_loop()
        inner = self.inner
        if loop is not inner.loop:
            # Pooled connections belong to the loop that opened them (the pool is shared
            # with with_options copies, so the binding lives on it).
            if inner.loop is not None:
                raise CflowError(
                    "this CflowClient was first used in another event loop; create one"
                    " client per event loop (e.g. inside asyncio.run or a FastAPI lifespan)",
                    attempts=0,
                )
            inner.loop = loop
        policy = self.policy
        attempts = [0]  # shared with the loop, so a deadline error can tell the count
        if policy.deadline is None:
            return await self._send_with_retries(call, policy, None, attempts, observer)
        deadline = asyncio.get_running_loop().time() + policy.deadline
        try:
            async with asyncio.timeout_at(deadline):
                return await self._send_with_retries(call, policy, deadline, attempts, observer)
        except TimeoutError:
            raise CflowTimeoutError(
                f"deadline of {policy.deadline:g} s exceeded for {call.method} {call.path}",
                attempts=attempts[0],
                outcome_unknown=may_duplicate(call.method) and attempts[0] > 0,
            ) from None

    async def _send_with_retries(
        self,
        call: Call,
        policy: RetryPolicy,
        deadline: float | None,
        attempts: list[int],
        observer: CallObserver | None,
    ) -> RawResponse:
        idempotent = not may_duplicate(call.method)
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
            if observer is not None:
                await observer.request(attempt)
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
                error = transport_error(
                    exc, call.method, call.url, call.path, attempt, unknown=not (idempotent or safe)
                )
                if observer is not None:  # before the retry decision logs, for line order
                    observer.failed(type(error).__name__)
                if (idempotent or safe) and not is_certificate_error(exc):
                    delay = policy.backoff(attempt)
                    if self._may_retry(call, attempt, delay, deadline, str(error)):
                        if observer is not None:
                            await observer.retry(delay, None, type(error).__name__)
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
            if observer is not None:
                await observer.response(status)
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
                    if observer is not None:
                        await observer.retry(delay, status, None)
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
