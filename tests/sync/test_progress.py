"""Progress of a sync, batch by batch (README "Commands"): reads, writes and Bulk polls report
through a plain callback, and ``writeback sync`` adds them up into bars that advance per batch.

The events are captured from real runs against the sandbox CRMs through the SDKs; the bars are
fed the same events. A run of hundreds of records must report more than one step per phase:
a bar that jumps from 0 to the total at the end tells a user nothing for minutes.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress

from connectors.hubspot.api import HubSpotConnector
from connectors.progress import ProgressEvent
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.client import make_client as make_salesforce
from connectors.warehouse import Warehouse
from dagster_pipeline.commands import Bars
from dagster_pipeline.sync.engine import run_workflow
from tests.sync.conftest import Runner
from tests.sync.frames import companies, company, person, persons

PEOPLE = 450  # three batches of 200-record sObject Collections, five of HubSpot's 100-input batches


def _no_sleep(_: float) -> None:
    """Backoff and poll waits are skipped; every poll is still a real call."""


def people(prefix: str, count: int = PEOPLE) -> Any:
    return persons(*(person(f"{prefix}{i}@acme.io") for i in range(count)))


def steps(events: list[ProgressEvent], phase: str, label: str) -> list[tuple[int, int]]:
    return [(e.done, e.total) for e in events if e.phase == phase and e.label == label]


@pytest.fixture(scope="module")
def salesforce_events(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[ProgressEvent]]:
    """Two runs, shared by the tests below: 450 Leads created through sObject Collections, then
    450 more through one Bulk job."""
    sandbox.reset()
    client = make_salesforce(SalesforceCredentials.from_env(sandbox.salesforce_env()))
    sf_runner = Runner("salesforce", client, Warehouse(f"duckdb:///{tmp_path_factory.mktemp('progress') / 'w.duckdb'}"))
    sf_runner.setup()
    out: dict[str, list[ProgressEvent]] = {"collections": [], "bulk": []}
    for name, prefix, workflow, threshold in (("collections", "c", "website_visitor", 2000),
                                               ("bulk", "b", "inbound_agent", 100)):
        connector = SalesforceConnector(sf_runner.client, bulk_threshold=threshold, sleep=_no_sleep)
        result = run_workflow(workflow, sf_runner.settings(), sf_runner.warehouse, connector, mode="sync",
                              persons=people(prefix), companies=companies(company("acme.io")),
                              progress=out[name].append)
        assert result.summary["Lead"].created == PEOPLE
        assert connector.progress is None  # handed back once the run is over
    sandbox.reset()  # the next test module finds the sandbox as a clean one
    return out


def test_salesforce_writes_advance_per_collection_call(salesforce_events) -> None:
    assert steps(salesforce_events["collections"], "write", "Lead") == [(0, 450), (200, 450), (400, 450), (450, 450)]


def test_salesforce_reads_report_each_query(salesforce_events) -> None:
    reads = steps(salesforce_events["collections"], "read", "Contact")
    assert reads[0] == (0, PEOPLE) and reads[-1] == (PEOPLE, PEOPLE) and len(reads) >= 2
    assert [d for d, _ in reads] == sorted(d for d, _ in reads)  # never goes back within the call


def test_salesforce_bulk_jobs_report_their_polls(salesforce_events) -> None:
    events = salesforce_events["bulk"]
    assert steps(events, "bulk", "Lead")[0] == (0, PEOPLE)
    assert steps(events, "bulk", "Lead")[-1] == (PEOPLE, PEOPLE)  # numberRecordsProcessed of the finished job
    assert steps(events, "write", "Lead") == [(0, PEOPLE), (PEOPLE, PEOPLE)]


def test_bars_add_up_the_calls_and_advance_per_batch(salesforce_events) -> None:
    """The bars `writeback sync` draws, fed the events of the runs: one per phase and object,
    ending at the records it carried, with intermediate steps."""
    bar = Progress(console=Console(file=io.StringIO(), force_terminal=True, width=120))
    bars = Bars(bar, "website_visitor")
    seen: list[float] = []
    for event in salesforce_events["collections"]:
        bars(event)
        if (event.phase, event.label) == ("write", "Lead"):
            seen.append(next(t.completed for t in bar.tasks if t.description == "website_visitor: writing Lead"))
    assert seen == [0, 200, 400, 450]
    by_name = {t.description: t for t in bar.tasks}
    read_calls = [e for e in salesforce_events["collections"] if e.phase == "read" and e.label == "Lead"]
    expected = sum(e.total for e in read_calls if e.done == 0)
    assert by_name["website_visitor: reading Lead"].total == expected
    assert all(t.completed == t.total for t in bar.tasks)


def test_hubspot_reads_and_writes_advance_per_batch(hs_runner: Runner) -> None:
    hs_runner.setup()
    events: list[ProgressEvent] = []
    connector = HubSpotConnector(hs_runner.client, sleep=_no_sleep)
    # Keyed reads (not a count first, which an empty portal answers in one call): reads advance per batch.
    settings = hs_runner.settings({**hs_runner.settings_data, "sync": {"read_path": "keyed"}})
    result = run_workflow("website_visitor", settings, hs_runner.warehouse, connector, mode="sync",
                          persons=people("h", 250), companies=companies(company("acme.io")), progress=events.append)
    assert result.summary["contacts"].created == 250
    assert steps(events, "write", "contacts") == [(0, 250), (100, 250), (200, 250), (250, 250)]
    reads = steps(events, "read", "contacts")
    assert reads[:4] == [(0, 250), (100, 250), (200, 250), (250, 250)]
