"""Retries, limits and errors: faults injected in the HubSpot sandbox, waits on a fake clock,
and the access token kept out of every error."""

from __future__ import annotations

import time
import traceback
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.errors import (
    ApiLimitExhausted,
    AuthenticationError,
    ConnectionFailed,
    CrmError,
    RateLimited,
    RetryableError,
)
from connectors.hubspot.api import HubSpotConnector
from connectors.hubspot.client import HubSpotCredentials, make_client
from tests.connectors.hubspot.helpers import FakeClock, all_contacts, fault, sdk_create_contacts, server_calls
from tests.network import closed_port

RATE_LIMIT_429 = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c0ffee00-0000-0000-0000-000000000000",
    "policyName": "TEN_SECONDLY_ROLLING",
}


def test_502_twice_then_success(conn: HubSpotConnector, clock: FakeClock, hs: HubSpot, sandbox_clean: Any) -> None:
    sdk_create_contacts(hs, ["x@example.com"])
    fault(sandbox_clean, kind="status", status=502, body={"message": "Bad gateway"}, path="batch/read", count=2)
    got = conn.read("contacts", "email", ["x@example.com"], [])
    assert "x@example.com" in got
    assert server_calls(sandbox_clean, "batch/read") == 3
    assert conn.calls.reads == 3
    assert len(clock.sleeps) == 2
    assert 0.25 <= clock.sleeps[0] <= 0.5 and 0.5 <= clock.sleeps[1] <= 1.0  # 0.5 s, then 1 s, with jitter


def test_429_ten_secondly_honours_retry_after(conn: HubSpotConnector, clock: FakeClock, hs: HubSpot,
                                              sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=429, body=RATE_LIMIT_429, headers={"Retry-After": "3"},
          path="batch/upsert", count=1)
    results = conn.upsert("contacts", "email", [("r@example.com", {"firstname": "R"})])
    assert results[0].ok and results[0].created
    assert clock.sleeps == [3.0]
    assert server_calls(sandbox_clean, "batch/upsert") == 2
    assert len(all_contacts(hs)) == 1


def test_423_backs_off_at_least_two_seconds(conn: HubSpotConnector, clock: FakeClock, sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=423, body={"status": "error", "message": "Locked"},
          path="batch/upsert", count=1)
    assert conn.upsert("contacts", "email", [("l@example.com", {})])[0].ok
    assert clock.sleeps and clock.sleeps[0] >= 2.0


def test_dropped_connection_after_commit_is_retried_without_duplicate(conn: HubSpotConnector, hs: HubSpot,
                                                                     sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="drop_after_commit", path="batch/upsert", count=1)
    inputs = [(f"d{i}@example.com", {"firstname": "D"}) for i in range(20)]
    results = conn.upsert("contacts", "email", inputs)
    assert all(r.ok for r in results)
    assert server_calls(sandbox_clean, "batch/upsert") == 2 and conn.calls.writes == 2
    stored = all_contacts(hs)
    assert sorted(c.properties["email"] for c in stored) == sorted(k for k, _ in inputs)


def test_retries_run_out_inputs_fail_and_reads_raise(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_attempts=3, max_backoff=0.75)
    fault(sandbox_clean, kind="status", status=503, body={"message": "Service unavailable"}, count=None)
    results = conn.upsert("contacts", "email", [(f"f{i}@example.com", {}) for i in range(150)])
    assert len(results) == 150 and not any(r.ok for r in results)
    assert {r.error_code for r in results} == {"HTTP_503"}
    # The first batch used its three attempts; the second was not sent into a CRM that is down.
    assert server_calls(sandbox_clean, "batch/upsert") == 3
    assert max(clock.sleeps) <= 0.75
    with pytest.raises(RetryableError) as info:
        conn.read("contacts", "email", ["f0@example.com"], [])
    assert info.value.status == 503 and info.value.crm == "hubspot"
    assert server_calls(sandbox_clean, "batch/read") == 3


