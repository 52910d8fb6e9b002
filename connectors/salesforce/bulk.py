"""Salesforce Bulk API 2.0: large upserts and updates as ingest jobs, results joined back to records.

One job per upload-sized chunk of rows: each row is turned into its CSV line and written to a
temporary file as it is built, measured in bytes, and a job is cut before its upload would pass
the 100 MB cap (:data:`MAX_BULK_CSV_BYTES`), whatever the number of records. The upload streams
that file (``PUT …/batches`` takes one CSV body per job, at most 150 MB once base64-encoded on
Salesforce's side, so 100 MB raw: Bulk API 2.0 Developer Guide, "Upload Job Data",
developer.salesforce.com/docs/platform/api-asynch/guide/upload-job-data.html), and the file is kept
until the job's results are in, as that page advises. The SDK's own ``bulk2.upload_job_data`` takes
the CSV as one ``str`` and encodes it whole; going through our transport instead keeps memory
bounded by a row, not by a job: no list of CSV rows, no job-sized ``bytes``. Jobs run one after
the other, so at most one job's file (100 MB at most) is on the temporary disk (``TMPDIR``) at a time.

Create, upload, close as one unit (started again whole after a transient failure), then polls
until the job ends; its successful, failed and unprocessed results are read as streams and only
the columns needed to join them back (the key, ``sf__Id``, ``sf__Created``, ``sf__Error``) are
kept, matched to the inputs on the key column. Locked rows go again in a new job, after backoff.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import IO, Any

import requests

from connectors.crm import RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, ConnectionFailed, CrmError, RetryableError
from connectors.network import connection_failure, origin
from connectors.salesforce.transport import CRM, RETRYABLE_RECORD_CODES, URL_SETTING, SalesforceTransport
from connectors.salesforce.wire import InvalidValue, parse_bulk_error, prepare_record, to_csv_cell

#: Bulk API 2.0 accepts 100 MB of CSV a job (150 MB once base64-encoded on their side).
MAX_BULK_CSV_BYTES = 100_000_000
#: Give up waiting for one Bulk job after this much (slept) time; its records fail as unknown.
BULK_JOB_TIMEOUT = 3600.0
MAX_BULK_POLL_INTERVAL = 10.0
#: Bytes read at a time from a results answer.
RESULTS_CHUNK = 1 << 16

#: One row as sent: its index among the records and the key cell it carried (to join results on).
Sent = tuple[int, str]


class SalesforceBulk(SalesforceTransport):
    """Writes through Bulk API 2.0 ingest jobs."""

    #: The most CSV bytes one job's upload carries (Salesforce's cap; an instance may lower it).
    bulk_csv_limit = MAX_BULK_CSV_BYTES

    # -- Bulk API 2.0 --------------------------------------------------------------------

    def _write_bulk(
        self,
        sobject: str,
        external_id_field: str | None,
        records: Sequence[Mapping[str, Any]],
        keys: list[str],
        results: list[RecordResult | None],
    ) -> None:
        """Write through Bulk API 2.0 jobs; locked records go again in a new job, after backoff.

        A first pass checks every record (field names, wire values, the key) and collects the
        columns, keeping nothing of the values: a record that cannot be sent fails alone here.
        Each job's CSV is then built again from the records, row by row, into its upload file.
        """
        key_field = external_id_field or "Id"
        columns: dict[str, None] = {key_field: None}
        todo: list[int] = []
        for i, record in enumerate(records):
            try:
                columns.update(dict.fromkeys(_csv_cells(record, key_field)))
            except InvalidValue as exc:
                results[i] = RecordResult(keys[i], False, error_code=exc.code, message=str(exc),
                                          fields=(exc.field,))
                continue
            todo.append(i)
        attempt = 1
        total = len(todo)
        self._report("write", sobject, 0, total)
        while todo:
            outcome: dict[int, RecordResult] = {}
            for sent, upload in _jobs_by_size(records, todo, list(columns), key_field, self.bulk_csv_limit):
                with upload:
                    outcome.update(self._bulk_job(sobject, external_id_field, sent, keys, upload))
                if attempt == 1:  # locked rows sent again are not progress
                    self._report("write", sobject, len(outcome), total)
            retry = []
            for i in todo:
                result = outcome.get(i)
                if result is None:
                    continue
                results[i] = result
                if not result.ok and result.error_code in RETRYABLE_RECORD_CODES:
                    retry.append(i)
            if retry and attempt < self.max_attempts:
                self._sleep(self._delay(attempt, None) or 0.0)
                attempt += 1
                todo = retry
            else:
                todo = []

    def _bulk_job(
        self,
        sobject: str,
        external_id_field: str | None,
        sent: list[Sent],
        keys: list[str],
        upload: IO[bytes],
    ) -> dict[int, RecordResult]:
        """One ingest job: ``upload`` (the job's whole CSV, header first) sent from its start."""
        key_field = external_id_field or "Id"
        spec: dict[str, Any] = {
            "object": sobject, "operation": "upsert" if external_id_field else "update",
            "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA",
        }
        if external_id_field:
            spec["externalIdFieldName"] = external_id_field

        def failed(exc: CrmError, attempts: int = 1) -> dict[int, RecordResult]:
            out: list[RecordResult | None] = [None] * len(keys)
            self._fail([(i, {}) for i, _ in sent], keys, out, exc, attempts=attempts)
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
                upload.seek(0)  # a unit started again sends the whole file again
                self._request("PUT", f"jobs/ingest/{job_id}/batches", data=upload, content_type="text/csv")
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
            info = self._wait_for_job(job_id, sobject, len(sent))
            state = str(info.get("state"))
            successes = self._results(f"jobs/ingest/{job_id}/successfulResults/",
                                      (key_field, "sf__Id", "sf__Created"))
            failures = self._results(f"jobs/ingest/{job_id}/failedResults/", (key_field, "sf__Id", "sf__Error"))
            unprocessed: list[tuple[str | None, ...]] = []
            if state != "JobComplete" or len(successes) + len(failures) < len(sent):
                unprocessed = self._results(f"jobs/ingest/{job_id}/unprocessedrecords/", (key_field,))
        except (AuthenticationError, ApiLimitExhausted):
            raise
        except CrmError as exc:
            return failed(exc)
        job_error = str(info.get("errorMessage") or f"Bulk job ended {state}")
        joined = _join_bulk_results(sent, keys, successes, failures, unprocessed, job_error,
                                    upsert=external_id_field is not None)
        return {i: replace(r, message=self._scrub(r.message)) if r.message else r for i, r in joined.items()}

    def _results(self, path: str, wanted: Sequence[str]) -> list[tuple[str | None, ...]]:
        """The ``wanted`` columns (matched case-insensitively; ``None`` where absent) of every row of a
        results CSV, read as a stream: the answer repeats every column of the upload, which is never
        held whole. Retried from the start when the call or the stream breaks."""
        return self._retrying(partial(self._read_results, path, tuple(wanted)))

    def _read_results(self, path: str, wanted: tuple[str, ...]) -> list[tuple[str | None, ...]]:
        resp = self._request("GET", path, accept="text/csv", stream=True)
        try:
            rows = csv.reader(_lines(resp.iter_content(RESULTS_CHUNK)))
            header = next(rows, None)
            if header is None or not any(h.strip() for h in header):
                return []  # Salesforce answers an empty 200 when there are no such rows
            lowered = [h.lower() for h in header]
            at = [_column_at(header, lowered, name) for name in wanted]
            return [tuple(row[j] if j is not None and j < len(row) else None for j in at)
                    for row in rows if row]
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            reason, _ = connection_failure(exc)
            raise ConnectionFailed(crm=CRM, what=f"GET {path}", url=origin(self.sf.base_url), reason=reason,
                                   write=False, sent=True, setting=URL_SETTING) from exc
        finally:
            resp.close()

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

    def _abort_quietly(self, job_id: str) -> None:
        try:
            self._request("PATCH", f"jobs/ingest/{job_id}", json_body={"state": "Aborted"})
        except (AuthenticationError, ApiLimitExhausted):
            raise
        except CrmError:
            pass  # best effort: an open job Salesforce never hears from is discarded after a day


def _csv_cells(record: Mapping[str, Any], key_field: str) -> dict[str, str]:
    """The record's CSV cells by column, the key first. Raises :class:`InvalidValue`."""
    return {f: to_csv_cell(f, v) for f, v in prepare_record(record, key_field).items()}


def _jobs_by_size(records: Sequence[Mapping[str, Any]], todo: Iterable[int], columns: list[str], key_field: str,
                  limit: int) -> Iterator[tuple[list[Sent], IO[bytes]]]:
    """The rows ``todo`` cut into jobs, each with its upload file, every upload at most ``limit`` bytes.

    The columns are those of all the rows (an empty cell leaves a field as it is, in Bulk API 2.0);
    each row is written as CSV and measured in UTF-8 bytes as it is added, so the cut is exact.
    A row that alone would not fit still goes, alone, and Salesforce answers for it. The caller
    closes each file (which removes it) once its job is done.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def line(cells: Iterable[str]) -> bytes:
        buf.seek(0)
        buf.truncate()
        writer.writerow(cells)
        return buf.getvalue().encode("utf-8")

    header = line(columns)
    sent: list[Sent] = []
    upload: IO[bytes] | None = None
    size = 0
    for i in todo:
        cells = _csv_cells(records[i], key_field)
        encoded = line([cells.get(c, "") for c in columns])
        if upload is not None and sent and size + len(encoded) > limit:
            yield sent, upload
            upload = None
        if upload is None:
            upload = tempfile.TemporaryFile()  # handed over open: the caller closes (removes) it
            upload.write(header)
            sent, size = [], len(header)
        upload.write(encoded)
        sent.append((i, cells[key_field]))
        size += len(encoded)
    if upload is not None and sent:
        yield sent, upload


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines (each with its ``\n``) of a UTF-8 byte stream cut anywhere: what ``csv.reader``
    reads, a quoted value's own line breaks included (the reader joins those lines itself). Only
    ``\n`` ends a line: ``str.splitlines`` would also cut at ``\u2028`` and the like inside a value."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    rest = ""
    for chunk in chunks:
        text = rest + decoder.decode(chunk)
        start = 0
        while (end := text.find("\n", start)) >= 0:
            yield text[start : end + 1]
            start = end + 1
        rest = text[start:]
    rest += decoder.decode(b"", final=True)
    if rest:
        yield rest


def _column_at(header: list[str], lowered: list[str], name: str) -> int | None:
    if name in header:
        return header.index(name)
    return lowered.index(name.lower()) if name.lower() in lowered else None


def _join_bulk_results(
    sent: list[Sent],
    keys: list[str],
    successes: list[tuple[str | None, ...]],
    failures: list[tuple[str | None, ...]],
    unprocessed: list[tuple[str | None, ...]],
    job_error: str,
    *,
    upsert: bool,
) -> dict[int, RecordResult]:
    """Bulk results come back in no particular order: match them to inputs on the key column.

    Each result row starts with its key cell (``successes``: key, ``sf__Id``, ``sf__Created``;
    ``failures``: key, ``sf__Id``, ``sf__Error``; ``unprocessed``: key). Exact key match first,
    then case-insensitive (external ids are usually case-insensitive, and Salesforce may echo a
    normalised value); repeated keys are matched in input order.
    """
    # A list per key, not a deque: most keys are sent once, and 100,000 deques weigh ~60 MB each way.
    exact: dict[str, list[int]] = {}
    for i, value in sent:
        exact.setdefault(value, []).append(i)
    folded: dict[str, list[int]] | None = None  # built on the first key not echoed exactly
    taken: set[int] = set()

    def first_free(queue: list[int] | None) -> int | None:
        while queue:
            i = queue.pop(0)
            if i not in taken:
                taken.add(i)
                return i
        return None

    def take(value: str | None) -> int | None:
        nonlocal folded
        if value is None:
            return None
        i = first_free(exact.get(value))
        if i is None:
            if folded is None:
                folded = {}
                for j, v in sent:
                    if j not in taken:
                        folded.setdefault(v.lower(), []).append(j)
            i = first_free(folded.get(value.lower()))
        return i

    out: dict[int, RecordResult] = {}
    for key, crm_id, created in successes:
        j = take(key)
        if j is not None:
            out[j] = RecordResult(keys[j], True, crm_id=crm_id or None,
                                  created=upsert and (created or "").lower() == "true")
    for key, crm_id, error in failures:
        j = take(key)
        if j is not None:
            code, message, fields = parse_bulk_error(error or "")
            out[j] = RecordResult(keys[j], False, crm_id=crm_id or None, error_code=code,
                                  message=message or None, fields=fields)
    for (key, *_) in unprocessed:
        j = take(key)
        if j is not None:
            out[j] = RecordResult(keys[j], False, error_code="BULK_UNPROCESSED", message=job_error)
    for i, _ in sent:
        if i not in out:
            out[i] = RecordResult(keys[i], False, error_code="NO_RESULT",
                                  message=f"the Bulk job reported nothing for this record ({job_error})")
    return out
