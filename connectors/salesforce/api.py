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
  exponential backoff and jitter, honouring ``Retry-After`` up to ``max_retry_after`` seconds
  (longer: not retried, the records fail ``rate_limited``), at most ``max_attempts`` tries
  (two for a call that could not connect at all).
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

Where each part lives: :mod:`~connectors.salesforce.transport` (the HTTP path, errors and
the retry policy), :mod:`~connectors.salesforce.schema` (describe, Tooling API fields),
:mod:`~connectors.salesforce.access` (the running user, field-level security grants),
:mod:`~connectors.salesforce.org` (org identity, API versions, the daily allowance),
:mod:`~connectors.salesforce.reads` (SOQL reads), :mod:`~connectors.salesforce.writes`
(sObject Collections upserts and updates) and :mod:`~connectors.salesforce.bulk` (Bulk API
2.0 jobs); values, SOQL and client in :mod:`~connectors.salesforce.wire`,
:mod:`~connectors.salesforce.soql` and :mod:`~connectors.salesforce.client`. This module
composes them into :class:`SalesforceConnector`.
"""

from __future__ import annotations

from connectors.crm import DEFAULT_MAX_RETRY_AFTER
from connectors.salesforce.access import FieldAccessReport, SalesforceAccess
from connectors.salesforce.bulk import BULK_JOB_TIMEOUT, MAX_BULK_CSV_BYTES, MAX_BULK_POLL_INTERVAL
from connectors.salesforce.org import SalesforceOrg
from connectors.salesforce.reads import SalesforceReads
from connectors.salesforce.schema import SalesforceSchema
from connectors.salesforce.transport import CRM, REQUEST_TIMEOUT, RETRYABLE_RECORD_CODES
from connectors.salesforce.writes import COLLECTION_SIZE, MAX_SPLITS, SalesforceWrites

__all__ = [
    "BULK_JOB_TIMEOUT",
    "COLLECTION_SIZE",
    "CRM",
    "DEFAULT_MAX_RETRY_AFTER",
    "FieldAccessReport",
    "MAX_BULK_CSV_BYTES",
    "MAX_BULK_POLL_INTERVAL",
    "MAX_SPLITS",
    "REQUEST_TIMEOUT",
    "RETRYABLE_RECORD_CODES",
    "SalesforceConnector",
]


class SalesforceConnector(SalesforceAccess, SalesforceOrg, SalesforceSchema, SalesforceReads, SalesforceWrites):
    """Talks to one Salesforce org through a simple-salesforce client.

    ``calls`` counts every HTTP attempt made through the client's session (reads vs writes,
    by endpoint) — retries, pages and Bulk polls included, and calls other code makes with
    the same client too, since all of them spend the org's allocation. Passing the
    :class:`ApiCalls` already given to ``make_client(…, calls=…)`` counts each call once.
    ``sleep`` is injectable so tests can observe backoff without waiting.
    """

    crm = CRM