def test_limiter_keeps_within_a_small_window(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config", {"ten_second_limit": 5, "ten_second_window_ms": 1000})
    unlimited = HubSpotConnector(hs, max_attempts=1)
    with pytest.raises(RetryableError) as info:  # the sandbox does enforce the window
        for _ in range(8):
            unlimited.read("contacts", "email", ["nobody@example.com"], [])
    assert info.value.code == "TEN_SECONDLY_ROLLING"
    time.sleep(1.05)
    limited = HubSpotConnector(hs, ten_second_limit=5, window_seconds=1.0, max_attempts=1)
    started = time.monotonic()
    for _ in range(11):
        limited.read("contacts", "email", ["nobody@example.com"], [])  # a 429 would raise: one attempt only
    assert time.monotonic() - started >= 1.9  # 11 calls at 5 per second span two full windows
    assert limited.calls.reads == 11


def test_limiter_learns_the_allowance_from_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config", {"ten_second_limit": 5, "ten_second_window_ms": 1000})
    for _ in range(3):  # another process spends part of the same allowance
        hs.crm.contacts.basic_api.get_page(limit=1)
    conn = HubSpotConnector(hs, ten_second_limit=100, window_seconds=1.0, max_attempts=1)
    for _ in range(8):
        conn.read("contacts", "email", ["nobody@example.com"], [])
    assert conn.limiter.effective_limit == 5
    assert conn.calls.reads == 8


def test_daily_limit_stops_with_api_limit_exhausted(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config", {"daily_limit": 1})
    conn.read("contacts", "email", ["a@example.com"], [])
    with pytest.raises(ApiLimitExhausted, match="daily"):
        conn.upsert("contacts", "email", [("a@example.com", {})])
    assert server_calls(sandbox_clean, "batch/upsert") == 1  # not retried


def test_daily_429_from_hubspot_is_not_retried(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=429, count=1, path="properties",
          body={**RATE_LIMIT_429, "policyName": "DAILY", "message": "You have reached your daily limit."})
    with pytest.raises(ApiLimitExhausted) as info:
        conn.describe("contacts")
    assert info.value.code == "DAILY" and conn.calls.reads == 1


def test_wrong_token_raises_authentication_error_without_the_token(sandbox_clean: Any) -> None:
    secret = "pat-na1-wrong-0123456789abcdef"
    conn = HubSpotConnector(make_client(HubSpotCredentials(access_token=secret, base_url=sandbox_clean.hubspot_url)))
    with pytest.raises(AuthenticationError) as info:
        conn.describe("contacts")
    assert info.value.status == 401
    text = "".join(traceback.format_exception(info.value))
    assert secret not in text and secret not in repr(info.value)
    assert conn.calls.reads == 1  # never retried


def test_the_token_never_appears_in_error_text(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    token = sandbox_clean.token
    echo = {"status": "error", "message": f"proxy saw Authorization: Bearer {token}", "category": "UPSTREAM"}
    fault(sandbox_clean, kind="status", status=502, body=echo, count=None)
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_attempts=2)
    with pytest.raises(RetryableError) as info:
        conn.read("contacts", "email", ["a@example.com"], [])
    text = "".join(traceback.format_exception(info.value))
    assert token not in text and "[redacted]" in str(info.value)
    results = conn.upsert("contacts", "email", [("a@example.com", {})])
    assert not results[0].ok and token not in (results[0].message or "")
    fault_400 = {"status": "error", "category": "VALIDATION_ERROR", "message": f"bad token {token}"}
    sandbox_clean.admin("hubspot", "DELETE", "faults")
    fault(sandbox_clean, kind="status", status=400, body=fault_400, count=1, path="properties")
    with pytest.raises(CrmError) as rejected:
        conn.describe("contacts")
    assert token not in "".join(traceback.format_exception(rejected.value))


def test_retry_after_past_the_cap_is_not_waited_out(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_retry_after=10)
    fault(sandbox_clean, kind="status", status=429, body=RATE_LIMIT_429, headers={"Retry-After": "3600"},
          path="batch/upsert", count=None)
    results = conn.upsert("contacts", "email", [(f"r{i}@example.com", {}) for i in range(150)])
    assert len(results) == 150 and {r.error_code for r in results} == {"rate_limited"}
    message = results[0].message or ""
    assert "3600 s" in message and "sync.max_retry_after_seconds (10 s)" in message
    assert clock.sleeps == []  # not an hour, not a second
    assert server_calls(sandbox_clean, "batch/upsert") == 1  # the second batch is not sent into the same wall
    fault(sandbox_clean, kind="status", status=429, body=RATE_LIMIT_429, headers={"Retry-After": "3600"},
          path="batch/read", count=None)
    with pytest.raises(RateLimited) as info:
        conn.read("contacts", "email", ["r0@example.com"], [])
    assert info.value.code == "rate_limited" and clock.sleeps == []


def test_retry_after_up_to_the_cap_is_honoured(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_retry_after=10)
    fault(sandbox_clean, kind="status", status=429, body=RATE_LIMIT_429, headers={"Retry-After": "10"},
          path="batch/upsert", count=1)
    assert conn.upsert("contacts", "email", [("w@example.com", {})])[0].ok
    assert clock.sleeps == [10.0]


def test_a_refused_connection_fails_fast_and_says_where_and_what_to_check() -> None:
    port = closed_port()
    secret = "SECRET-TOKEN-c0ffee-0123456789"
    conn = HubSpotConnector(make_client(HubSpotCredentials(access_token=secret, base_url=f"http://127.0.0.1:{port}")))
    started = time.monotonic()
    with pytest.raises(ConnectionFailed) as info:
        conn.read("contacts", "email", ["a@example.com"], [])
    assert time.monotonic() - started < 5  # the real sleep: two attempts, one short backoff
    text = str(info.value)
    assert text.startswith(f"hubspot: POST /crm/v3/objects/contacts/batch/read: could not connect to "
                           f"http://127.0.0.1:{port} (connection refused), tried 2 times; a read: nothing was changed")
    assert "check HUBSPOT_BASE_URL" in text and text.count("CONNECTION_ERROR") == 1
    assert conn.calls.reads == 2
    assert secret not in "".join(traceback.format_exception(info.value))
    results = conn.upsert("contacts", "email", [("u@example.com", {})])
    assert results[0].error_code == "CONNECTION_ERROR"
    assert "a write that never reached the CRM: nothing was applied" in (results[0].message or "")


def test_a_token_that_cannot_be_a_header_never_reaches_the_error_text() -> None:
    secret = "SECRET-TOKEN-c0ffee\r\nX-Injected: 1"
    conn = HubSpotConnector(make_client(HubSpotCredentials(access_token=secret,
                                                           base_url=f"http://127.0.0.1:{closed_port()}")))
    with pytest.raises(CrmError) as info:
        conn.read("contacts", "email", ["a@example.com"], [])
    assert info.value.code == "INVALID_TOKEN" and "HUBSPOT_ACCESS_TOKEN" in str(info.value)
    assert "SECRET-TOKEN" not in "".join(traceback.format_exception(info.value))


def test_an_echoed_bearer_token_is_scrubbed(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    token = sandbox_clean.token
    fault(sandbox_clean, kind="status", status=502, body={"status": "error", "message": "Bad gateway"},
          echo_authorization=True, count=None)
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_attempts=2)
    with pytest.raises(RetryableError) as info:
        conn.read("contacts", "email", ["a@example.com"], [])
    text = "".join(traceback.format_exception(info.value))
    assert token not in text and "Authorization: Bearer [redacted]" in str(info.value)
