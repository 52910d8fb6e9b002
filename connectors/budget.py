"""One API budget per CRM org, shared by every process that writes to it.

A CRM's limits belong to the org (Salesforce: the 24-hour ``DailyApiRequests`` allocation of the
org; HubSpot: the daily allowance of the account and the rolling 10-second window of the
private app), not to one sync. Two syncs running at once — two Dagster runs, a backfill and the
CLI — would each pace themselves as if alone and together cross the limit, and every other
integration of the customer draws on the same daily allocation. So every call first goes
through a :class:`SharedBudget`: a small JSON ledger per org in a state directory, read and
changed only under an exclusive ``flock``, so the processes (and threads) on this machine see
one count:

- **daily reserve** — the ledger keeps the org's daily usage as the CRM last reported it
  (Salesforce ``Sforce-Limit-Info: api-usage=N/M`` on every REST answer, HubSpot
  ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining``) plus the calls sent since. A call that
  would spend into the last ``reserve`` share of the allocation (``sync.api_reserve``, 20 % by
  default) is not sent: :class:`~connectors.errors.ApiBudgetReserved` stops the run, whose
  remaining records fail ``api_budget_reserved`` and are retried next run. The CRM's own
  number always wins when it is higher (another integration spent calls) and replaces ours
  once the ledger has been idle for :data:`STALE_SECONDS` (Salesforce's window rolls; HubSpot's
  day resets at midnight). A connector's first call is never refused: only an answer tells that
  the allocation was raised or freed since the ledger last heard, so a run spends at most that
  one call past the line before it stops;
  HubSpot sends no daily headers to OAuth-installed apps (they have no daily limit: developer
  changelog, "Rate limit headers will now appear for OAuth authenticated calls"), so for them only
  the window applies;
- **burst window** (HubSpot) — at most ``limit`` calls in any rolling ``window`` seconds across
  all processes: the ledger holds the time of every call still inside the window. The limit and
  window are what HubSpot's ``X-HubSpot-RateLimit-Max`` / ``-Interval-Milliseconds`` say, never
  more than the configured tier. A call is dated when its answer arrives (HubSpot counted it
  somewhere in between: dating it late never undercounts HubSpot's window).

The ledger knows nothing secret: it is keyed by the org's host (Salesforce) or a digest of the
account's token (HubSpot: the token is what identifies the app and account before any call),
and holds counts and times only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from connectors.errors import ApiBudgetReserved

#: ``sync.api_reserve``'s default: the share of the daily allocation left to the customer's other integrations.
DEFAULT_RESERVE = 0.2
#: A ledger untouched this long takes the CRM's reported usage as it is, lower or not.
STALE_SECONDS = 30.0
#: Where ledgers live unless ``WRITEBACK_STATE_DIR`` says otherwise.
DEFAULT_STATE_DIR = Path(__file__).resolve().parents[1] / ".data" / "state"


def state_dir() -> Path:
    """``WRITEBACK_STATE_DIR``, else ``.data/state`` beside the default warehouse file: one
    directory for every process of a deployment, so they share their orgs' budgets."""
    return Path(os.environ.get("WRITEBACK_STATE_DIR") or DEFAULT_STATE_DIR)


