"""The served app as a whole (:mod:`connectors.sandbox.salesforce.app`, :mod:`.hooks` and the shared
machinery in :mod:`connectors.sandbox.base`): the URL length every call is checked for, the shared
faults as the SDK sees them, parallel clients, and start-up time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceGeneralError

from tests.sandbox.salesforce.conftest import client, count, create_many, fault, lead

ROOT = Path(__file__).resolve().parents[3]


def test_long_query_url_is_refused_like_salesforce(sf):
    emails = [f"person{i:05d}@some-long-domain-name.example" for i in range(500)]
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query(format_soql("SELECT Id FROM Lead WHERE Email IN {}", emails))
    assert exc.value.status == 414


@pytest.mark.parametrize("status", [503, 429])
def test_injected_status_fault_reaches_the_sdk(sf, sandbox, status):
    body = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    fault(sandbox, kind="status", status=status, body=body, path="/query", count=1)
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.status == status and exc.value.content == body
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_a_fault_can_target_one_soql_statement(sf, sandbox):
    fault(sandbox, kind="status", status=503, path="/query", query=r"FROM Contact\b", count=None,
          body=[{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}])
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0  # another statement: answered
    for _ in range(2):  # the targeted one fails every time
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM Contact WHERE Email = 'a@b.io'")
        assert exc.value.status == 503


def test_an_echo_fault_quotes_the_authorization_header_back(sf, sandbox):
    """The fault a client's scrubbing is tested against: the error body carries ``Bearer <token>``."""
    fault(sandbox, kind="status", status=500, path="/query", count=1, echo_authorization=True)
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.status == 500
    assert exc.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert f"Authorization: Bearer {sf.session_id}" in exc.value.content[0]["message"]
    body = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}]
    fault(sandbox, kind="status", status=429, path="/query", count=1, body=body, echo_authorization=True)
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.content == [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                  "message": f"slow down (request carried Authorization: Bearer {sf.session_id})"}]


def test_dropped_response_after_commit_still_wrote_the_record(sf, sandbox):
    fault(sandbox, kind="drop_after_commit", method="POST", path="/sobjects/Lead", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Lead.create(lead(Email="lost-response@acme.io"))
    rows = sf.query("SELECT Id FROM Lead WHERE Email = 'lost-response@acme.io'")["records"]
    assert len(rows) == 1


def test_a_reset_connection_applies_nothing_and_skip_lets_the_first_calls_through(sf, sandbox):
    fault(sandbox, kind="reset", method="POST", path="/sobjects/Lead", count=1, skip=1)
    sf.Lead.create(lead(Email="first@acme.io"))  # skipped: answered normally
    with pytest.raises(requests.exceptions.ConnectionError):  # over TLS a reset reads as "closed, no answer"
        sf.Lead.create(lead(Email="reset@acme.io"))
    sf.Lead.create(lead(Email="third@acme.io"))  # the fault fired once: spent
    emails = sorted(r["Email"] for r in sf.query("SELECT Email FROM Lead")["records"])
    assert emails == ["first@acme.io", "third@acme.io"]  # the reset call was never applied


def test_parallel_clients_lose_nothing(sandbox_clean):
    threads, calls, per_call = 6, 4, 50
    clients = [client(sandbox_clean) for _ in range(threads)]
    ids: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int, sf: Salesforce) -> None:
        try:
            for c in range(calls):
                rows = [lead(LastName=f"T{n}-{c}-{i}", Email=f"t{n}.{c}.{i}@acme.io") for i in range(per_call)]
                results = create_many(sf, "Lead", rows)
                single = sf.Lead.create(lead(LastName=f"S{n}-{c}"))
                with lock:
                    ids.extend(r["id"] for r in results if r["success"])
                    ids.append(single["id"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n, sf)) for n, sf in enumerate(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failures == []
    expected = threads * calls * (per_call + 1)
    assert len(ids) == len(set(ids)) == expected
    assert count(clients[0]) == expected


def test_sandbox_starts_within_three_seconds(tmp_path):
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_pipeline.cli", "sandbox", "--data-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.monotonic() - started
        info = json.loads(line)
        assert info["salesforce_url"].startswith("https://127.0.0.1:")
        assert elapsed < 3.0, f"sandbox took {elapsed:.2f}s to start"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
