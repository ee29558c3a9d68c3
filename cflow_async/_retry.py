"""Retry policy, retry budget and the rules for what may be retried.

The loop that applies them lives in ``_transport.CflowTransport`` so the facade and the
generated layer share it. This module holds only decisions, no I/O.
"""

from __future__ import annotations

import email.utils
import random
import ssl
import time
from typing import Any

import attrs
import httpx

from ._errors import InvalidArgumentError

__all__ = ["RetryBudget", "RetryPolicy", "may_duplicate", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def may_duplicate(method: str) -> bool:
    """The package's one answer to "is this a write whose fate matters": True when sending
    the request again could apply it twice (POST, PATCH).

    Such a request is never retried once it may have reached the server, and any failure
    after that point (a timeout, a dropped connection, a 5xx, an unreadable 2xx) carries
    ``outcome_unknown=True``. Sending a PUT or DELETE again is harmless, so their failures
    never do: the caller may simply repeat them.
    """
    return method not in IDEMPOTENT_METHODS


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise InvalidArgumentError(f"RetryPolicy.{attribute.name} must be >= 0, got {value!r}")


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise InvalidArgumentError(f"RetryPolicy.{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """When and how calls are retried. ``RetryPolicy(max_retries=0)`` turns retries off.

    Backoff is exponential from ``initial_backoff`` up to ``max_backoff`` seconds, with up
    to 25% jitter. A server's Retry-After is honoured up to ``max_retry_after`` seconds;
    above that the error is raised at once. ``deadline`` (seconds) bounds a whole call,
    all attempts and waits included. The client-wide retry budget that caps retries when
    the server is down is sized on the client: ``CflowClient(retry_budget=...)``.
    """

    max_retries: int = attrs.field(default=2, validator=_non_negative)
    initial_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    max_backoff: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    deadline: float | None = attrs.field(default=None, validator=_positive_or_none)

    def backoff(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1-based): exponential, capped, jittered."""
        delay: float = min(self.max_backoff, self.initial_backoff * 2.0 ** (retry_number - 1))
        return delay * (1 - 0.25 * random.random())


class RetryBudget:
    """A client-wide token bucket, modelled on gRPC retry throttling (gRFC A6,
    "Retry Throttling": https://github.com/grpc/proposal/blob/master/A6-client-retries.md).

    The bucket starts full at ``max_tokens``. Every failed attempt takes one token, every
    success puts back ``token_ratio``. A retry is allowed only while more than half the
    tokens remain. When the server is down and every attempt fails, the bucket drains after
    ``max_tokens / 2`` failures and retries stop: they add at most about that many attempts
    (well under 20% of the load) until successes refill it. With the default ratio of 0.5
    retries keep flowing while fewer than about a third of attempts fail.

    One budget belongs to one client and is shared by its ``with_options`` copies: pass
    ``CflowClient(retry_budget=RetryBudget(...))`` to size it, ``RetryBudget(max_tokens=0)``
    to disable it, and read ``cflow.retry_budget.tokens`` to watch it.
    """

    def __init__(self, max_tokens: float = 20.0, token_ratio: float = 0.5) -> None:
        for name, value in (("max_tokens", max_tokens), ("token_ratio", token_ratio)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidArgumentError(f"RetryBudget.{name} must be >= 0, got {value!r}")
        self.max_tokens = float(max_tokens)
        self.token_ratio = float(token_ratio)
        # A client is bound to one event loop (see CflowTransport.send), so no lock.
        self._tokens = max_tokens

    @property
    def tokens(self) -> float:
        return self._tokens

    def record_success(self) -> None:
        if self._tokens < self.max_tokens:
            self._tokens = min(self.max_tokens, self._tokens + self.token_ratio)

    def record_failure(self) -> None:
        self._tokens = max(0.0, self._tokens - 1)

    def allows_retry(self) -> bool:
        return self.max_tokens <= 0 or self._tokens > self.max_tokens / 2

    def __repr__(self) -> str:
        return (
            f"RetryBudget(max_tokens={self.max_tokens:g}, token_ratio={self.token_ratio:g},"
            f" tokens={self._tokens:g})"
        )


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
        except ValueError:
            value = -1
        if value >= 0:  # False for NaN too
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        # A hostile date can overflow or be out of range in several ways; all mean "ignore".
        try:
            when = email.utils.parsedate_to_datetime(raw)
            if when.tzinfo is None:
                return None
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError, OSError):
            return None
        return max(0.0, seconds)
    return seconds if seconds >= 0 else None


def never_sent(exc: BaseException, trusted: bool) -> bool:
    """True only when ``exc`` proves the request never reached the server.

    ``trusted`` says whether the transport's exception types can be believed: httpx's own
    transport and ours map errors faithfully, but httpx-aiohttp reports a dropped
    connection as ConnectTimeout, so for other transports nothing proves "never sent".
    """
    if not trusted:
        return False
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def is_certificate_error(exc: BaseException) -> bool:
    """TLS verification failures are permanent: retrying cannot help."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
