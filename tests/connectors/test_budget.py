"""The shared budget's rules on a fake clock: two ledger users stand for two processes (each opens the
file under its own lock, as a process does). The sandbox scenarios are `tests/sync/test_api_budget.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.budget import SharedBudget
from connectors.errors import ApiBudgetReserved, ApiLimitExhausted


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pair(tmp_path: Path, clock: Clock, **kw: object) -> tuple[SharedBudget, SharedBudget]:
    path = tmp_path / "hubspot-acme.json"
    return (SharedBudget(path, crm="hubspot", clock=clock, sleep=clock.sleep, **kw),  # type: ignore[arg-type]
            SharedBudget(path, crm="hubspot", clock=clock, sleep=clock.sleep, **kw))  # type: ignore[arg-type]


def test_the_burst_window_is_one_for_both_processes(tmp_path: Path) -> None:
    clock = Clock()
    a, b = pair(tmp_path, clock, reserve=0.0, window_limit=3, window_seconds=10.0)
    for budget in (a, b, a):
        budget.release(budget.acquire())
    assert clock.slept == []
    clock.now += 4
    b.release(b.acquire())  # the fourth call waits for the first to leave the window
    assert clock.slept == [pytest.approx(6.0)]


def test_the_window_hubspot_states_wins_over_the_configured_one(tmp_path: Path) -> None:
    clock = Clock()
    a, b = pair(tmp_path, clock, reserve=0.0, window_limit=100, window_seconds=10.0)
    a.observe_window(2, 1000)  # X-HubSpot-RateLimit-Max: 2, -Interval-Milliseconds: 1000
    a.release(a.acquire())
    b.release(b.acquire())
    b.release(b.acquire())
    assert clock.slept == [pytest.approx(1.0)]


def test_search_calls_take_no_slot_of_the_window(tmp_path: Path) -> None:
    clock = Clock()
    a, _ = pair(tmp_path, clock, reserve=0.0, window_limit=1)
    a.release(a.acquire())
    assert a.acquire(window=False) is None and clock.slept == []


def test_the_reserve_stops_every_process_before_the_call(tmp_path: Path) -> None:
    clock = Clock()
    a, b = pair(tmp_path, clock, reserve=0.2)
    a.acquire()  # a first call is always sent: its answer tells the CRM's count
    a.observe_daily(78, 100)  # Sforce-Limit-Info: api-usage=78/100; 80 may be spent
    b.acquire()
    a.acquire()
    assert a.usage() == (80, 100)
    for budget in (a, b):
        with pytest.raises(ApiBudgetReserved) as err:
            budget.acquire()
        assert isinstance(err.value, ApiLimitExhausted) and err.value.code == "api_budget_reserved"
        assert "80 of the 100 daily API calls" in str(err.value) and "sync.api_reserve" in str(err.value)
    assert a.usage() == (80, 100)  # a refused call is not counted


def test_no_reserve_leaves_the_limit_to_the_crm(tmp_path: Path) -> None:
    clock = Clock()
    a, _ = pair(tmp_path, clock, reserve=0.0)
    a.observe_daily(100, 100)
    a.acquire()
    a.acquire()


def test_the_crms_count_wins_when_higher_and_once_the_ledger_is_idle(tmp_path: Path) -> None:
    clock = Clock()
    a, b = pair(tmp_path, clock, reserve=0.2)
    a.observe_daily(50, 100)
    b.observe_daily(60, 100)  # another integration spent calls: higher wins at once
    a.observe_daily(55, 100)  # an older answer arriving late: ours stays
    assert a.usage() == (60, 100)
    clock.now += 31  # idle: the CRM's window rolled, its lower count is the truth
    a.observe_daily(20, 100)
    assert b.usage() == (20, 100)
    b.observe_daily(5, 5000)  # a raised allocation: taken as told
    assert a.usage() == (5, 5000)


def test_a_ledger_cut_short_starts_afresh(tmp_path: Path) -> None:
    clock = Clock()
    a, _ = pair(tmp_path, clock, reserve=0.2)
    a.path.write_text('{"daily": {"used": 9')
    assert a.usage() is None
    a.observe_daily(1, 10)
    assert a.usage() == (1, 10)
