"""Hooks and their events, and the per-call observer the retry loop reports to.

A hook is any object with some of ``on_request``, ``on_response``, ``on_retry``,
``on_error`` and ``on_call_end`` (plain or async functions of one event). They are called
from inside the one retry loop (``_transport``), so the facade, the OpenAPI namespaces and
generated functions awaited through ``cflow.openapi`` all report every attempt.

Events show the method, the path and its template, and the URL with every query value
replaced: never a header, never the query (``username`` travels in it). A hook that raises
is logged once at WARNING and does not change the call's outcome.

Without hooks and with DEBUG logging off, no observer exists and the loop pays one ``is
None`` test per attempt. With DEBUG on, the observer also logs one line per attempt.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, quote, urlencode

import attrs

from ._errors import CflowError, InvalidArgumentError
from ._headers import RequestHeaders, allowed_added_header
from ._operations import match_operation

if TYPE_CHECKING:
    from ._backends import Call

__all__ = [
    "CallEndEvent",
    "ErrorEvent",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
]

logger = logging.getLogger("cflow_async")

#: What replaces each query value in an event's ``url`` (the OpenTelemetry convention).
REDACTED: Final = "REDACTED"

HOOK_METHODS: Final = ("on_request", "on_response", "on_retry", "on_error", "on_call_end")

_call_ids = itertools.count(1)


@attrs.frozen(kw_only=True)
class HookEvent:
    """What every event tells. ``call_id`` is the same for all events of one call.

    ``operation`` names the facade method or OpenAPI operation (``submit_record``,
    ``list_requests``); ``template`` is the documented path
    (``/integromat/api/cflow/workflows/{workflowId}/requests``), ``None`` for a path no
    operation matches; ``path`` is the request path without the query; ``url`` the full
    URL with each query value replaced by ``REDACTED``. ``attempt`` counts from 1.
    """

    call_id: int
    operation: str | None
    method: str
    template: str | None
    path: str
    url: str
    attempt: int


@attrs.frozen(kw_only=True)
class RequestEvent(HookEvent):
    """An attempt is about to be sent. A hook may add headers to this attempt (trace
    context, say) by setting them in ``headers``; credential headers are ignored."""

    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ResponseEvent(HookEvent):
    """An attempt got an HTTP answer (any status). ``elapsed``: this attempt, in seconds."""

    status: int
    elapsed: float


@attrs.frozen(kw_only=True)
class RetryEvent(HookEvent):
    """Attempt ``attempt`` failed and the call will be sent again in ``delay`` seconds.
    ``status`` is set when the server answered, ``error_type`` when no answer came."""

    delay: float
    status: int | None
    error_type: str | None
    elapsed: float


@attrs.frozen(kw_only=True)
class ErrorEvent(HookEvent):
    """The call failed: ``error_type`` names the CflowError raised, ``attempt`` is the
    number of attempts, ``elapsed`` covers the whole call. ``outcome_unknown``: a write
    may have been applied."""

    error_type: str
    status: int | None
    elapsed: float
    outcome_unknown: bool


@attrs.frozen(kw_only=True)
class CallEndEvent(HookEvent):
    """The call finished, either way (after ``on_error`` when it failed; ``error_type``
    is ``"CancelledError"`` for a cancelled call)."""

    status: int | None
    error_type: str | None
    elapsed: float
    outcome_unknown: bool


Handler = Callable[[Any], Any]


class Hooks:
    """A client's hooks, sorted by method once (``with_options`` copies share them)."""

    __slots__ = ("_warned", "hooks", *HOOK_METHODS)

    def __init__(self, hooks: Iterable[object]) -> None:
        if isinstance(hooks, (str, bytes)) or not isinstance(hooks, Iterable):
            raise InvalidArgumentError("hooks must be a list of hook objects")
        self.hooks = tuple(hooks)
        self._warned: set[int] = set()
        found: dict[str, list[Handler]] = {name: [] for name in HOOK_METHODS}
        for hook in self.hooks:
            methods = {n: getattr(hook, n, None) for n in HOOK_METHODS}
            handlers = {n: m for n, m in methods.items() if callable(m)}
            if not handlers:
                raise InvalidArgumentError(
                    f"hook {type(hook).__name__} has none of {', '.join(HOOK_METHODS)}"
                )
            for name, handler in handlers.items():
                found[name].append(handler)
        # Bound once here, so a call looks up a tuple instead of probing every hook.
        self.on_request = tuple(found["on_request"])
        self.on_response = tuple(found["on_response"])
        self.on_retry = tuple(found["on_retry"])
        self.on_error = tuple(found["on_error"])
        self.on_call_end = tuple(found["on_call_end"])

    def __repr__(self) -> str:
        return f"<Hooks {[type(h).__name__ for h in self.hooks]}>"

    async def run(self, handlers: tuple[Handler, ...], event: HookEvent) -> None:
        for handler in handlers:
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self._report(handler)

    def _report(self, handler: Handler) -> None:
        # Once at WARNING per handler: a hook that fails on every call must not flood logs.
        level = logging.DEBUG if id(handler) in self._warned else logging.WARNING
        self._warned.add(id(handler))
        logger.log(
            level,
            "cflow_async hook %s raised; the call goes on (later errors of this hook are"
            " logged at DEBUG)",
            getattr(handler, "__qualname__", type(handler).__name__),
            exc_info=True,
        )


