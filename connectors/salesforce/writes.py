"""Salesforce writes: idempotent upserts on an external id and updates by Id, one result per record.

Below ``bulk_threshold`` records, sObject Collections calls of 200 records with
``allOrNone: false``: a call refused as a whole is narrowed down to its bad records, locked
rows are sent again alone, transient failures are retried. At ``bulk_threshold`` records and
above they go through Bulk API 2.0 jobs (:mod:`connectors.salesforce.bulk`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from typing import Any

from connectors.crm import RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.salesforce.bulk import SalesforceBulk
from connectors.salesforce.soql import check_identifier
from connectors.salesforce.transport import CRM, RETRYABLE_RECORD_CODES
from connectors.salesforce.wire import InvalidValue, prepare_record

#: sObject Collections take at most 200 records a call.
COLLECTION_SIZE = 200
#: How many times one 200-record call refused as a whole (HTTP 400) may be halved to isolate
#: the records that caused it: enough for a few bad records, bounded if every record is bad.
MAX_SPLITS = 16


class SalesforceWrites(SalesforceBulk):
    """Upsert and update: sObject Collections, or Bulk API 2.0 jobs from ``bulk_threshold`` records."""

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
        if len(records) >= self.bulk_threshold:
            # Checked and turned into CSV row by row there: no prepared copy of every record.
            self._write_bulk(sobject, external_id_field, records, keys, results)
        else:
            prepared: list[tuple[int, dict[str, Any]]] = []
            for i, record in enumerate(records):
                try:
                    prepared.append((i, prepare_record(record, key_field)))
                except InvalidValue as exc:
                    results[i] = RecordResult(keys[i], False, error_code=exc.code, message=str(exc),
                                              fields=(exc.field,))
            if prepared:
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
        size = max(1, min(self.batch_size, COLLECTION_SIZE))
        self._report("write", sobject, 0, len(prepared))
        for start in range(0, len(prepared), size):
            self._write_chunk(sobject, external_id_field, prepared[start : start + size], keys, results)
            self._report("write", sobject, min(start + size, len(prepared)), len(prepared))

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
                delay = self._next_wait(attempt, exc)
                if delay is None:
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


# -- helpers -------------------------------------------------------------------------------


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
