"""The import's send rate: AIMD (additive increase, multiplicative decrease), as TCP
congestion control does, driven by the server's 429s instead of lost packets.

Until the first 429 there is no limit but ``cap`` (``--rate``). A 429 halves the rate
(starting from the rate actually achieved over the last seconds), once per round of
requests: the 429s of requests that left before the cut are the same congestion and do
not cut again. Each success adds ``step / rate``, so the rate grows by about ``step``
requests per second, every second: ``step`` is ``increase``, or a twentieth of what the
last cut took away if more, so the import climbs back in about 20 seconds whether it runs
at 5 or 500 requests per second. A Retry-After pauses every send until it has passed.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable

from .._errors import RateLimitError

__all__ = ["AdaptiveRate"]

_WINDOW = 2.0  # seconds of sends over which the achieved rate is measured


class AdaptiveRate:
    def __init__(
        self,
        cap: float | None = None,
        *,
        floor: float = 0.5,
        decrease: float = 0.5,
        increase: float = 1.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        max_pause: float | None = None,
    ) -> None:
        self.cap = cap
        #: The longest Retry-After honoured (the client's ``retry.max_retry_after``): a
        #: server's (or a proxy's) absurd value must not park the import for hours.
        self.max_pause = max_pause
        self.floor = min(floor, cap) if cap is not None else floor
        self.decrease = decrease
        self.increase = increase
        #: Requests per second now allowed; None: no limit yet (no cap, no 429 seen).
        self.rate: float | None = cap
        #: 429s seen.
        self.throttled = 0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._paused_until = 0.0
        self._last_cut = float("-inf")
        self._sent: collections.deque[float] = collections.deque()
        self._step = increase
        self._first: float | None = None

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    def achieved(self) -> float:
        """Requests per second actually sent over the last couple of seconds (or since the
        first send, if that is more recent)."""
        now = self._now()
        sent = self._sent
        while sent and sent[0] < now - _WINDOW:
            sent.popleft()
        if self._first is None or not sent:
            return 0.0
        # At least one interval of a few milliseconds, so a burst does not read as infinite.
        span = max(min(_WINDOW, now - self._first), 0.01)
        return len(sent) / span

    async def acquire(self) -> float:
        """Wait for this request's turn; returns the time it may leave (for ``throttle``)."""
        now = self._now()
        slot = max(now, self._paused_until)
        if self.rate is not None:
            slot = max(slot, self._next)
            self._next = slot + 1.0 / self.rate
        if slot > now:
            await self._sleep(slot - now)
        self._sent.append(slot)
        if self._first is None:
            self._first = slot
        if len(self._sent) > 10_000:  # bound memory at very high rates
            self.achieved()
        return slot

    def succeeded(self) -> None:
        if self.rate is not None:
            grown = self.rate + self._step / self.rate
            self.rate = grown if self.cap is None else min(self.cap, grown)

    def throttle(self, sent_at: float, retry_after: float | None) -> None:
        """A 429 for the request that left at ``sent_at``."""
        self.throttled += 1
        now = self._now()
        if retry_after is not None and retry_after > 0:
            if self.max_pause is not None:
                retry_after = min(retry_after, self.max_pause)
            self._paused_until = max(self._paused_until, now + retry_after)
        if sent_at < self._last_cut:
            return
        base = self.rate if self.rate is not None else max(self.achieved(), self.floor)
        self.rate = max(self.floor, base * self.decrease)
        self._step = max(self.increase, (base - self.rate) / 20)
        self._last_cut = now
        # The next send waits a whole new interval, not the old (shorter) one.
        self._next = max(self._next, now + 1.0 / self.rate)


def wait_too_long(error: RateLimitError, max_pause: float) -> RateLimitError | None:
    """The error that stops the import when a 429 asks for a longer wait than the client
    honours (as its transport would not retry it either); None when the wait is fine."""
    wait = error.retry_after
    if wait is None or wait <= max_pause:
        return None
    return RateLimitError(
        f"the server asked to wait {wait:g} s (Retry-After), more than the client's"
        f" max_retry_after of {max_pause:g} s: import stopped; run it again later (the"
        " rows not sent are retried then)",
        response=error.response,
        body=error.body,
        attempts=error.attempts,
        retry_after=wait,
    )
