"""The Salesforce sandbox: the REST API subset our connectors (through simple-salesforce) speak.

Emulated, for any ``/services/data/vXX.X/``: describe (global, object, basic info), SOQL
``query`` / ``queryAll`` with 2,000-record pages, single-record CRUD and upsert by external id,
sObject Collections (create / update / upsert / retrieve / delete, at most 200 records, per-record
results, ``allOrNone``), Bulk API 2.0 ingest and query jobs, the Tooling API for ``CustomField``,
``limits``, the daily API allocation with ``Sforce-Limit-Info``, the OAuth 2.0 token endpoint
(password and client-credentials grants) and UserInfo, and field-level security through the
``PermissionSet`` / ``FieldPermissions`` / ``PermissionSetAssignment`` sObjects.
``connectors/sandbox/SALESFORCE.md`` lists what is and is not emulated, and the choices made where
Salesforce's behaviour is not documented.

State lives in SQLite: one ``records`` row per record (JSON document), an index table
``record_keys`` for the values we look up (emails, external ids, unique fields, account links),
custom fields, bulk jobs, sessions and the API usage counter. Every handler runs under the
app lock (see :mod:`connectors.sandbox.base`), so parallel clients are served one at a time.

Sandbox-specific fault: ``{"kind": "lock_row", "count": N}`` makes the next N matching write
calls fail their records with ``UNABLE_TO_LOCK_ROW`` without writing them. Config switches
(``POST /__sandbox/config``): ``daily_api_limit`` (default 100000), ``duplicate_rule_email``
(default false), ``enforce_field_security`` (default true). ``GET /__sandbox/records/{SObject}``
dumps an object's records for debugging; ``POST /__sandbox/convert-lead`` plays a rep converting a
Lead (after which it is read-only).

One module per API area, so a handler is found by the area it serves (:mod:`.app` says how the
mixins fit together):

- :mod:`.app`: :class:`SalesforceApp`, composed from the mixins below, and the route table;
- :mod:`.state`: the SQLite tables, the field catalog (standard and custom fields, and the running
  user's view of them), id counters;
- :mod:`.setup_objects`: the setup sObjects of field-level security and the grants they add up to;
- :mod:`.security`: their rules on write and delete, and what a change to them does;
- :mod:`.limits`: the daily API allocation and the ``limits`` resource;
- :mod:`.hooks`: what every call goes through (session, allocation, errors) and request helpers;
- :mod:`.records`: reading stored records and rendering them;
- :mod:`.query`: SOQL ``query`` / ``queryAll`` and paging;
- :mod:`.validation`: field value checks, references, unique fields, the duplicate rule;
- :mod:`.writes`: the write path every write endpoint goes through;
- :mod:`.batch`: one write call's staged view of the store, its operations, index keys;
- :mod:`.errors`: whole-call and per-record errors;
- :mod:`.rest`: versions, resources, describe, single-record CRUD and upsert by external id;
- :mod:`.collections`: sObject Collections;
- :mod:`.bulk`: Bulk API 2.0 ingest and query jobs;
- :mod:`.tooling`: the Tooling API's ``CustomField``;
- :mod:`.auth`: the OAuth 2.0 token endpoint and UserInfo;
- :mod:`.convert`: Lead conversion, as a rep does it (``/__sandbox/convert-lead``);
- :mod:`.admin`: the ``/__sandbox/records`` dump.

Objects, fields, ids and value rules are in :mod:`connectors.sandbox.salesforce_schema`; the
query language is in :mod:`connectors.sandbox.soql`.
"""

from connectors.sandbox.salesforce.app import SalesforceApp, V
from connectors.sandbox.salesforce.batch import Op, index_key
from connectors.sandbox.salesforce.bulk import BULK_CHUNK
from connectors.sandbox.salesforce.collections import MAX_COLLECTION
from connectors.sandbox.salesforce.errors import NOT_FOUND, ROLLED_BACK, ApiError, api_error, rec_error
from connectors.sandbox.salesforce.hooks import MAX_URL_BYTES
from connectors.sandbox.salesforce.query import MAX_CURSORS, QUERY_BATCH, USER_FIELDS
from connectors.sandbox.salesforce.tooling import TOOLING_FIELDS

__all__ = [
    "BULK_CHUNK",
    "MAX_COLLECTION",
    "MAX_CURSORS",
    "MAX_URL_BYTES",
    "NOT_FOUND",
    "QUERY_BATCH",
    "ROLLED_BACK",
    "TOOLING_FIELDS",
    "USER_FIELDS",
    "V",
    "ApiError",
    "Op",
    "SalesforceApp",
    "api_error",
    "index_key",
    "rec_error",
]
