"""The HubSpot connector: properties, batch reads and writes, search, and associations.

What the sync engine gets from here, and why it is built this way:

- **Batches at HubSpot's caps** — 100 inputs per CRM object batch call, 100 values per
  search ``IN`` filter and 200 results per search page, 1,000 ids per associations read
  (HubSpot's changelog, February 2025), 100 pairs per default-association write.
- **Idempotent writes only** — contacts are created by *upsert on email* and companies
  by upsert on a unique property we own, never by batch create: a call repeated after a
  lost response then updates what the first attempt created instead of duplicating it.
  That is what makes every call here safe to retry.
- **One bad input never sinks its batch** — HubSpot rejects a whole batch (400/409) for
  one invalid input. The error's context (``objectWriteTraceId``, ids, property names, the
  value quoted in the message) usually names the culprit: it fails alone and the rest is
  sent again. When it does not, the batch is split in halves until the culprit is alone.
- **Limits** — a client-side limiter keeps calls inside the rolling 10-second window (and a
  second one inside the search API's per-second limit), adapting down from HubSpot's
  ``X-HubSpot-RateLimit-*`` headers. 429 (10-second/secondly), 423, 5xx and dropped
  connections are retried with exponential backoff and jitter, honouring ``Retry-After``;
  the daily allocation being spent raises :class:`ApiLimitExhausted` at once; a ``Retry-After``
  past ``max_retry_after`` is not waited out (:class:`RateLimited`).
- **Scopes** — the token's scopes are asked once (:meth:`access`), so an operation outside them is
  refused by name before any call; a 403 ``MISSING_SCOPES`` all the same fails the records of its
  batch with ``missing_scope`` (never retried).
- **Every HTTP attempt is counted** in :class:`ApiCalls` — reads (batch read, search,
  properties and groups GET, associations read) apart from writes.

Requests go through the SDK (its API classes build paths, bodies and auth); responses are
read as JSON rather than through the SDK's generated models, because the models return
``None`` for any status code missing from their map (``batch/associate/default`` answering
207 loses its per-input errors that way) and reject fields HubSpot adds later.

Errors raised are from :mod:`connectors.errors`; their messages are built from status,
category and HubSpot's message only, with the access token scrubbed from anything the
server echoes back.

Where each part lives: :mod:`~connectors.hubspot.wire` (caps, values, property bodies, error
bodies and headers, as pure functions), :mod:`~connectors.hubspot.transport` (requests,
limits, retries, call counting), :mod:`~connectors.hubspot.schema` (properties),
:mod:`~connectors.hubspot.scopes` (the token's scopes and what they allow),
:mod:`~connectors.hubspot.reads` (batch reads, search, association reads) and
:mod:`~connectors.hubspot.writes` (upserts, updates, associations, one result per input).
This module composes them into :class:`HubSpotConnector`.
"""

from __future__ import annotations

from connectors.hubspot.reads import HubSpotReads
from connectors.hubspot.schema import HubSpotSchema
from connectors.hubspot.scopes import HubSpotScopes
from connectors.hubspot.wire import (
    ASSOC_READ_CAP,
    ASSOC_WRITE_CAP,
    BATCH_CAP,
    CRM,
    OBJECT_TYPES,
    SEARCH_IN_CAP,
    SEARCH_PAGE,
    SEARCH_RESULTS_CAP,
    TEN_SECONDS,
    error_details,
    field_info,
    mention_at,
    mentions,
    offending_value,
    property_create_body,
    wire_properties,
    wire_value,
)
from connectors.hubspot.writes import HubSpotWrites

__all__ = [
    "ASSOC_READ_CAP",
    "ASSOC_WRITE_CAP",
    "BATCH_CAP",
    "CRM",
    "OBJECT_TYPES",
    "SEARCH_IN_CAP",
    "SEARCH_PAGE",
    "SEARCH_RESULTS_CAP",
    "TEN_SECONDS",
    "HubSpotConnector",
    "error_details",
    "field_info",
    "mention_at",
    "mentions",
    "offending_value",
    "property_create_body",
    "wire_properties",
    "wire_value",
]


class HubSpotConnector(HubSpotSchema, HubSpotScopes, HubSpotReads, HubSpotWrites):
    """HubSpot CRM v3/v4 through hubspot-api-client, within HubSpot's limits.

    ``ten_second_limit`` is the app's allowance per rolling 10 s (100 Free/Starter, 190
    Pro/Enterprise); ``search_per_second`` the search API's own limit. Retries run at most
    ``max_attempts`` times per call, waiting ``backoff_base * 2**n`` (with jitter, capped at
    ``max_backoff``) or what ``Retry-After`` says, up to ``max_retry_after`` seconds: past it
    the call is not retried and its inputs fail ``rate_limited``. A call that could not connect
    at all is tried twice at most. ``sleep``/``clock`` are injectable so the
    limiter and backoff can run on a fake clock; ``window_seconds`` shortens the limiter's
    window for a sandbox configured with a shorter one (HubSpot's is always 10 s).

    ``write_trace_ids`` sends an ``objectWriteTraceId`` with every upsert/update input, which
    lets HubSpot answer bad inputs one by one (207) instead of rejecting the whole batch;
    without it (or where HubSpot ignores it) bad inputs are isolated from the batch error.

    What fails how: a bad input is a failed :class:`RecordResult`, never an exception. When
    retries run out, reads raise :class:`RetryableError` and writes fail their inputs with it
    (the batches after it are not sent: HubSpot is not answering). :class:`AuthenticationError`
    and :class:`ApiLimitExhausted` stop any call where it stands; every write here is
    idempotent, so the caller can simply run it again later. Arguments that cannot be sent
    at all (an unknown object type, a field kind HubSpot has no type for) raise ``ValueError``.
    """

    crm = CRM
