"""The HubSpot pass of the sync engine: companies, then contacts associated with them.

Companies are matched by our sync key (batch read), then by domain (count first, then read all
or search, whichever costs fewer calls); contacts by email. Creates are upserts on the sync key
or the email, except new contacts with a company: a batch create carries their association inline.
Any other company link is its own call, and a failed link fails the record so the next run retries
it. The shared shape of a pass is :class:`_Pass` in :mod:`dagster_pipeline.sync.passes`.

Batch reads by a unique property cost ceil(keys / 100) calls. When that is more than one, one
search with ``limit: 1`` counts the records holding the property at all (its ``total``): none,
and nothing is read (:meth:`HubSpotPass.read_by`, ``sync.read_path``, README "Reading the CRM").
Search lags writes by seconds, so the count is trusted only when none of the keys was written by
us before (none has a CRM id in the sync state); creates are upserts on the same property, or
creates that turn into upserts on ``CONFLICT``, so even a stale count could not duplicate a record.

Found contacts then need their company links read (one association read per 1,000). When the keys
are nearly the whole object (a reconcile, a first sync into a portal holding the records), listing
the object page by page with ``associations=companies`` inline costs ceil(records / 100) calls and
no association read: :func:`list_is_cheaper` weighs it against :func:`keyed_read_calls` on one count
of the object's records (a stale count only misjudges the cost: the list reads whatever is there).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import polars as pl

from connectors.crm import RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError
from connectors.hubspot.wire import ASSOC_READ_CAP, BATCH_CAP, LIST_PAGE
from dagster_pipeline.sync.catalog import OBJECTS, ObjectDef
from dagster_pipeline.sync.classify import CRM_ID
from dagster_pipeline.sync.keys import KEY, display_forms, normalise_domains
from dagster_pipeline.sync.passes import (
    COMPANY_ID,
    _deleted,
    _Pass,
    _Pending,
    _rows,
    _with_company_id,
    stop_reason,
)
from dagster_pipeline.sync.records import INVALID, build_desired, with_fingerprint

#: HubSpot search: results per page, filter groups per request, and the most results it pages to.
HUBSPOT_SEARCH_PAGE, HUBSPOT_SEARCH_GROUPS, HUBSPOT_SEARCH_RESULTS = 200, 5, 10_000


def keyed_read_calls(keys: int, links: bool) -> int:
    """Calls of the keyed way: batch reads of 100, and with ``links`` at most one association read
    per 1,000 found records (every key taken as found: the most it can cost)."""
    return math.ceil(keys / BATCH_CAP) + (math.ceil(keys / ASSOC_READ_CAP) if links else 0)


def list_is_cheaper(keys: int, records: int, keyed: int, min_share: float, *, counted: bool) -> bool:
    """Whether reading the whole object (pages of 100, its associations inline) costs fewer calls
    than the keyed way, and the keys are at least ``min_share`` of its records (the list moves every
    record through the API). Before ``records`` is counted the count itself is one more call."""
    return (math.ceil(records / LIST_PAGE) + (0 if counted else 1) < keyed
            and keys >= min_share * records)


def _hubspot_value(value: Any) -> str:
    """HubSpot takes every property value as a string; datetimes as ISO-8601 UTC."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        v = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        # isoformat, not strftime: strftime("%Y") writes year 1 as "1", which HubSpot cannot parse.
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class HubSpotPass(_Pass):
    #: While set, contact creates go by batch create with their company association inline.
    link_inline = False

    def _create(self, od: ObjectDef, creates: list[_Pending]) -> list[RecordResult]:
        id_property = od.sync_key_field or "email"
        inputs = []
        for p in creates:
            props = {k: _hubspot_value(v) for k, v in p.payload.items() if v is not None}
            props[id_property] = p.key
            inputs.append((p.key, props))
        if self.link_inline:
            links = [str(p.company_id) for p in creates]
            return list(self.conn.create_linked(od.api_name, id_property, "companies",
                                                [(k, props, to) for (k, props), to in zip(inputs, links, strict=True)]))
        return list(self.conn.upsert(od.api_name, id_property, inputs))

    def _update(self, od: ObjectDef, updates: list[_Pending]) -> list[RecordResult]:
        inputs = [(p.key, p.crm_id, {k: _hubspot_value(v) for k, v in p.payload.items() if v is not None})
                  for p in updates]
        return list(self.conn.update(od.api_name, inputs))

    def _current(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"id": obj["id"], **(obj.get("properties") or {})}

    def read_by(self, object_type: str, id_property: str, keys: list[str], props: list[str], failed: dict[str, str],
                *, links: str | None = None) -> tuple[dict[str, dict], dict[str, list[str]] | None]:
        """Records by a unique property, the cheapest way (see the module docstring), and with
        ``links`` (an object type) each found record's associated ids when the way taken read them
        with the records (the whole object's list), else ``None``: the caller reads them apart."""
        path = self.settings.sync.read_path
        distinct = len({k.strip().lower() for k in keys if k})
        keyed = keyed_read_calls(distinct, links is not None)
        if path == "keyed" or (path == "auto" and math.ceil(distinct / BATCH_CAP) <= 1):
            return self._read_keyed(object_type, id_property, keys, props, failed), None
        try:
            whole = path == "bulk"
            if path == "count" or (path == "auto" and not self.written_before):
                having = self.conn.count_having(object_type, id_property)
                if having == 0:
                    return {}, {}
                estimate = having
            else:  # search lags our own writes: the records we know the CRM holds stand in for its count
                estimate = max(distinct, self.known_records.get(object_type, 0))
            if path == "auto" and list_is_cheaper(distinct, estimate, keyed, self.settings.sync.bulk_read_min_share,
                                                  counted=False):
                whole = list_is_cheaper(distinct, self.conn.count_all(object_type), keyed,
                                        self.settings.sync.bulk_read_min_share, counted=True)
            if whole:
                return self.conn.read_all(object_type, id_property, keys, props, associations=links)
        except (ApiLimitExhausted, AuthenticationError):
            raise
        except CrmError:
            pass  # no count or no list: read by key as before
        return self._read_keyed(object_type, id_property, keys, props, failed), None

    def _read_keyed(self, object_type: str, id_property: str, keys: list[str], props: list[str],
                    failed: dict[str, str]) -> dict[str, dict]:
        return dict(self.conn.read(object_type, id_property, keys, props, failed=failed))

    company_object = OBJECTS["hubspot"]["company"]
    company_name_field = "name"
    person_object = OBJECTS["hubspot"]["contact"]
    person_objects = (OBJECTS["hubspot"]["contact"],)

    def find_companies(self, od: ObjectDef, domains: list[str], fields: list[str],
                       failed: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Our own companies by the unique sync key (batch read); the rest by domain (search).

        The domain a rep typed may be any spelling (``https://www.acme.io/about``), so companies
        are matched on the normalised domain, never on the raw text: see :meth:`by_domain`.
        """
        schema = self.schema(od)
        props = [f for f in fields if f in schema.fields]
        found: dict[str, dict[str, Any]] = {}
        key_prop = od.sync_key_field
        if key_prop and key_prop in schema.fields:
            for k, obj in self.read_by(od.api_name, key_prop, domains, props + [key_prop], failed)[0].items():
                found[k.strip().lower()] = self._current(obj)
        rest = [k for k in domains if k not in found and k not in failed]
        if rest and "domain" in schema.fields:
            matches = self.by_domain(od, rest, props + ([key_prop] if key_prop else []), failed)
            matches = sorted(matches, key=lambda o: int(o["id"]) if str(o["id"]).isdigit() else 0)
            wanted = {k for k in rest if k not in failed}
            doms = normalise_domains([(o.get("properties") or {}).get("domain") for o in matches])
            for obj, dom in zip(matches, doms, strict=True):
                current = self._current(obj)
                if dom in wanted and dom not in found and not self.owned_by_another_key(od, current, dom):
                    found[dom] = current  # the oldest company with that domain wins
        return found

    def by_domain(self, od: ObjectDef, keys: list[str], props: list[str], failed: dict[str, str]) -> list[dict]:
        """Companies whose ``domain`` may normalise to one of ``keys``, the cheapest way.

        A search can OR only 5 ``CONTAINS_TOKEN *acme.io*`` filters, so looking for each key costs
        a call per 5 keys. Count first: when the portal has no company with a domain there is
        nothing to find (a first sync); when reading every company that has one takes fewer
        calls (200 a page, up to search's 10,000), read them all and match here.
        """
        try:
            total = self.conn.count_having(od.api_name, "domain")
            if total == 0:
                return []
            pages = math.ceil(total / HUBSPOT_SEARCH_PAGE)
            if total <= HUBSPOT_SEARCH_RESULTS and pages <= math.ceil(len(keys) / HUBSPOT_SEARCH_GROUPS):
                return list(self.conn.search_having(od.api_name, "domain", props))
        except (ApiLimitExhausted, AuthenticationError):
            raise
        except CrmError as exc:
            for k in keys:
                failed.setdefault(k, str(exc))
            return []
        return list(self.conn.search_containing(od.api_name, "domain", {k: display_forms(k) for k in keys}, props,
                                                failed=failed))

    def persons(self, frame: pl.DataFrame, company_ids: dict[str, str]) -> None:
        od = OBJECTS["hubspot"]["contact"]
        s = self.settings.objects.hubspot.contact
        cannot_read = self.refused(od, "read")
        if cannot_read:
            self.fail_all(od, frame[KEY], *cannot_read)
            return
        frame = with_fingerprint(_with_company_id(frame, company_ids), self.signature(od))
        desired = build_desired(od, s, frame, workflow=self.workflow, schema=self.schema(od),
                                path=self.settings.path("contact"))
        d = desired.frame
        invalid = d.filter(pl.col(INVALID).is_not_null())
        self.fail_all(od, invalid[KEY], "invalid_email", "not a valid e-mail address; fix it in the warehouse")
        unchanged, in_play = self.split_by_state(d.filter(pl.col(INVALID).is_null()), "person")
        if self.gap(od):
            self.fail_gap(od, pl.concat([unchanged[KEY], in_play[KEY]]))
            return
        self.log.add_bulk(od.api_name, unchanged[KEY], "unchanged", "unchanged", crm_ids=unchanged["crm_id"])
        if in_play.is_empty():
            return
        schema = self.schema(od)
        props = [f for f in desired.fields if f in schema.fields]
        failed: dict[str, str] = {}
        self.note_known(in_play)
        read, listed = self.read_by(od.api_name, "email", in_play[KEY].to_list(), props, failed, links="companies")
        found = {k.lower(): self._current(o) for k, o in read.items()}
        linked: dict[str, list[str]] = listed or {}
        to_check = [found[r[KEY]]["id"] for r in _rows(in_play) if r[KEY] in found and r[COMPANY_ID]]
        if to_check and listed is None:
            unread: dict[str, str] = {}
            linked = self.conn.associations("contacts", "companies", to_check, failed=unread)
            by_id = {cur["id"]: k for k, cur in found.items()}
            for contact_id, err in unread.items():
                failed.setdefault(by_id[contact_id], err)
        in_play = self.drop_failed_reads(od, in_play, failed)
        # A contact with a company and no company association yet needs a link, changed or not.
        has_link = pl.Series([cid for cid, companies in linked.items() if companies], dtype=pl.Utf8)
        company = pl.col(COMPANY_ID).cast(pl.Utf8)
        link = pl.when((company != "") & ~pl.col(CRM_ID).is_in(has_link.implode())).then(company)
        decisions = self.classify_rows(od, in_play.filter(pl.col(KEY).is_in(list(found))), found, desired.modes,
                                       link=link)
        pending = [p for _, decide in decisions if (p := decide())]
        new = in_play.filter(~pl.col(KEY).is_in(list(found)))
        chunks: Iterable[list[_Pending]] = ()
        if not s.create:
            self.skip_all(od, new[KEY], "create_disabled")
        elif cannot_create := self.refused(od, "create"):
            self.fail_all(od, new[KEY], *cannot_create)
        else:
            chunks = self.new_records(od, new, desired.modes, link=True, deleted=_deleted(new))
        if self.mode == "plan":
            self.plan_only(pending)
            for _ in chunks:
                pass
            return
        for batch in (pending, *chunks):
            self.write_contacts(batch)

    def write_contacts(self, pending: list[_Pending]) -> None:
        """Write contacts, then link each to its company; a failed link fails the record (retried next run).

        New contacts with a company are created with the association inline (batch create), so
        their link costs no call of its own; one that exists by then (``CONFLICT``: created by a
        rep since it was read, or by a lost answer's retry) goes the idempotent way below, upsert
        then link. Updates and contacts without a company are upserted as before.
        """
        inline = [p for p in pending if p.action == "create" and p.company_id and p.payload]
        if inline:
            self.link_inline = True
            try:
                created = self.write(inline, "contacts")
            finally:
                self.link_inline = False
            again = {id(p) for p, r in created if not r.ok and r.error_code == "CONFLICT"}
            self.settle([(p, r) for p, r in created if id(p) not in again])
            chosen = {id(p) for p in inline}
            pending = [p for p in pending if id(p) not in chosen or id(p) in again]
        if not pending:
            return
        field_writes = [p for p in pending if p.payload]
        results = self.write(field_writes, "contacts")
        results += [(p, RecordResult(p.key, True, crm_id=p.crm_id)) for p in pending if not p.payload]
        pairs = [(p.key, r.crm_id or p.crm_id, p.company_id) for p, r in results
                 if r.ok and p.company_id and (r.crm_id or p.crm_id)]
        link_results: dict[str, RecordResult] = {}
        link_error: str | None = None
        if pairs and not self.stopped:
            try:
                link_results = {r.key: r for r in self.conn.associate_default("contacts", "companies", pairs)}
            except ApiLimitExhausted as exc:
                self.stopped, self.stop_reason = str(exc), stop_reason(exc)
            except AuthenticationError:
                raise
            except CrmError as exc:
                link_error = str(exc)
        final: list[tuple[_Pending, RecordResult]] = []
        for p, r in results:
            lr = link_results.get(p.key)
            if r.ok and p.company_id and (lr is None or not lr.ok):
                msg = lr.message if lr else (self.stopped or link_error or "company link not written")
                r = RecordResult(p.key, False, crm_id=r.crm_id or p.crm_id, error_code="link_failed", message=msg)
            final.append((p, r))
        self.settle(final)
