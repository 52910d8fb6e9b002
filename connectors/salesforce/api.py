"""The Salesforce connector: describe, custom fields, keyed reads and idempotent batched writes.

What the sync engine gets from here, and why it is built this way:

- **One HTTP path.** Every call goes through :meth:`SalesforceConnector._request` on the
  simple-salesforce client's own ``requests`` session (its TLS settings, instance URL and
  bearer session). We do not go through the SDK's per-resource methods because their
  exceptions keep only the status and body: ``Retry-After`` and ``Sforce-Limit-Info`` —
  which decide whether and when to retry — would be lost. Every call is counted by the
  transport wrapper of :func:`connectors.salesforce.client.count_calls`, dropped ones included.
- **Retries only where repeating is harmless**: reads, upserts keyed on an external id and
  updates by Id. A repeated upsert after a lost response finds the record the first attempt
  created and updates it, so it cannot duplicate. We retry on 429, 5xx, connection errors
  and per-record ``UNABLE_TO_LOCK_ROW`` (only the locked records are re-sent), with
  exponential backoff and jitter, honouring ``Retry-After``, at most ``max_attempts`` tries.
- **Per-record outcomes, never a sunk batch.** sObject Collections run with
  ``allOrNone: false``; each record's error becomes a :class:`RecordResult`. Records we
  cannot even send (no key, a value with no wire form) fail alone before any call.
- **Stops that are not retried**: 401 → :class:`AuthenticationError`; the daily allocation
  spent (403 ``REQUEST_LIMIT_EXCEEDED``) → :class:`ApiLimitExhausted`. Both are raised
  mid-write too: further calls could only fail the same way.
- **Calls per record**: collections carry 200 records a call; at ``bulk_threshold`` records
  and above, one Bulk API 2.0 job (create, upload, close, polls, results) carries them all.

Error messages are built from the HTTP status, Salesforce's error code and its message,
never from request objects, so the bearer token cannot leak into logs.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce

from connectors.crm import ApiCalls, FieldSpec, ObjectSchema, RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.salesforce.client import count_calls
from connectors.salesforce.soql import check_identifier, in_queries, select_fields, unique
from connectors.salesforce.wire import (
    InvalidValue,
    csv_text,
    custom_field_metadata,
    error_detail,
    field_info,
    parse_bulk_error,
    parse_csv,
    parse_limit_info,
    parse_retry_after,
    to_csv_cell,
    to_wire,
)

T = TypeVar("T")

CRM = "salesforce"
#: sObject Collections take at most 200 records a call.
COLLECTION_SIZE = 200
#: Per-record errors that are about contention, not the data: retrying the record can succeed.
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
#: A ``Retry-After`` longer than this is not waited out inside a sync: the records fail as
#: retryable and the next run picks them up, instead of a run hanging for an hour.
MAX_RETRY_AFTER = 300.0
#: Connect / read timeouts. Salesforce itself times a REST call out after 10 minutes.
REQUEST_TIMEOUT = (10.0, 600.0)
#: Bulk API 2.0 accepts 100 MB of CSV a job (150 MB once base64-encoded on their side).
MAX_BULK_CSV_BYTES = 100_000_000
#: Give up waiting for one Bulk job after this much (slept) time; its records fail as unknown.
BULK_JOB_TIMEOUT = 3600.0
MAX_BULK_POLL_INTERVAL = 10.0
#: How many times one 200-record call refused as a whole (HTTP 400) may be halved to isolate
#: the records that caused it: enough for a few bad records, bounded if every record is bad.
MAX_SPLITS = 16
_DUPLICATE_FIELD_CODES = frozenset({"DUPLICATE_DEVELOPER_NAME", "DUPLICATE_VALUE"})


class SalesforceConnector:
    """Talks to one Salesforce org through a simple-salesforce client.

    ``calls`` counts every HTTP attempt made through the client's session (reads vs writes,
    by endpoint) — retries, pages and Bulk polls included, and calls other code makes with
    the same client too, since all of them spend the org's allocation. Passing the
    :class:`ApiCalls` already given to ``make_client(…, calls=…)`` counts each call once.
    ``sleep`` is injectable so tests can observe backoff without waiting.
    """

    crm = CRM

    def __init__(
        self,
        client: Salesforce,
        *,
        calls: ApiCalls | None = None,
        bulk_threshold: int = 2000,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if bulk_threshold < 1:
            raise ValueError("bulk_threshold must be at least 1")
        self.sf = client
        self.calls = count_calls(client.session, calls if calls is not None else ApiCalls())
        self.bulk_threshold = bulk_threshold
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._random = random.Random()
        self._schemas: dict[str, ObjectSchema] = {}
        self._api_usage: tuple[int, int] | None = None

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` daily API requests, from the last ``Sforce-Limit-Info`` header seen."""
        return self._api_usage

    # -- schema --------------------------------------------------------------------------

    def describe(self, sobject: str, *, refresh: bool = False) -> ObjectSchema:
        """Fields of ``sobject``; one ``GET sobjects/{sobject}/describe`` per object per connector."""
        check_identifier(sobject, "object name")
        if not refresh and sobject in self._schemas:
            return self._schemas[sobject]
        body = self._retrying(partial(self._get_json, f"sobjects/{sobject}/describe"))
        fields = {str(f["name"]): field_info(f) for f in body.get("fields") or []}
        schema = ObjectSchema(object_type=str(body.get("name") or sobject), fields=fields)
        self._schemas[sobject] = schema
        return schema

    def create_fields(self, sobject: str, specs: list[FieldSpec]) -> list[str]:
        """Create the custom fields of ``specs`` that describe does not list; return the names created.

        Idempotent: fields already there cost no call at all (the describe is cached). A
        field Salesforce reports as a duplicate exists already — typically hidden from the
        integration user by field-level security — and is not reported as created.
        """
        check_identifier(sobject, "object name")
        todo: dict[str, FieldSpec] = {}
        for spec in specs:
            check_identifier(spec.name, "field name")
            if not spec.name.endswith("__c"):
                raise ValueError(f"{spec.name}: custom field API names end in __c")
            custom_field_metadata(spec)  # refuse unsupported kinds before creating anything
            todo.setdefault(spec.name.lower(), spec)
        existing = {name.lower() for name in self.describe(sobject).fields}
        missing = [spec for key, spec in todo.items() if key not in existing]
        if not missing:
            return []
        created: list[str] = []
        try:
            for spec in missing:
                body = {
                    "FullName": f"{sobject}.{spec.name}",
                    "Metadata": custom_field_metadata(spec),
                }
                if self._create_custom_field(body):
                    created.append(spec.name)
        finally:
            self.describe(sobject, refresh=True)
        return created

    def _create_custom_field(self, body: dict[str, Any]) -> bool:
        """POST one CustomField; True if this call (or a lost earlier attempt of it) created it."""
        attempt = 1
        while True:
            try:
                self._request("POST", "tooling/sobjects/CustomField", json_body=body)
                return True
            except RetryableError as exc:
                self._backoff_or_raise(attempt, exc)
                attempt += 1
            except (AuthenticationError, ApiLimitExhausted):
                raise
            except CrmError as exc:
                if exc.code in _DUPLICATE_FIELD_CODES:
                    # After a lost response the first attempt may have created it.
                    return attempt > 1
                raise

    # -- reads ---------------------------------------------------------------------------

    def find(
        self, sobject: str, match_field: str, values: list[str], fields: list[str], *, where: str | None = None
    ) -> list[dict[str, Any]]:
        """Records of ``sobject`` whose ``match_field`` is one of ``values``, with ``fields`` (+ Id).

        ``where`` is a trusted SOQL condition written by our code (quote any value in it
        with ``soql.quote``); it is ANDed in parentheses. Values are sent once each, quoted
        by ``format_soql``, in as many queries as needed to keep every URL within budget,
        and every page of each query is followed.
        """
        check_identifier(sobject, "object name")
        check_identifier(match_field, "field name")
        columns = select_fields(fields, "Id", match_field)
        wanted = unique(str(v) for v in values if v is not None)
        out: list[dict[str, Any]] = []
        query_url = self.sf.base_url + "query/"
        for soql in in_queries(query_url, sobject, match_field, wanted, columns, where=where):
            out.extend(self._query_all(soql))
        return out

    def _query_all(self, soql: str) -> Iterator[dict[str, Any]]:
        page = self._retrying(lambda: self._json(self._request("GET", "query/", params={"q": soql})))
        while True:
            for record in page.get("records") or []:
                yield _without_attributes(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._retrying(partial(self._get_json, str(next_url)))

    # -- writes --------------------------------------------------------------------------

    def upsert(
        self, sobject: str, external_id_field: str, records: list[dict[str, Any]], keys: list[str]
    ) -> list[RecordResult]:
        """Create or update ``records`` matched on ``external_id_field``; results align with ``keys``.

        Safe to repeat: a record whose response was lost is found by its external id and
        updated. ``created`` is Salesforce's flag, so after such a retry a record the lost
        attempt created reports ``created=False``.
        """
        check_identifier(sobject, "object name")
        check_identifier(external_id_field, "field name")
        return self._write(sobject, records, keys, external_id_field)

    def update(self, sobject: str, records: list[dict[str, Any]], keys: list[str]) -> list[RecordResult]:
        """Update ``records`` by their ``Id``; results align with ``keys``."""
        check_identifier(sobject, "object name")
        return self._write(sobject, records, keys, None)

    def _write(
        self, sobject: str, records: list[dict[str, Any]], keys: list[str], external_id_field: str | None
    ) -> list[RecordResult]:
        if len(records) != len(keys):
            raise ValueError(f"{len(records)} records but {len(keys)} keys")
        results: list[RecordResult | None] = [None] * len(records)
        key_field = external_id_field or "Id"
        prepared: list[tuple[int, dict[str, Any]]] = []
        for i, record in enumerate(records):
            try:
                prepared.append((i, _prepare(record, key_field)))
            except InvalidValue as exc:
                results[i] = RecordResult(keys[i], False, error_code=exc.code, message=str(exc), fields=(exc.field,))
        if len(records) >= self.bulk_threshold:
            self._write_bulk(sobject, external_id_field, prepared, keys, results)
        elif prepared:
            self._write_collections(sobject, external_id_field, prepared, keys, results)
        return [
            r if r is not None else RecordResult(keys[i], False, error_code="NO_RESULT",
                                                 message="Salesforce returned no result for this record")
            for i, r in enumerate(results)
        ]

    def _write_collections(
        self,
        sobject: str,
        external_id_field: str | None,
        prepared: list[tuple[int, dict[str, Any]]],
        keys: list[str],
        results: list[RecordResult | None],
    ) -> None:
        for start in range(0, len(prepared), COLLECTION_SIZE):
            self._write_chunk(sobject, external_id_field, prepared[start : start + COLLECTION_SIZE], keys, results)

    def _write_chunk(
        self,
        sobject: str,
        external_id_field: str | None,
        chunk: list[tuple[int, dict[str, Any]]],
        keys: list[str],
        results: list[RecordResult | None],
    ) -> None:
        """One sObject Collections call of up to 200 records, and whatever it takes to settle each.

        - transient failure of the call (429, 5xx, no answer): the same records again, after backoff;
        - per-record ``UNABLE_TO_LOCK_ROW``: only those records again, after backoff;
        - the call refused as a whole (400: one value Salesforce cannot even parse sinks the
          request): records carrying an unknown field fail; otherwise the batch is halved until
          the bad records stand alone (within ``MAX_SPLITS``), so the good ones still land.
        """
        path = f"composite/sobjects/{sobject}/{external_id_field}" if external_id_field else "composite/sobjects"
        upsert = external_id_field is not None
        work: deque[tuple[list[tuple[int, dict[str, Any]]], int]] = deque([(chunk, 1)])
        splits_left = MAX_SPLITS
        while work:
            batch, attempt = work.popleft()
            body = {"allOrNone": False,
                    "records": [_collection_record(sobject, p, external_id_field) for _, p in batch]}
            try:
                items = self._json(self._request("PATCH", path, json_body=body))
                if not isinstance(items, list) or len(items) != len(batch):
                    raise CrmError(f"PATCH {path}: expected {len(batch)} results, got a different answer",
                                   crm=CRM, code="BAD_RESPONSE")
            except RetryableError as exc:
                delay = self._delay(attempt, exc.retry_after)
                if attempt >= self.max_attempts or delay is None:
                    self._fail(batch, keys, results, exc, attempts=attempt)
                else:
                    self._sleep(delay)
                    work.appendleft((batch, attempt + 1))
                continue
            except (AuthenticationError, ApiLimitExhausted):
                raise
            except CrmError as exc:
                if exc.status != 400 or len(batch) == 1 or exc.code == "BAD_RESPONSE":
                    self._fail(batch, keys, results, exc, attempts=attempt)
                    continue
                column = _unknown_column(str(exc)) if exc.code == "INVALID_FIELD" else None
                if column is not None:
                    carrying = [(i, p) for i, p in batch if column in (k.lower() for k in p)]
                    rest = [(i, p) for i, p in batch if column not in (k.lower() for k in p)]
                    self._fail(carrying or batch, keys, results, exc, attempts=attempt)
                    if carrying and rest:
                        work.appendleft((rest, attempt))
                elif splits_left > 0:
                    splits_left -= 1
                    half = len(batch) // 2
                    work.appendleft((batch[half:], attempt))
                    work.appendleft((batch[:half], attempt))
                else:
                    self._fail(batch, keys, results, exc, attempts=attempt)
                continue
            retry: list[tuple[int, dict[str, Any]]] = []
            for (i, payload), item in zip(batch, items, strict=True):
                result = self._record_result(keys[i], item, upsert=upsert)
                results[i] = result
                if not result.ok and result.error_code in RETRYABLE_RECORD_CODES:
                    retry.append((i, payload))
            if retry and attempt < self.max_attempts:
                self._sleep(self._delay(attempt, None) or 0.0)
                work.appendleft((retry, attempt + 1))

    def _record_result(self, key: str, item: Any, *, upsert: bool) -> RecordResult:
        if not isinstance(item, Mapping):
            return RecordResult(key, False, error_code="BAD_RESPONSE", message="unexpected result shape")
        if item.get("success"):
            return RecordResult(key, True, crm_id=item.get("id"), created=bool(upsert and item.get("created")))
        errors = [e for e in item.get("errors") or [] if isinstance(e, Mapping)]
        code = str(errors[0].get("statusCode") or "UNKNOWN_ERROR") if errors else "UNKNOWN_ERROR"
        message = "; ".join(str(e.get("message") or "") for e in errors if e.get("message"))
        fields: list[str] = []
        for e in errors:
            fields += [str(f) for f in e.get("fields") or [] if str(f) not in fields]
        return RecordResult(key, False, crm_id=item.get("id"), error_code=code,
                            message=self._scrub(message) or None, fields=tuple(fields))

    def _fail(
        self,
        pending: list[tuple[int, dict[str, Any]]],
        keys: list[str],
        results: list[RecordResult | None],
        exc: CrmError,
        *,
        attempts: int,
    ) -> None:
        code = exc.code or (f"HTTP_{exc.status}" if exc.status else "CRM_ERROR")
        message = str(exc)
        if isinstance(exc, RetryableError) and attempts > 1:
            message += f" (gave up after {attempts} attempts)"
        for i, _ in pending:
            results[i] = RecordResult(keys[i], False, error_code=code, message=self._scrub(message))

    # -- Bulk API 2.0 --------------------------------------------------------------------

    def _write_bulk(
        self,
        sobject: str,
        external_id_field: str | None,
        prepared: list[tuple[int, dict[str, Any]]],
        keys: list[str],
        results: list[RecordResult | None],
    ) -> None:
        """Write through Bulk API 2.0 jobs; locked records go again in a new job, after backoff."""
        rows: list[tuple[int, dict[str, str]]] = []
        for i, record in prepared:
            try:
                rows.append((i, {f: to_csv_cell(f, v) for f, v in record.items()}))
            except InvalidValue as exc:
                results[i] = RecordResult(keys[i], False, error_code="INVALID_VALUE", message=str(exc),
                                          fields=(exc.field,))
        attempt = 1
        while rows:
            outcome: dict[int, RecordResult] = {}
            for job_rows in _split_by_size(rows):
                outcome.update(self._bulk_job(sobject, external_id_field, job_rows, keys))
            retry = []
            for i, row in rows:
                result = outcome.get(i)
                if result is None:
                    continue
                results[i] = result
                if not result.ok and result.error_code in RETRYABLE_RECORD_CODES:
                    retry.append((i, row))
            if retry and attempt < self.max_attempts:
                self._sleep(self._delay(attempt, None) or 0.0)
                attempt += 1
                rows = retry
            else:
                rows = []

    def _bulk_job(
        self,
        sobject: str,
        external_id_field: str | None,
        rows: list[tuple[int, dict[str, str]]],
        keys: list[str],
    ) -> dict[int, RecordResult]:
        key_field = external_id_field or "Id"
        columns = _columns([r for _, r in rows], key_field)
        data = csv_text(columns, [[row.get(c, "") for c in columns] for _, row in rows]).encode("utf-8")
        spec: dict[str, Any] = {
            "object": sobject, "operation": "upsert" if external_id_field else "update",
            "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA",
        }
        if external_id_field:
            spec["externalIdFieldName"] = external_id_field

        def failed(exc: CrmError, attempts: int = 1) -> dict[int, RecordResult]:
            out: list[RecordResult | None] = [None] * len(keys)
            self._fail([(i, {}) for i, _ in rows], keys, out, exc, attempts=attempts)
            return {i: r for i, r in enumerate(out) if r is not None}

        # Create, upload and close are one unit: if any step fails transiently the job is
        # aborted and the whole unit starts again (an upsert/update job repeats harmlessly),
        # rather than re-uploading into a job whose state we no longer know.
        attempt = 1
        while True:
            job_id: str | None = None
            try:
                job = self._json(self._request("POST", "jobs/ingest", json_body=spec))
                job_id = str(job["id"])
                self._request("PUT", f"jobs/ingest/{job_id}/batches", data=data, content_type="text/csv")
                self._request("PATCH", f"jobs/ingest/{job_id}", json_body={"state": "UploadComplete"})
                break
            except RetryableError as exc:
                if job_id:
                    self._abort_quietly(job_id)
                delay = self._delay(attempt, exc.retry_after)
                if attempt >= self.max_attempts or delay is None:
                    return failed(exc, attempt)
                self._sleep(delay)
                attempt += 1
            except (AuthenticationError, ApiLimitExhausted):
                raise
            except CrmError as exc:
                if job_id:
                    self._abort_quietly(job_id)
                return failed(exc)
            except (KeyError, TypeError) as exc:
                return failed(CrmError(f"POST jobs/ingest: unexpected answer ({exc!r})", crm=CRM, code="BAD_RESPONSE"))

        try:
            info = self._wait_for_job(job_id)
            state = str(info.get("state"))
            successes = parse_csv(self._text("GET", f"jobs/ingest/{job_id}/successfulResults/"))
            failures = parse_csv(self._text("GET", f"jobs/ingest/{job_id}/failedResults/"))
            unprocessed: list[dict[str, str]] = []
            if state != "JobComplete" or len(successes) + len(failures) < len(rows):
                unprocessed = parse_csv(self._text("GET", f"jobs/ingest/{job_id}/unprocessedrecords/"))
        except (AuthenticationError, ApiLimitExhausted):
            raise
        except CrmError as exc:
            return failed(exc)
        job_error = str(info.get("errorMessage") or f"Bulk job ended {state}")
        return _join_bulk_results(rows, keys, key_field, successes, failures, unprocessed, job_error,
                                  upsert=external_id_field is not None)

    def _wait_for_job(self, job_id: str) -> dict[str, Any]:
        delay = self.backoff_base
        waited = 0.0
        while True:
            self._sleep(delay)
            waited += delay
            info = self._retrying(partial(self._get_json, f"jobs/ingest/{job_id}"))
            if info.get("state") in ("JobComplete", "Failed", "Aborted"):
                return dict(info)
            if waited >= BULK_JOB_TIMEOUT:
                raise CrmError(f"Bulk job {job_id} still {info.get('state')} after {waited:.0f}s; "
                               "its records are left unconfirmed", crm=CRM, code="BULK_JOB_TIMEOUT")
            delay = min(MAX_BULK_POLL_INTERVAL, max(delay * 2, 0.1))

    def _get_json(self, path: str) -> Any:
        return self._json(self._request("GET", path))

    def _text(self, method: str, path: str) -> str:
        return self._retrying(lambda: self._request(method, path, accept="text/csv").text)

    def _abort_quietly(self, job_id: str) -> None:
        try:
            self._request("PATCH", f"jobs/ingest/{job_id}", json_body={"state": "Aborted"})
        except (AuthenticationError, ApiLimitExhausted):
            raise
        except CrmError:
            pass  # best effort: an open job Salesforce never hears from is discarded after a day

    # -- HTTP ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> requests.Response:
        """One HTTP call; any answer but 2xx becomes an error of our tree, never the SDK's."""
        if path.startswith("/"):
            url = f"https://{self.sf.sf_instance}{path}"
        else:
            url = self.sf.base_url + path
        what = f"{method} {path.split('?')[0]}"
        headers = {"Authorization": f"Bearer {self.sf.session_id}", "Accept": accept}
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            resp = self.sf.session.request(method, url, params=params, data=data, headers=headers,
                                           timeout=REQUEST_TIMEOUT)
        except requests.exceptions.SSLError as exc:
            raise CrmError(f"{what}: TLS verification failed ({type(exc).__name__}); check SALESFORCE_CA_BUNDLE",
                           crm=CRM, code="TLS_ERROR") from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise RetryableError(
                f"{what}: no answer ({type(exc).__name__}); the call may or may not have been applied",
                crm=CRM, code="CONNECTION_ERROR",
            ) from exc
        usage = parse_limit_info(resp.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self._api_usage = usage
        if resp.status_code < 300:
            return resp
        raise self._error(what, resp)

    def _error(self, what: str, resp: requests.Response) -> CrmError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        code, message = error_detail(body)
        message = self._scrub(message) or resp.reason or "no message"
        status = resp.status_code
        if status == 401:
            return AuthenticationError(
                f"{what}: Salesforce refused the session ({message}); check SALESFORCE_ACCESS_TOKEN "
                "or the log-in credentials",
                crm=CRM, status=status, code=code or "INVALID_SESSION_ID",
            )
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            if "concurrent" in message.lower():
                # Too many long-running calls at once: a different limit, and it clears by itself.
                return RetryableError(f"{what}: {message}", crm=CRM, status=status, code=code)
            used = f"{self._api_usage[0]}/{self._api_usage[1]}" if self._api_usage else "usage unknown"
            return ApiLimitExhausted(
                f"daily API allocation spent ({used} from Sforce-Limit-Info); writes stop here and "
                "resume once the rolling 24-hour window frees calls",
                crm=CRM, status=status, code=code,
            )
        if status == 429 or status >= 500:
            return RetryableError(f"{what}: {message}", crm=CRM, status=status, code=code,
                                  retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        return CrmError(f"{what}: {message}", crm=CRM, status=status, code=code)

    def _json(self, resp: requests.Response) -> Any:
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError as exc:
            raise CrmError(f"{resp.request.method} answer is not JSON", crm=CRM, status=resp.status_code,
                           code="BAD_RESPONSE") from exc

    def _scrub(self, text: str) -> str:
        token = getattr(self.sf, "session_id", None)
        return text.replace(token, "[redacted]") if token and text else text

    # -- retry policy --------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; ``None``: the server asks for too long.

        Exponential (``backoff_base * 2**(attempt-1)``, capped at ``max_backoff``) with
        jitter over its upper half, so parallel writers that failed together do not retry
        together; never shorter than the server's ``Retry-After``.
        """
        ceiling = min(self.max_backoff, self.backoff_base * 2 ** (attempt - 1))
        delay = self._random.uniform(ceiling / 2, ceiling)
        if retry_after is None:
            return delay
        if retry_after > MAX_RETRY_AFTER:
            return None
        return max(retry_after, delay)

    def _backoff_or_raise(self, attempt: int, exc: RetryableError) -> None:
        delay = self._delay(attempt, exc.retry_after)
        if attempt >= self.max_attempts or delay is None:
            raise RetryableError(
                f"{str(exc).removeprefix(CRM + ': ')} (gave up after {attempt} attempts)",
                crm=CRM, status=exc.status, code=exc.code, retry_after=exc.retry_after,
            ) from exc
        self._sleep(delay)

    def _retrying(self, call: Callable[[], T]) -> T:
        """Run an idempotent call, retrying transient failures; raise the last one when out of tries."""
        attempt = 1
        while True:
            try:
                return call()
            except RetryableError as exc:
                self._backoff_or_raise(attempt, exc)
                attempt += 1


# -- helpers -------------------------------------------------------------------------------


def _prepare(record: Mapping[str, Any], key_field: str) -> dict[str, Any]:
    """Validated field names and wire values; the key field first. Raises :class:`InvalidValue`."""
    out: dict[str, Any] = {}
    key_value = None
    for name, value in record.items():
        try:
            check_identifier(name, "field name")
        except ValueError as exc:
            raise InvalidValue(str(name), "not a valid Salesforce field name", code="INVALID_FIELD") from exc
        if name.lower() == key_field.lower():
            key_value = to_wire(key_field, value)
            continue
        out[name] = to_wire(name, value)
    if key_value is None or key_value == "":
        raise InvalidValue(key_field, "the record has no value for its key field", code="MISSING_KEY")
    return {key_field: key_value, **out}


def _collection_record(sobject: str, payload: dict[str, Any], external_id_field: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": sobject}}
    if external_id_field is None:
        # Collections updates carry the record id as "id" (field names are case-insensitive).
        record["id"] = payload["Id"]
        record.update((k, v) for k, v in payload.items() if k != "Id")
    else:
        record.update(payload)
    return record


_NO_SUCH_COLUMN = re.compile(r"No such column '([A-Za-z0-9_]+)'")


def _unknown_column(message: str) -> str | None:
    """The field named by ``INVALID_FIELD: No such column 'X__c' on sobject of type Lead``, lower-cased."""
    m = _NO_SUCH_COLUMN.search(message)
    return m.group(1).lower() if m else None


def _without_attributes(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_attributes(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_without_attributes(v) for v in value]
    return value


def _columns(rows: list[dict[str, str]], key_field: str) -> list[str]:
    names: dict[str, None] = {key_field: None}
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def _split_by_size(rows: list[tuple[int, dict[str, str]]]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    """Rows cut into jobs whose CSV stays under the Bulk upload cap (a rough, generous estimate)."""
    chunk: list[tuple[int, dict[str, str]]] = []
    size = 0
    for item in rows:
        row_bytes = sum(len(v.encode("utf-8")) + 3 for v in item[1].values()) + 1
        if chunk and size + row_bytes > MAX_BULK_CSV_BYTES - 1_000_000:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += row_bytes
    if chunk:
        yield chunk


def _join_bulk_results(
    rows: list[tuple[int, dict[str, str]]],
    keys: list[str],
    key_field: str,
    successes: list[dict[str, str]],
    failures: list[dict[str, str]],
    unprocessed: list[dict[str, str]],
    job_error: str,
    *,
    upsert: bool,
) -> dict[int, RecordResult]:
    """Bulk results come back in no particular order: match them to inputs on the key column.

    Exact key match first, then case-insensitive (external ids are usually case-insensitive,
    and Salesforce may echo a normalised value); repeated keys are matched in input order.
    """
    exact: dict[str, deque[int]] = {}
    folded: dict[str, deque[int]] = {}
    for i, row in rows:
        value = row.get(key_field, "")
        exact.setdefault(value, deque()).append(i)
        folded.setdefault(value.lower(), deque()).append(i)
    taken: set[int] = set()

    def take(result_row: dict[str, str]) -> int | None:
        value = _get_ci(result_row, key_field)
        if value is None:
            return None
        for queue in (exact.get(value), folded.get(value.lower())):
            while queue:
                i = queue.popleft()
                if i not in taken:
                    taken.add(i)
                    return i
        return None

    out: dict[int, RecordResult] = {}
    for r in successes:
        j = take(r)
        if j is not None:
            out[j] = RecordResult(keys[j], True, crm_id=r.get("sf__Id") or None,
                                  created=upsert and (r.get("sf__Created") or "").lower() == "true")
    for r in failures:
        j = take(r)
        if j is not None:
            code, message, fields = parse_bulk_error(r.get("sf__Error", ""))
            out[j] = RecordResult(keys[j], False, crm_id=r.get("sf__Id") or None, error_code=code,
                                  message=message or None, fields=fields)
    for r in unprocessed:
        j = take(r)
        if j is not None:
            out[j] = RecordResult(keys[j], False, error_code="BULK_UNPROCESSED", message=job_error)
    for i, _ in rows:
        if i not in out:
            out[i] = RecordResult(keys[i], False, error_code="NO_RESULT",
                                  message=f"the Bulk job reported nothing for this record ({job_error})")
    return out


def _get_ci(row: Mapping[str, str], name: str) -> str | None:
    if name in row:
        return row[name]
    lowered = name.lower()
    for k, v in row.items():
        if k is not None and k.lower() == lowered:
            return v
    return None
