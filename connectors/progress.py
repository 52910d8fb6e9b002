"""Progress of the long calls (keyed reads, batched writes, Bulk jobs) as plain events.

A run of 20,000 records spends minutes in a handful of connector calls; whoever drives the
run (the command line draws bars, a test counts events) wants to see them advance batch by
batch. The connectors report through a plain callable so they stay free of any display
library, and so does the engine that hands the callable on.

The protocol, for each call of ``find``/``read``/``upsert``/``update``/…:

- ``(phase, label, 0, total)`` when the call starts (``total`` = keys or records it carries);
- ``(phase, label, done, total)`` after each batch (a query, a 200-record collection, a
  Bulk job), ``done`` above 0 and never going back within the call — so ``done == 0`` marks
  the start of a call, and whoever adds calls up can tell them apart.

``phase`` is ``read``, ``write`` or ``bulk`` (a Bulk API 2.0 job being polled: ``done`` is
Salesforce's ``numberRecordsProcessed`` of that job). ``label`` names the CRM object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Phase = Literal["read", "write", "bulk"]


@dataclass(frozen=True)
class ProgressEvent:
    phase: Phase
    label: str
    done: int
    total: int


Progress = Callable[[ProgressEvent], None]


class ReportsProgress:
    """Mixed into the connectors' transports: ``progress`` is set by whoever runs a sync."""

    progress: Progress | None = None

    def _report(self, phase: Phase, label: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(phase, label, done, total))
