"""The rolling-window limiter, on a fake clock."""

from __future__ import annotations

import pytest

from connectors.hubspot.ratelimit import RollingWindowLimiter
from tests.connectors.hubspot.helpers import FakeClock


def test_limiter_never_lets_more_than_limit_into_any_window(clock: FakeClock) -> None:
    limiter = RollingWindowLimiter(5, 10.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(17):
        limiter.release(limiter.acquire())
        starts.append(clock.now)
        clock.now += 0.4  # each call takes a little while
    for t in starts:
        assert sum(1 for s in starts if t <= s < t + 10.0) <= 5
    assert starts[-1] - starts[0] >= 30.0  # 17 calls at 5 per 10 s need three full windows
    assert limiter.waited == pytest.approx(sum(clock.sleeps))


def test_limiter_adapts_down_to_server_headers(clock: FakeClock) -> None:
    limiter = RollingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.release(limiter.acquire())
    limiter.observe(4, 3, 10_000)  # a smaller tier than configured
    assert limiter.effective_limit == 4
    limiter.observe(None, 0, None)  # someone else spent the rest of the window
    assert limiter.in_window() == 4
    limiter.acquire()
    assert clock.sleeps and clock.sleeps[0] == pytest.approx(10.0)
    limiter.observe(1, 0, 1_000)  # another window length: not ours to translate
    assert limiter.effective_limit == 4
