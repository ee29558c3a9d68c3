"""The exception hierarchy. Every failure a caller can see is a :class:`CflowError`.

Errors never hold credentials: the request attached to an error is a copy with the
``apikey``/``userkey`` headers redacted (:func:`redact_request`, applied once, by the
transport, before any error is built), and messages show paths, never query strings or
headers.

    CflowError
    ├── InvalidArgumentError (also a ValueError): refused before anything was sent
    │   └── (RecordValidationError, in _records)
    ├── CflowAPIError: the server answered a status the call does not accept
    │   ├── BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403,
    │   ├── NotFoundError 404, ConflictError 409, UnprocessableEntityError 422,
    │   ├── RateLimitError 429
    │   └── ServerError 5xx
    ├── CflowConnectionError: refused, reset, dropped
    │   └── CflowTimeoutError
    ├── ResponseValidationError: a 2xx whose body is unreadable
    └── ResponseTooLargeError
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ._constants import SECRET_HEADERS

_REDACTED = "[redacted]"
_SNIPPET = 200

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CflowAPIError",
    "CflowConnectionError",
    "CflowError",
    "CflowTimeoutError",
    "ConflictError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "UnprocessableEntityError",
]

_UNKNOWN_OUTCOME_HINT = (
    " The outcome is unknown: the server may have applied this request."
    " Check before sending it again."
)


class CflowError(Exception):
    """Base class of every error this library raises.

    ``attempts`` counts the requests that left for the server: 1 when nothing was
    retried, 0 when the call was refused before sending (a bad argument, a closed client,
    the wrong event loop).
    ``outcome_unknown`` is True when a write may have been applied by the server even
    though the call failed (a POST that timed out, lost its connection or got a 5xx):
    reconcile before resubmitting.
    """

    def __init__(self, message: str, *, attempts: int = 0, outcome_unknown: bool = False) -> None:
        if outcome_unknown:
            message += _UNKNOWN_OUTCOME_HINT
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.outcome_unknown = outcome_unknown

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default pickling cannot pass;
        # rebuild from the state instead (errors cross processes in task queues, xdist...).
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[CflowError], args: tuple[Any, ...], state: dict[str, Any]) -> CflowError:
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


class InvalidArgumentError(CflowError, ValueError):
    """An argument was refused before anything was sent (also a ``ValueError``)."""


class CflowAPIError(CflowError):
    """The server answered with a status the call does not accept (3xx, 4xx or 5xx)."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
        attempts: int = 1,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, attempts=attempts, outcome_unknown=outcome_unknown)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.request_id: str | None = response.headers.get("x-request-id")


class BadRequestError(CflowAPIError):
    """400."""


class AuthenticationError(CflowAPIError):
    """401: the api key, user key or username was refused."""


class PermissionDeniedError(CflowAPIError):
    """403."""


class NotFoundError(CflowAPIError):
    """404."""


class ConflictError(CflowAPIError):
    """409."""


class UnprocessableEntityError(CflowAPIError):
    """422."""


class RateLimitError(CflowAPIError):
    """429. ``retry_after`` is the server's requested wait in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(CflowAPIError):
    """5xx."""


class CflowConnectionError(CflowError):
    """The request could not be completed on the network (refused, reset, dropped)."""


class CflowTimeoutError(CflowConnectionError):
    """A connect, read, write or pool timeout, or the call's overall deadline, expired."""


class ResponseValidationError(CflowError):
    """A 2xx response whose body is not JSON, is truncated, or has the wrong shape."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        attempts: int = 1,
        outcome_unknown: bool = False,
    ) -> None:
        if response is not None:  # already redacted (CflowTransport.error_response)
            message = (
                f"{message} (HTTP {response.status_code}, body starts: {body_snippet(response)})"
            )
        super().__init__(message, attempts=attempts, outcome_unknown=outcome_unknown)
        self.response = response


class ResponseTooLargeError(CflowError):
    """The response body exceeded ``max_response_bytes`` and was not read."""


_STATUS_ERRORS: dict[int, type[CflowAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def body_snippet(response: httpx.Response, limit: int = _SNIPPET) -> str:
    """A short, printable start of the body, safe to put in a message."""
    text = response.content[: limit * 4].decode("utf-8", "replace")
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def decode_body(response: httpx.Response) -> Any:
    """The error body as parsed JSON when it is JSON, else as text."""
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return content.decode("utf-8", "replace")


def redact_request(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` whose credential headers are replaced, for attaching to errors."""
    headers = [
        (k, _REDACTED if k.lower() in SECRET_HEADERS else v)
        for k, v in request.headers.multi_items()
    ]
    return httpx.Request(request.method, request.url, headers=headers)


def api_error(
    response: httpx.Response,
    *,
    attempts: int,
    outcome_unknown: bool = False,
    retry_after: float | None = None,
) -> CflowAPIError:
    """The typed error for a non-2xx ``response`` whose body has been read and whose
    request is already redacted (``CflowTransport.error_response`` makes it so)."""
    request = response.request
    status = response.status_code
    body = decode_body(response)
    what = f"{status} {response.reason_phrase}".strip()
    where = f"{request.method} {request.url.path}"
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        message = (
            f"{what} for {where}: redirect to {location!r} not followed"
            " (credentials are never sent to another URL; check base_url)"
        )
    else:
        message = f"{what} for {where}: {body_snippet(response)}"
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else CflowAPIError)
    if cls is RateLimitError:
        if retry_after is not None:
            message += f" (retry after {retry_after:g} s)"
        return RateLimitError(
            message,
            retry_after=retry_after,
            response=response,
            body=body,
            attempts=attempts,
            outcome_unknown=outcome_unknown,
        )
    return cls(
        message, response=response, body=body, attempts=attempts, outcome_unknown=outcome_unknown
    )


def transport_error(
    exc: BaseException, method: str, url: str, path: str, attempts: int, *, unknown: bool
) -> CflowError:
    """The typed error for a transport failure (httpx's exception family, as every backend
    raises it) on ``method url``."""
    where = f"{method} {path}"
    detail = str(exc) or type(exc).__name__
    _, _, query = url.partition("?")
    if query:  # never show the query (it names the user), whatever a library put in
        detail = detail.replace(url, path).replace(query, "...")
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").lower()
        return CflowTimeoutError(
            f"{kind} for {where}: {detail}", attempts=attempts, outcome_unknown=unknown
        )
    return CflowConnectionError(
        f"connection failed for {where}: {detail}", attempts=attempts, outcome_unknown=unknown
    )
