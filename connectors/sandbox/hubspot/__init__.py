"""HubSpot sandbox: the CRM v3 objects / search / properties APIs and the v4 associations API
for ``contacts`` and ``companies``, served over plain HTTP on loopback.

It answers the unmodified ``hubspot-api-client`` with HubSpot's documented shapes and status
codes (201 create, 200 read/update/upsert, 207 multi-status, 204 archive) and keeps the
inconvenient parts: 100-input batch caps, whole-batch 400s unless every create input carries an
``objectWriteTraceId``, 409 on a duplicate email, ``PROPERTY_DOESNT_EXIST`` for unknown or
archived properties, enumeration options, the search API's 10,000-result cap and its own
per-second limit, a rolling ten-second window and a daily allowance with the
``X-HubSpot-RateLimit-*`` headers and 429 bodies. See ``connectors/sandbox/HUBSPOT.md``.

State lives in SQLite (survives restarts); every handler runs under the base app's lock.

One module per API area, so a handler is found under the name of what it serves.
:class:`HubSpotApp` is composed of one mixin per area:

- ``app``: :class:`HubSpotApp`; config switches, schema, reset, the route table, the admin dump;
- ``limits``: authentication, the daily / ten-second / search limits and the usage headers;
- ``scopes``: the scopes the token was granted (config ``scopes``), the 403 ``MISSING_SCOPES``
  answer, and the private-app token-info endpoint;
- ``load``: the admin load of many records at once (``POST /__sandbox/load/{type}``);
- ``objects``: object CRUD and batch read / create / update / upsert / archive;
- ``search``: the search endpoint;
- ``properties``: properties and property groups;
- ``associations``: the v4 associations API;
- ``records``: what objects and search share: value checks, the answered shape of a record,
  ``idProperty`` resolution, unique-value conflicts;
- ``store``: records in SQLite;
- ``core``: the base class the mixins share: declared state and request helpers;
- ``errors``: request-level and per-input error answers;
- ``model``: the static model: object types, default properties and groups, value rules.
"""

from connectors.sandbox.hubspot.app import FIRST_ID, HubSpotApp
from connectors.sandbox.hubspot.associations import MAX_ASSOCIATION_READ
from connectors.sandbox.hubspot.core import MAX_BATCH, now_ms
from connectors.sandbox.hubspot.errors import ApiError, Failure, correlation_id, validation_error
from connectors.sandbox.hubspot.objects import LIST_MAX_LIMIT
from connectors.sandbox.hubspot.search import (
    OPERATORS,
    SEARCH_MAX_FILTERS,
    SEARCH_MAX_FILTERS_PER_GROUP,
    SEARCH_MAX_GROUPS,
    SEARCH_MAX_LIMIT,
    SEARCH_MAX_RESULTS,
    SEARCH_ROUTE,
    SEARCHABLE,
)
from connectors.sandbox.hubspot.store import Obj

__all__ = [
    "FIRST_ID",
    "LIST_MAX_LIMIT",
    "MAX_ASSOCIATION_READ",
    "MAX_BATCH",
    "OPERATORS",
    "SEARCHABLE",
    "SEARCH_MAX_FILTERS",
    "SEARCH_MAX_FILTERS_PER_GROUP",
    "SEARCH_MAX_GROUPS",
    "SEARCH_MAX_LIMIT",
    "SEARCH_MAX_RESULTS",
    "SEARCH_ROUTE",
    "ApiError",
    "Failure",
    "HubSpotApp",
    "Obj",
    "correlation_id",
    "now_ms",
    "validation_error",
]
