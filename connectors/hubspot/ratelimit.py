"""A client-side limiter that keeps HubSpot calls inside a rolling time window.

HubSpot counts calls per app in a *rolling* window (100 or 190 per 10 s; the search API
about 4–5 per second) and answers 429 past it. Waiting for a 429 and backing off wastes
calls and time, so every call first takes a slot here. The limiter also listens to the
``X-HubSpot-RateLimit-*`` headers: another process spending the same app's allowance
shows up as a ``Remaining`` lower than our own count, and an account on a smaller tier
as a ``Max`` below the configured limit; both make the limiter slow down, never speed up
beyond what it was configured with.

The clock and sleep are injected so tests can run the window on a fake clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class RollingWindowLimiter:
    """At most ``limit`` calls in any ``window`` seconds (rolling, not fixed buckets).

    A call holds its slot from :meth:`acquire` and, once :meth:`release` is called, is dated
    by the moment its answer arrived: the server counted it somewhere in between, so
    dating it late is the side that never undercounts the server's window.
    """

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._server_max: int | None = None
        self._slots: list[list[float]] = []  # [time] of every call still inside the window
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting for a slot, all calls together

    @property
    def effective_limit(self) -> int:
        """The configured limit, lowered to the server's ``Max`` when that is smaller."""
        if self._server_max is None:
            return self.limit
        return max(1, min(self.limit, self._server_max))

    def in_window(self) -> int:
        """Calls (ours, or the server's that we learnt of from headers) inside the window."""
        with self._lock:
            self._expire(self._clock())
            return len(self._slots)

    def acquire(self) -> list[float]:
        """Block until a call may start; returns its slot, to hand to :meth:`release`."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                limit = self.effective_limit
                if len(self._slots) < limit:
                    slot = [now]
                    self._slots.append(slot)
                    self.waited += waited
                    return slot
                # The slot frees when the oldest call that keeps us at the limit leaves the window.
                times = sorted(s[0] for s in self._slots)
                wait = times[len(times) - limit] + self.window - now
            wait = max(wait, 0.001)  # never spin: a clock that did not move still gets a real sleep
            self._sleep(wait)
            waited += wait

    def release(self, slot: list[float]) -> None:
        """The call's answer arrived (or it failed): date it now."""
        with self._lock:
            slot[0] = max(slot[0], self._clock())

    def observe(self, max_calls: int | None, remaining: int | None, interval_ms: int | None = None) -> None:
        """Take in the server's view of the window (rate-limit headers of a response).

        Headers for another window length (the search API's per-second policy) are ignored:
        their numbers do not translate into this window safely.
        """
        if interval_ms is not None and abs(interval_ms / 1000.0 - self.window) > 1e-6:
            return
        with self._lock:
            now = self._clock()
            self._expire(now)
            if max_calls is not None and max_calls > 0:
                self._server_max = max_calls
            if remaining is None:
                return
            limit = self.effective_limit if max_calls is None else max_calls
            used_by_server = max(0, limit - max(0, remaining))
            # Calls the server counted that we did not make (another process on the same app):
            # book them now, so they leave our window no earlier than they leave the server's.
            for _ in range(used_by_server - len(self._slots)):
                self._slots.append([now])

    def _expire(self, now: float) -> None:
        edge = now - self.window
        self._slots = [s for s in self._slots if s[0] > edge]
