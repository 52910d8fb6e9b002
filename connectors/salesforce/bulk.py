"""Salesforce Bulk API 2.0: large upserts and updates as ingest jobs, results joined back to records.

One job per upload-sized chunk of rows: the CSV is built row by row and measured in bytes as it
is built, and a job is cut before its upload would pass the 100 MB cap (:data:`MAX_BULK_CSV_BYTES`),
whatever the number of records. Create, upload, close as one unit (started again whole after a
transient failure), then polls until the job ends, and
its successful, failed and unprocessed results matched back to the inputs on the key column.
Locked rows go again in a new job, after backoff.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from connectors.crm import RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.salesforce.transport import CRM, RETRYABLE_RECORD_CODES, SalesforceTransport
from connectors.salesforce.wire import InvalidValue, csv_text, parse_bulk_error, parse_csv, to_csv_cell

#: Bulk API 2.0 accepts 100 MB of CSV a job (150 MB once base64-encoded on their side).
MAX_BULK_CSV_BYTES = 100_000_000
#: Give up waiting for one Bulk job after this much (slept) time; its records fail as unknown.
BULK_JOB_TIMEOUT = 3600.0
MAX_BULK_POLL_INTERVAL = 10.0


class SalesforceBulk(SalesforceTransport):
    """Writes through Bulk API 2.0 ingest jobs."""

    #: The most CSV bytes one job's upload carries (Salesforce's cap; an instance may lower it).
    bulk_csv_limit = MAX_BULK_CSV_BYTES

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
        total = len(rows)
        self._report("write", sobject, 0, total)
        while rows:
            outcome: dict[int, RecordResult] = {}
            for job_rows, data in _jobs_by_size(rows, external_id_field or "Id", self.bulk_csv_limit):
                outcome.update(self._bulk_job(sobject, external_id_field, job_rows, keys, data))
                if attempt == 1:  # locked rows sent again are not progress
                    self._report("write", sobject, len(outcome), total)
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
        data: bytes | None = None,
    ) -> dict[int, RecordResult]:
        key_field = external_id_field or "Id"
        if data is None:
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
                delay = self._next_wait(attempt, exc)
                if delay is None:
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
            info = self._wait_for_job(job_id, sobject, len(rows))
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
        joined = _join_bulk_results(rows, keys, key_field, successes, failures, unprocessed, job_error,
                                    upsert=external_id_field is not None)
        return {i: replace(r, message=self._scrub(r.message)) if r.message else r for i, r in joined.items()}

    def _wait_for_job(self, job_id: str, label: str, rows: int) -> dict[str, Any]:
        """Poll the job until it ends; a poll that finds records processed reports ``bulk`` progress.

        ``numberRecordsProcessed`` is part of the job's info (Get Information About an Ingest Job,
        https://developer.salesforce.com/docs/platform/api-asynch/guide/get-job-info.html). A poll
        finding none processed yet reports nothing: only a call's first event has ``done == 0``.
        """
        delay = self.backoff_base
        waited = 0.0
        self._report("bulk", label, 0, rows)
        while True:
            self._sleep(delay)
            waited += delay
            info = self._retrying(partial(self._get_json, f"jobs/ingest/{job_id}"))
            try:
                processed = int(info.get("numberRecordsProcessed") or 0)
            except (TypeError, ValueError):
                processed = 0
            if processed > 0:
                self._report("bulk", label, min(processed, rows), rows)
            if info.get("state") in ("JobComplete", "Failed", "Aborted"):
                return dict(info)
            if waited >= BULK_JOB_TIMEOUT:
                raise CrmError(f"Bulk job {job_id} still {info.get('state')} after {waited:.0f}s; "
                               "its records are left unconfirmed", crm=CRM, code="BULK_JOB_TIMEOUT")
            delay = min(MAX_BULK_POLL_INTERVAL, max(delay * 2, 0.1))

    def _text(self, method: str, path: str) -> str:
        return self._retrying(lambda: self._request(method, path, accept="text/csv").text)

    def _abort_quietly(self, job_id: str) -> None:
        try:
            self._request("PATCH", f"jobs/ingest/{job_id}", json_body={"state": "Aborted"})
        except (AuthenticationError, ApiLimitExhausted):
            raise
        except CrmError:
            pass  # best effort: an open job Salesforce never hears from is discarded after a day


def _columns(rows: list[dict[str, str]], key_field: str) -> list[str]:
    names: dict[str, None] = {key_field: None}
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def _jobs_by_size(rows: list[tuple[int, dict[str, str]]], key_field: str, limit: int
                  ) -> Iterator[tuple[list[tuple[int, dict[str, str]]], bytes]]:
    """Rows cut into jobs, each with its CSV upload, every upload at most ``limit`` bytes.

    The columns are those of all the rows (an empty cell leaves a field as it is, in Bulk API 2.0);
    each row is written as CSV and measured in UTF-8 bytes as it is added, so the cut is exact.
    A row that alone would not fit still goes, alone, and Salesforce answers for it.
    """
    columns = _columns([r for _, r in rows], key_field)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def line(cells: list[str]) -> bytes:
        buf.seek(0)
        buf.truncate()
        writer.writerow(cells)
        return buf.getvalue().encode("utf-8")

    header = line(columns)
    chunk: list[tuple[int, dict[str, str]]] = []
    parts: list[bytes] = [header]
    size = len(header)
    for item in rows:
        encoded = line([item[1].get(c, "") for c in columns])
        if chunk and size + len(encoded) > limit:
            yield chunk, b"".join(parts)
            chunk, parts, size = [], [header], len(header)
        chunk.append(item)
        parts.append(encoded)
        size += len(encoded)
    if chunk:
        yield chunk, b"".join(parts)


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