@functools.lru_cache(maxsize=1024)
def redacted_url(url: str) -> str:
    """``url`` with each query value replaced by ``REDACTED`` (the keys stay). Cached:
    most calls repeat a few URLs (the cache holds what each Call already holds)."""
    base, sep, query = url.partition("?")
    if not sep:
        return base
    keys = [(k, REDACTED) for k, _ in parse_qsl(query, keep_blank_values=True)]
    return f"{base}?{urlencode(keys, quote_via=quote)}"


class CallObserver:
    """One call's reporting: builds the events, runs the hooks, times the attempts and
    writes the DEBUG line per attempt. Created only when there is someone to report to."""

    __slots__ = (
        "_attempt_open",
        "_attempt_start",
        "_base_headers",
        "_call",
        "_debug",
        "_elapsed",
        "_hooks",
        "_start",
        "_status",
        "attempt",
        "call_id",
        "operation",
        "template",
        "url",
    )

    def __init__(self, hooks: Hooks | None, call: Call, debug: bool) -> None:
        self._hooks = hooks
        self._call = call
        self._debug = debug
        self._base_headers = call.headers
        self._start = time.perf_counter()
        self._attempt_start = self._start
        self._attempt_open = False
        self._elapsed = 0.0
        self._status: int | None = None
        self.attempt = 0
        self.call_id = next(_call_ids)
        self.operation = call.operation
        self.template = call.template
        if self.template is None:
            # The generated layer's door knows only the URL: name it from the spec.
            matched = match_operation(call.method, call.path)
            if matched is not None:
                self.operation, self.template = matched
        self.url = redacted_url(call.url) if hooks is not None else ""

    def _fields(self) -> dict[str, Any]:
        call = self._call
        return {
            "call_id": self.call_id,
            "operation": self.operation,
            "method": call.method,
            "template": self.template,
            "path": call.path,
            "url": self.url,
            "attempt": self.attempt,
        }

    def _log_attempt(self, outcome: object) -> None:
        self._attempt_open = False
        if self._debug:
            call = self._call
            logger.debug(
                "%s %s -> %s in %.1f ms (attempt %d)",
                call.method,
                call.path,
                outcome,
                (time.perf_counter() - self._attempt_start) * 1000,
                self.attempt,
            )

    async def request(self, attempt: int) -> None:
        self.attempt = attempt
        hooks = self._hooks
        if hooks is not None and hooks.on_request:
            event = RequestEvent(**self._fields())
            await hooks.run(hooks.on_request, event)
            if event.headers:
                self._call.headers = _with_added(self._base_headers, event.headers)
        self._attempt_open = True
        self._attempt_start = time.perf_counter()

    async def response(self, status: int) -> None:
        self._status = status
        elapsed = self._elapsed = time.perf_counter() - self._attempt_start
        self._log_attempt(status)
        hooks = self._hooks
        if hooks is not None and hooks.on_response:
            event = ResponseEvent(**self._fields(), status=status, elapsed=elapsed)
            await hooks.run(hooks.on_response, event)

    def failed(self, error_type: str) -> None:
        """The attempt got no answer (``error_type`` is the error it maps to)."""
        self._elapsed = time.perf_counter() - self._attempt_start
        self._log_attempt(error_type)

    async def retry(self, delay: float, status: int | None, error_type: str | None) -> None:
        # The failed attempt's own time, not counting the hooks and logs since.
        elapsed = self._elapsed
        hooks = self._hooks
        if hooks is not None and hooks.on_retry:
            event = RetryEvent(
                **self._fields(), delay=delay, status=status, error_type=error_type, elapsed=elapsed
            )
            await hooks.run(hooks.on_retry, event)

    async def end(self, error: BaseException | None) -> None:
        error_type = None if error is None else type(error).__name__
        if self._attempt_open:
            self._log_attempt(error_type)
        hooks = self._hooks
        if hooks is None:
            return
        elapsed = time.perf_counter() - self._start
        unknown = isinstance(error, CflowError) and error.outcome_unknown
        fields = self._fields()
        if isinstance(error, CflowError):
            fields["attempt"] = error.attempts
            if hooks.on_error:
                event = ErrorEvent(
                    **fields,
                    error_type=type(error).__name__,
                    status=self._status,
                    elapsed=elapsed,
                    outcome_unknown=unknown,
                )
                await hooks.run(hooks.on_error, event)
        if hooks.on_call_end:
            end = CallEndEvent(
                **fields,
                status=self._status,
                error_type=error_type,
                elapsed=elapsed,
                outcome_unknown=unknown,
            )
            await hooks.run(hooks.on_call_end, end)


def _with_added(base: Mapping[str, str], added: dict[str, str]) -> RequestHeaders:
    """A copy of the call's headers with a hook's additions (see allowed_added_header)."""
    headers = RequestHeaders(base)  # the client's shared header set must stay as it is
    for name, value in added.items():
        if allowed_added_header(name, value):
            headers[str(name).lower()] = value
    return headers