def org_slug(text: str) -> str:
    """``text`` reduced to a file-name- and pool-name-safe identifier (``acme.my.salesforce.com``)."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return slug[:80] or "default"


def token_digest(token: str) -> str:
    """A short, irreversible name for the account a token belongs to (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


class SharedBudget:
    """The daily reserve and, when ``window_limit`` is given, the burst window of one org.

    ``clock`` is wall time (``time.time``): the ledger is shared between processes, whose
    monotonic clocks do not compare.
    """

    def __init__(
        self,
        path: Path,
        *,
        crm: str,
        reserve: float = DEFAULT_RESERVE,
        window_limit: int | None = None,
        window_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 <= reserve < 1:
            raise ValueError("reserve must be at least 0 and below 1")
        if window_limit is not None and window_limit < 1:
            raise ValueError("window_limit must be at least 1")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.crm = crm
        self.reserve = reserve
        self.window_limit = window_limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0  # seconds this process waited for the burst window
        self._sent = False  # has this connector sent a call yet (its first is never refused)

    @classmethod
    def for_org(cls, directory: Path, crm: str, org: str, **kw: Any) -> SharedBudget:
        return cls(Path(directory) / f"{crm}-{org_slug(org)}.json", crm=crm, **kw)

    # -- the ledger ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _ledger(self) -> Iterator[dict[str, Any]]:
        """The ledger under an exclusive lock; what the block leaves in the dict is written back.

        A new file descriptor each time: ``flock`` locks belong to an open file, so threads of
        one process exclude each other as processes do.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            try:
                data = json.loads(raw) if raw else {}
            except ValueError:
                data = {}  # a ledger cut short (the machine stopped mid-write): start afresh
            if not isinstance(data, dict):
                data = {}
            yield data
            out = json.dumps(data, separators=(",", ":")).encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, out)
        finally:
            os.close(fd)  # releases the lock

    # -- before and after a call ----------------------------------------------------------
    def acquire(self, *, window: bool = True) -> float | None:
        """Wait for a slot in the burst window, and refuse a call that would spend the reserve.

        Returns the call's slot (its start time) to hand to :meth:`release`, ``None`` without a
        window (or for a call outside it: HubSpot's search API has its own per-second limit and
        no part in the 10-second window). Raises :class:`ApiBudgetReserved` before the call is sent.
        """
        probe, self._sent = not self._sent, True
        while True:
            with self._ledger() as data:
                now = self._clock()
                if not probe:
                    self._check_daily(data)
                if self.window_limit is None or not window:
                    self._spend(data, now)
                    return None
                limit, span = self._window(data)
                slots = sorted(t for t in data.get("slots", []) if t > now - span)
                if len(slots) < limit:
                    self._spend(data, now)
                    data["slots"] = [*slots, now]
                    return now
                data["slots"] = slots
                wait = slots[len(slots) - limit] + span - now
            wait = max(wait, 0.005)
            self._sleep(wait)
            self.waited += wait

    def release(self, slot: float | None) -> None:
        """The call's answer arrived (or it failed): date its slot now."""
        if slot is None:
            return
        with self._ledger() as data:
            now = self._clock()
            slots = list(data.get("slots", []))
            with contextlib.suppress(ValueError):
                slots.remove(slot)
            slots.append(max(now, slot))
            data["slots"] = slots

    def observe_daily(self, used: int, limit: int) -> None:
        """The CRM's own count of the day (``used`` of ``limit``), from an answer's headers."""
        with self._ledger() as data:
            now = self._clock()
            daily = data.get("daily") or {}
            stale = now - float(daily.get("at", 0)) > STALE_SECONDS
            if stale or daily.get("max") != limit or used > int(daily.get("used", 0)):
                data["daily"] = {"used": used, "max": limit, "at": now}

    def observe_window(self, max_calls: int | None, interval_ms: int | None) -> None:
        """The burst window as HubSpot states it (``X-HubSpot-RateLimit-Max`` / ``-Interval-Milliseconds``)."""
        if self.window_limit is None or not max_calls or not interval_ms:
            return
        with self._ledger() as data:
            if data.get("window") != [max_calls, interval_ms]:
                data["window"] = [max_calls, interval_ms]

    def usage(self) -> tuple[int, int] | None:
        """``(used, max)`` as the ledger has it; ``None`` before the CRM reported any."""
        with self._ledger() as data:
            daily = data.get("daily") or {}
            if "max" not in daily:
                return None
            return int(daily["used"]), int(daily["max"])

    # -- internals ------------------------------------------------------------------------
    def allowed(self, limit: int) -> int:
        """Calls of a ``limit``-call day this product may spend: the reserve is kept whole."""
        return limit - math.ceil(limit * self.reserve)

    def _check_daily(self, data: dict[str, Any]) -> None:
        daily = data.get("daily") or {}
        if self.reserve <= 0 or "max" not in daily:
            return  # no reserve asked for, or the CRM has not told its allocation yet
        used, limit = int(daily["used"]), int(daily["max"])
        if used >= self.allowed(limit):
            raise ApiBudgetReserved(
                f"stopped at the API reserve: {used} of the {limit} daily API calls are spent and "
                f"{self.reserve:.0%} is kept for the org's other integrations (sync.api_reserve); "
                "the remaining records go next run",
                crm=self.crm,
            )

    @staticmethod
    def _spend(data: dict[str, Any], now: float) -> None:
        daily = data.get("daily")
        if daily and "max" in daily:
            daily["used"] = int(daily["used"]) + 1
            daily["at"] = now

    def _window(self, data: dict[str, Any]) -> tuple[int, float]:
        configured = int(self.window_limit or 1)
        told = data.get("window")
        if not told:
            return configured, self.window_seconds
        return max(1, min(configured, int(told[0]))), max(int(told[1]) / 1000.0, 0.001)
