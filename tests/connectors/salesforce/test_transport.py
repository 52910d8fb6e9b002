"""The retry policy, arguments refused before any call, and errors: retries, the daily limit,
authentication, and the session token kept out of every error.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

import time
import traceback

import pytest
from simple_salesforce import Salesforce

from connectors.crm import ApiCalls, FieldSpec
from connectors.errors import (
    ApiLimitExhausted,
    AuthenticationError,
    ConnectionFailed,
    CrmError,
    RateLimited,
    RetryableError,
)
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import http_session
from tests.connectors.salesforce.helpers import KEY, UPSERT_ENDPOINT, _lead
from tests.network import closed_port


def _offline_connector(**kwargs: object) -> SalesforceConnector:
    from simple_salesforce import Salesforce

    client = Salesforce(instance_url="https://127.0.0.1:9", session_id="offline-token")
    return SalesforceConnector(client, **kwargs)  # type: ignore[arg-type]


def test_backoff_grows_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    conn = _offline_connector(backoff_base=0.5, max_backoff=4.0)
    for attempt in range(1, 10):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(20):
            delay = conn._delay(attempt, None)
            assert delay is not None and ceiling / 2 <= delay <= ceiling
    assert conn._delay(1, 7.0) == 7.0
    assert conn._delay(1, 3600.0) is None  # not waited out inside a run


def test_bad_arguments_are_refused_before_any_call() -> None:
    calls = ApiCalls()
    conn = _offline_connector(calls=calls)
    with pytest.raises(ValueError):
        conn.upsert("Lead", "Email", [{"Email": "a@x.io"}], [])
    with pytest.raises(ValueError):
        conn.upsert("Lead; DELETE", "Email", [], [])
    with pytest.raises(ValueError):
        conn.find("Lead", "Email OR Id != null", ["a"], ["Id"])
    with pytest.raises(ValueError):
        conn.create_fields("Lead", [FieldSpec("NoSuffix", "x", "string")])
    assert conn.find("Lead", "Email", [], ["Id"]) == []
    assert calls.total == 0


def test_429_retry_after_is_honoured(conn: SalesforceConnector, sandbox_clean, sleeps: list[float]) -> None:
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "GET", "path": "/query", "status": 429, "count": 1,
        "headers": {"Retry-After": "7"}, "body": [{"message": "slow down", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]})
    assert conn.find("Lead", "Email", ["a@b.io"], ["Email"]) == []
    assert sleeps == [7.0]
    assert conn.calls.by_endpoint == {"GET query": 2}


def test_reads_raise_retryable_when_attempts_run_out(sf, sandbox_clean, sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_attempts=3, sleep=sleeps.append)
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "GET", "path": "/query", "status": 500, "count": None})
    with pytest.raises(RetryableError) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    assert err.value.status == 500 and "3 attempts" in str(err.value)
    assert len(sleeps) == 2 and conn.calls.by_endpoint == {"GET query": 3}


def test_daily_limit_stops_with_a_clear_error(keyed: SalesforceConnector, sf, sandbox_clean) -> None:
    keyed.find("Lead", "Email", ["a@b.io"], ["Email"])
    used, total = keyed.api_usage or (0, 0)
    assert total > 0 and used > 0
    sandbox_clean.admin("salesforce", "POST", "config", {"daily_api_limit": used + 1})
    keyed.find("Lead", "Email", ["a@b.io"], ["Email"])  # the last call allowed
    with pytest.raises(ApiLimitExhausted) as err:
        keyed.upsert("Lead", KEY, [_lead("z@acme.io")], ["z"])
    text = str(err.value)
    assert "daily API allocation spent" in text and f"/{used + 1}" in text
    assert err.value.status == 403 and err.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert keyed.calls.by_endpoint[UPSERT_ENDPOINT] == 1  # not retried
    assert sf.session_id not in text


def test_wrong_token_is_an_authentication_error(sandbox_clean) -> None:
    from simple_salesforce import Salesforce

    from connectors.salesforce.client import http_session

    wrong = "00Dwrong!" + "x" * 40
    client = Salesforce(instance_url=sandbox_clean.salesforce_url, session_id=wrong,
                        session=http_session(sandbox_clean.ca_file))
    conn = SalesforceConnector(client, sleep=lambda s: None)
    with pytest.raises(AuthenticationError) as err:
        conn.describe("Lead")
    assert err.value.status == 401 and err.value.code == "INVALID_SESSION_ID"
    assert conn.calls.total == 1  # not retried
    for exc in _chain(err.value):
        assert wrong not in str(exc) and wrong not in repr(exc)
    with pytest.raises(AuthenticationError):
        conn.upsert("Lead", KEY, [_lead("w@acme.io")], ["w"])


def test_no_exception_text_carries_the_token(sf, sandbox_clean, sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_attempts=2, sleep=sleeps.append)
    token = sf.session_id
    caught: list[BaseException] = []
    for call in (
        lambda: conn.find("Lead", "Email", ["a@b.io"], ["Email"], where="Bogus__c = 1"),
        lambda: conn.describe("NoSuchObject"),
    ):
        with pytest.raises(CrmError) as err:
            call()
        caught.append(err.value)
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "drop_after_commit", "path": "/query", "count": None})
    with pytest.raises(RetryableError) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    caught.append(err.value)
    assert err.value.code == "CONNECTION_ERROR"
    for exc in caught:
        for e in _chain(exc):
            assert token not in str(e) and token not in repr(e)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in out:
        out.append(seen)
        seen = seen.__cause__ or seen.__context__
    return out


def _fault_429(sandbox, *, retry_after: str, method: str = "PATCH", path: str = "composite/sobjects",
               count: int | None = None) -> None:
    sandbox.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": method, "path": path, "status": 429, "count": count,
        "headers": {"Retry-After": retry_after},
        "body": [{"message": "slow down", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]})


def test_retry_after_past_the_cap_is_not_waited_out(keyed: SalesforceConnector, sf, sandbox_clean,
                                                    sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_retry_after=10, sleep=sleeps.append)
    _fault_429(sandbox_clean, retry_after="3600")
    results = conn.upsert("Lead", KEY, [_lead(f"r{i}@acme.io") for i in range(3)], ["r0", "r1", "r2"])
    assert [r.error_code for r in results] == ["rate_limited"] * 3
    assert sleeps == [] and conn.calls.by_endpoint == {UPSERT_ENDPOINT: 1}
    message = results[0].message or ""
    assert "3600 s" in message and "sync.max_retry_after_seconds (10 s)" in message
    _fault_429(sandbox_clean, retry_after="3600", method="GET", path="/query")
    with pytest.raises(RateLimited) as err:  # a read cannot fail per record: it raises
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    assert err.value.code == "rate_limited" and err.value.status == 429 and sleeps == []


def test_retry_after_up_to_the_cap_is_honoured(keyed: SalesforceConnector, sf, sandbox_clean,
                                               sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_retry_after=10, sleep=sleeps.append)
    _fault_429(sandbox_clean, retry_after="10", count=1)
    assert conn.upsert("Lead", KEY, [_lead("w@acme.io")], ["w"])[0].ok
    assert sleeps == [10.0]


def test_giving_up_names_the_status_and_code_once(sf, sandbox_clean) -> None:
    conn = SalesforceConnector(sf, max_attempts=1, sleep=lambda s: None)
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "GET", "path": "/query", "status": 500, "count": None,
        "body": [{"message": "boom", "errorCode": "X"}]})
    with pytest.raises(RetryableError) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    assert str(err.value) == "salesforce: GET query/: boom (gave up after 1 attempt) (500, X)"


def _unreachable(**kwargs: object) -> tuple[SalesforceConnector, int]:
    port = closed_port()
    client = Salesforce(instance_url=f"https://127.0.0.1:{port}", session_id="SECRET-TOKEN-c0ffee-0123456789",
                        session=http_session(None))
    return SalesforceConnector(client, **kwargs), port  # type: ignore[arg-type]


def test_a_refused_connection_fails_fast_and_says_where_and_what_to_check() -> None:
    conn, port = _unreachable()  # the real sleep: the bound on the wait is what is tested
    started = time.monotonic()
    with pytest.raises(ConnectionFailed) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    assert time.monotonic() - started < 5  # two attempts and one short backoff, not 15 s of silence
    text = str(err.value)
    assert text.startswith(f"salesforce: GET query/: could not connect to https://127.0.0.1:{port} "
                           "(connection refused), tried 2 times; a read: nothing was changed")
    assert "check SALESFORCE_INSTANCE_URL" in text and "proxy" in text
    assert text.count("CONNECTION_ERROR") == 1 and "?q=" not in text and "SELECT" not in text
    assert conn.calls.by_endpoint == {"GET query": 2}
    results = conn.upsert("Lead", KEY, [_lead("u@acme.io")], ["u"])
    assert results[0].error_code == "CONNECTION_ERROR"
    assert "a write that never reached the CRM: nothing was applied" in (results[0].message or "")


def test_a_write_whose_answer_is_lost_says_it_may_have_been_applied(keyed: SalesforceConnector, sf,
                                                                    sandbox_clean) -> None:
    conn = SalesforceConnector(sf, max_attempts=2, sleep=lambda s: None)
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "drop_after_commit", "method": "PATCH",
                                                         "path": "composite/sobjects", "count": None})
    result = conn.upsert("Lead", KEY, [_lead("lost@acme.io")], ["lost"])[0]
    assert result.error_code == "CONNECTION_ERROR"
    assert "no answer from https://127.0.0.1:" in (result.message or "")
    assert "it may or may not have been applied" in (result.message or "") and "tried 2 times" in (result.message or "")


def test_a_token_that_cannot_be_a_header_never_reaches_the_error_text() -> None:
    secret = "SECRET-TOKEN-c0ffee\n"
    client = Salesforce(instance_url=f"https://127.0.0.1:{closed_port()}", session_id=secret,
                        session=http_session(None))
    conn = SalesforceConnector(client, sleep=lambda s: None)
    with pytest.raises(CrmError) as err:
        conn.describe("Lead")
    assert err.value.code == "INVALID_TOKEN" and "SALESFORCE_ACCESS_TOKEN" in str(err.value)
    assert "SECRET-TOKEN" not in "".join(traceback.format_exception(err.value))


def test_a_server_echoing_the_bearer_token_is_scrubbed(keyed: SalesforceConnector, sf, sandbox_clean) -> None:
    token = sf.session_id
    conn = SalesforceConnector(sf, max_attempts=2, sleep=lambda s: None)
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "status", "status": 500, "path": "/query",
                                                         "count": None, "echo_authorization": True})
    with pytest.raises(RetryableError) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    text = "".join(traceback.format_exception(err.value))
    assert "Authorization: Bearer [redacted]" in text and token not in text
    sandbox_clean.admin("salesforce", "DELETE", "faults")
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "status": 400, "method": "PATCH", "path": "composite/sobjects", "count": None,
        "echo_authorization": True, "body": [{"errorCode": "JSON_PARSER_ERROR", "message": "bad"}]})
    results = conn.upsert("Lead", KEY, [_lead("e@acme.io"), _lead("f@acme.io")], ["e", "f"])
    assert {r.error_code for r in results} == {"JSON_PARSER_ERROR"}
    assert all(token not in (r.message or "") and "[redacted]" in (r.message or "") for r in results)
