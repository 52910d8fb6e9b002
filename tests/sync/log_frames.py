"""Crafted sync logs for the monitoring tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from dagster_pipeline.sync.state import LOG_SCHEMA


def log_rows(run_id: str, run_at: dt.datetime, workflow: str, obj: str, counts: dict[tuple[str, str, str | None], int],
             crm: str = "salesforce") -> pl.DataFrame:
    """``counts`` maps (action, status, reason) to how many records of ``obj`` the run logged."""
    rows = []
    for (action, status, reason), n in counts.items():
        for i in range(n):
            rows.append({"run_id": run_id, "run_at": run_at, "mode": "sync", "workflow": workflow, "crm": crm,
                         "org": "00D", "object": obj, "key": f"{run_id}-{action}-{reason}-{i}@acme.io",
                         "crm_id": None, "action": action, "status": status, "reason": reason,
                         "changed_fields": None, "message": None})
    return pl.DataFrame(rows, schema=LOG_SCHEMA)


def steady_log(start: dt.datetime, creates: list[int], workflow: str = "website_visitor") -> pl.DataFrame:
    """One run a day of ``workflow``, creating ``creates[i]`` Leads on day i."""
    return pl.concat([
        log_rows(f"{workflow}-{i}", start + dt.timedelta(days=i), workflow, "Lead",
                 {("create", "succeeded", None): n, ("unchanged", "succeeded", None): 5})
        for i, n in enumerate(creates)
    ])
