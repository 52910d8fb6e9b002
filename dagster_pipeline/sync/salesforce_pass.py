"""The Salesforce pass of the sync engine: Accounts, then people as Contacts or Leads.

People are matched on a Contact first, then an unconverted Lead, then the Contact a converted
Lead became; companies by our sync key, then by Website (``LIKE`` on the host, kept only when the
Website normalises to the domain). Writes go through the connector's idempotent upsert on the
sync key. The shared shape of a pass (gate, fingerprints, diff, outcomes) is :class:`_Pass` in
:mod:`dagster_pipeline.sync.passes`.

Every lookup goes through :meth:`SalesforcePass.lookup` / :meth:`SalesforcePass.lookup_containing`,
which pick the cheapest way to read per object and run (``sync.read_path``, README "Reading the
CRM"). Keyed ``IN`` statements cost about ceil(key bytes / URL budget) calls. When that is more
than one (and, when some keys were written by us before, more than a Bulk job's least, 3), a
``SELECT COUNT()`` of the records the lookup could find (the match field non-null, under the same
condition) costs one call and ends the lookup when it is 0. A Bulk API 2.0 query job of those
records costs 2 + ceil(count / 100,000) calls and is taken when that is fewer than the keyed
statements and the keys are at least ``sync.bulk_read_min_share`` (a tenth) of the records it
reads: a Bulk query moves every one of them through the API, so a few keys never move a whole
object. When the sync state alone shows the keys are below that share (the object holds at least
the records of ours the state names: a 1% change of a million synced records), no count is made.
The state can only overstate a lower bound where a rep deleted or converted records of ours,
which costs calls, never records. Whichever way is taken, the same records are found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import polars as pl

from connectors.crm import RecordResult
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError
from dagster_pipeline.sync.catalog import NOT_PROVIDED, OBJECTS, ObjectDef
from dagster_pipeline.sync.classify import POS
from dagster_pipeline.sync.keys import KEY, display_forms, normalise_domains
from dagster_pipeline.sync.passes import COMPANY_ID, _deleted, _Pass, _Pending, _with_company_id
from dagster_pipeline.sync.records import INVALID, build_desired, with_fingerprint


class SalesforcePass(_Pass):
    def _create(self, od: ObjectDef, creates: list[_Pending]) -> list[RecordResult]:
        key_field = od.sync_key_field
        assert key_field is not None
        records = [{**p.payload, key_field: p.key} for p in creates]
        return list(self.conn.upsert(od.api_name, key_field, records, [p.key for p in creates]))

    def _update(self, od: ObjectDef, updates: list[_Pending]) -> list[RecordResult]:
        records = [{"Id": p.crm_id, **p.payload} for p in updates]
        return list(self.conn.update(od.api_name, records, [p.key for p in updates]))

    # -- companies ------------------------------------------------------------------
    company_object = OBJECTS["salesforce"]["account"]
    company_name_field = "Name"
    person_object = OBJECTS["salesforce"]["lead"]  # where skipped/failed people are logged before matching
    person_objects = (OBJECTS["salesforce"]["lead"], OBJECTS["salesforce"]["contact"])

    def find_companies(self, od: ObjectDef, domains: list[str], fields: list[str],
                       failed: dict[str, str]) -> dict[str, dict[str, Any]]:
        return self.find_accounts(od, domains, fields, failed)

    def find_accounts(self, od: ObjectDef, domains: list[str], fields: list[str],
                      failed: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Accounts by our sync key (exact ``IN``), then the rest by ``Website``.

        A rep may have typed the website any way (``https://www.acme.io/about``), which an exact
        match cannot see: the Website pass asks for every Account whose Website *contains* the
        domain (``LIKE '%acme.io%'``, OR-ed, as many per query as the URL allows) and keeps those
        whose Website normalises to exactly the key. The oldest such Account wins.
        """
        schema = self.schema(od)
        select = ["Id", "Website", *[f for f in fields if f in schema.fields and f not in ("Id", "Website")]]
        key_field = od.sync_key_field
        found: dict[str, dict[str, Any]] = {}
        if key_field and key_field in schema.fields:
            if key_field not in select:
                select.append(key_field)
            for rec in self.lookup("Account", key_field, domains, select, None, failed):
                k = (rec.get(key_field) or "").strip().lower()
                found.setdefault(k, rec)
        rest = [d for d in domains if d not in found and d not in failed]
        if rest and "Website" in schema.fields:
            matches = self.lookup_containing("Account", "Website", {d: display_forms(d) for d in rest},
                                             select + ["CreatedDate"], failed)
            matches = sorted(matches, key=lambda r: r.get("CreatedDate") or "")  # oldest account wins
            wanted = {d for d in rest if d not in failed}
            for rec, dom in zip(matches, normalise_domains([r.get("Website") for r in matches]), strict=True):
                if dom in wanted and dom not in found and not self.owned_by_another_key(od, rec, dom):
                    found[dom] = rec
        return found

    # -- persons ----------------------------------------------------------------------
    def persons(self, frame: pl.DataFrame, company_ids: dict[str, str]) -> None:
        lead_od, contact_od = OBJECTS["salesforce"]["lead"], OBJECTS["salesforce"]["contact"]
        ls, cs = self.settings.objects.salesforce.lead, self.settings.objects.salesforce.contact
        for od in (contact_od, lead_od):  # a person is matched against both: neither may be unreadable
            cannot_read = self.refused(od, "read")
            if cannot_read:
                self.fail_all(od, frame[KEY], *cannot_read)
                return
        frame = with_fingerprint(_with_company_id(frame, company_ids), self.signature(lead_od, contact_od))
        lead = build_desired(lead_od, ls, frame, workflow=self.workflow, schema=self.schema(lead_od),
                             path=self.settings.path("lead"))
        contact = build_desired(contact_od, cs, frame, workflow=self.workflow, schema=self.schema(contact_od),
                                path=self.settings.path("contact"))
        base = lead.frame.select(KEY, INVALID, COMPANY_ID, "__hash")
        invalid = base.filter(pl.col(INVALID).is_not_null())
        self.fail_all(lead_od, invalid[KEY], "invalid_email", "not a valid e-mail address; fix it in the warehouse")
        unchanged, in_play = self.split_by_state(base.filter(pl.col(INVALID).is_null()), "person")
        for od in (lead_od, contact_od):
            part = unchanged.filter(pl.col("crm_object") == od.api_name)
            if self.gap(od):
                self.fail_gap(od, part[KEY])
            else:
                self.log.add_bulk(od.api_name, part[KEY], "unchanged", "unchanged", crm_ids=part["crm_id"])
        if in_play.is_empty():
            return
        keys = in_play[KEY].to_list()
        self.note_known(in_play)
        failed: dict[str, str] = {}
        contacts = self.find_people(contact_od, keys, contact.fields, None, failed)
        rest = [k for k in keys if k not in contacts and k not in failed]
        leads = self.find_people(lead_od, rest, lead.fields, "IsConverted = false", failed) if rest else {}
        unknown = [k for k in rest if k not in leads and k not in failed]
        if unknown:  # a converted Lead is read-only: the person lives on in the Contact it became
            contacts.update(self.converted_contacts(contact_od, unknown, contact.fields, failed))
        in_play = self.drop_failed_reads(lead_od, in_play, failed)  # a Contact or a Lead unseen: neither is safe
        matched = [k for k in (*contacts, *leads) if k not in failed]
        placed = in_play.select(KEY, "payload_hash").with_row_index(POS)  # the order people were read in
        decisions: list[tuple[int, Callable[[], _Pending | None]]] = []
        for od, found, desired in ((contact_od, contacts, contact), (lead_od, leads, lead)):
            keys = [k for k in found if k not in failed]
            rows = placed.filter(pl.col(KEY).is_in(keys)).join(desired.frame, on=KEY, how="left", maintain_order="left")
            if self.gap(od):
                gap = self.gap(od)
                self.log.add_bulk(od.api_name, rows[KEY], "failed", "failed", reason=gap.reason,
                                  crm_ids=pl.Series([found[k]["Id"] for k in rows[KEY].to_list()], dtype=pl.Utf8),
                                  message=gap.message())
                continue
            extra = self.sync_key_exprs(od)
            if od is contact_od and "AccountId" in self.schema(od).fields:
                company = pl.col(COMPANY_ID).cast(pl.Utf8)
                extra["AccountId"] = (pl.when(company != "").then(company), "if_empty")
            decisions += self.classify_rows(od, rows, found, desired.modes, extra=extra)
        pending: dict[str, list[_Pending]] = {"Lead": [], "Contact": []}
        for _, decide in sorted(decisions, key=lambda d: d[0]):  # as read, Contacts and Leads interleaved
            if p := decide():
                pending[p.od.api_name].append(p)

        # People the CRM does not know: a Lead; with Lead creation off, a Contact under its Account
        # only when the admin asked for it (contact.create_when_lead_off); else skipped.
        new_rows = in_play.filter(~pl.col(KEY).is_in(matched))
        new_keys = new_rows[KEY]
        chunks: dict[str, Iterable[list[_Pending]]] = {"Lead": (), "Contact": ()}
        target = lead_od if ls.create else contact_od if cs.create_when_lead_off else None
        if target is None:
            self.skip_all(lead_od, new_keys, "create_disabled")
        elif self.gap(target):
            self.fail_gap(target, new_keys)
        elif cannot_create := self.refused(target, "create"):
            self.fail_all(target, new_keys, *cannot_create)
        elif target is lead_od:
            chunks["Lead"] = self.new_records(lead_od, lead.frame.filter(pl.col(KEY).is_in(new_keys.implode())),
                                              lead.modes, defaults={"LastName": NOT_PROVIDED, "Company": NOT_PROVIDED},
                                              deleted=_deleted(new_rows))
        else:
            link = {"AccountId": pl.col(COMPANY_ID)} if "AccountId" in self.schema(contact_od).fields else {}
            chunks["Contact"] = self.new_records(contact_od,
                                                 contact.frame.filter(pl.col(KEY).is_in(new_keys.implode())),
                                                 contact.modes, defaults={"LastName": NOT_PROVIDED}, extra=link,
                                                 deleted=_deleted(new_rows))
        for obj in ("Lead", "Contact"):
            if self.mode == "plan":
                self.plan_only(pending[obj])
                for _ in chunks[obj]:
                    pass
            else:
                for batch in (pending[obj], *chunks[obj]):
                    self.settle(self.write(batch, obj))

    def find_people(self, od: ObjectDef, emails: list[str], fields: list[str], where: str | None,
                    failed: dict[str, str], match_field: str = "Email") -> dict[str, dict[str, Any]]:
        if not emails:
            return {}
        schema = self.schema(od)
        # Besides the desired fields, read what classify() compares as if_empty extras:
        # our sync key, and on Contacts the Account link.
        wanted = [*fields, od.sync_key_field, "AccountId" if od.link_field == "AccountId" else None]
        select = ["Id", "Email", "CreatedDate",
                  *[f for f in dict.fromkeys(wanted) if f and f in schema.fields and f not in ("Id", "Email")]]
        found: dict[str, dict[str, Any]] = {}
        for rec in sorted(self.lookup(od.api_name, match_field, emails, select, where, failed),
                          key=lambda r: r.get("CreatedDate") or ""):
            key = str(rec.get(match_field) or "")
            found.setdefault(key.strip().lower() if match_field == "Email" else key, rec)  # oldest duplicate wins
        return found

    def converted_contacts(self, od: ObjectDef, emails: list[str], fields: list[str], failed: dict[str, str]
                           ) -> dict[str, dict[str, Any]]:
        """email -> the Contact a rep converted that person's Lead into, whatever the Contact's own email.

        A converted Lead is read-only (``CANNOT_UPDATE_CONVERTED_LEAD``) and keeps our sync key, so
        neither an update nor an idempotent create can go to it: the person is written to its Contact.
        """
        converted = self.lookup("Lead", "Email", emails, ["Email", "ConvertedContactId", "CreatedDate"],
                                "IsConverted = true", failed)
        by_contact: dict[str, str] = {}
        for rec in sorted(converted, key=lambda r: r.get("CreatedDate") or ""):
            if rec.get("ConvertedContactId"):
                by_contact.setdefault(str(rec["ConvertedContactId"]), (rec.get("Email") or "").strip().lower())
        lost: dict[str, str] = {}
        found = self.find_people(od, list(by_contact), fields, None, lost, match_field="Id")
        failed.update({by_contact[cid]: reason for cid, reason in lost.items() if cid in by_contact})
        return {by_contact[cid]: rec for cid, rec in found.items() if cid in by_contact}

    # -- choosing how to read -----------------------------------------------------------------
    def _count_or_none(self, sobject: str, where: str) -> int | None:
        """The count, or None when it could not be had (the lookup then goes on keyed, as before)."""
        try:
            return int(self.conn.count(sobject, where))
        except (ApiLimitExhausted, AuthenticationError):
            raise
        except CrmError:
            return None

    def _bulk_or_none(self, sobject: str, select: list[str], where: str) -> list[dict[str, Any]] | None:
        """Every record the lookup could find, by one Bulk query job; None if the job failed."""
        try:
            return list(self.conn.query_bulk(sobject, select, where))
        except (ApiLimitExhausted, AuthenticationError):
            raise
        except CrmError:
            return None

    def _path(self, keyed_calls: int, sobject: str, where: str, keys: int) -> tuple[str, int | None]:
        """``("none" | "keyed" | "bulk", count)``: the cheapest way, by ``sync.read_path`` and the cost model."""
        path = self.settings.sync.read_path
        if path == "keyed" or (path == "auto" and keyed_calls <= 1):
            return "keyed", None
        if path == "auto" and self.written_before and keyed_calls <= self.conn.bulk_query_calls(1):
            return "keyed", None  # records of ours exist (the count is not 0) and no Bulk job is cheaper
        if path == "auto" and keys < self.settings.sync.bulk_read_min_share * self.known_records.get(sobject, 0):
            return "keyed", None  # the state alone shows the keys are below the share of the object
        if path == "bulk":
            return "bulk", None
        total = self._count_or_none(sobject, where)
        if total is None:
            return "keyed", None
        if total == 0:
            return "none", 0
        if (path == "auto" and self.conn.bulk_query_calls(total) < keyed_calls
                and keys >= self.settings.sync.bulk_read_min_share * total):
            return "bulk", total
        return "keyed", total

    def lookup(self, sobject: str, match_field: str, keys: list[str], select: list[str], where: str | None,
               failed: dict[str, str]) -> list[dict[str, Any]]:
        """Records of ``sobject`` whose ``match_field`` is one of ``keys``: what ``conn.find`` returns,
        read the cheapest way (see the module docstring). The count and the Bulk query cover
        exactly what the keyed statements could match: the match field non-null, under ``where``;
        a Bulk query's rows are then kept when their value is one of the keys (case-insensitively,
        as SOQL compares text; ``Id`` exactly)."""
        if not keys:
            return []
        cond = f"{match_field} != null" + (f" AND ({where})" if where else "")
        keyed = self.conn.find_calls(sobject, match_field, keys, select, where=where)
        path, _ = self._path(keyed, sobject, cond, len(keys))
        if path == "none":
            return []
        if path == "bulk":
            rows = self._bulk_or_none(sobject, [*select, match_field], cond)
            if rows is not None:
                if match_field == "Id":
                    wanted = set(keys)
                    return [r for r in rows if r.get("Id") in wanted]
                folded = {k.lower() for k in keys}
                return [r for r in rows if str(r.get(match_field) or "").lower() in folded]
        return list(self.conn.find(sobject, match_field, keys, select, where=where, failed=failed))

    def lookup_containing(self, sobject: str, match_field: str, needles: dict[str, list[str]], select: list[str],
                          failed: dict[str, str]) -> list[dict[str, Any]]:
        """What ``conn.find_containing`` returns, read the cheapest way. A Bulk query returns every
        record with a ``match_field`` (a superset of the ``LIKE`` matches): the caller keeps only
        those whose value normalises to a key it asked for, which each ``LIKE`` match also had to."""
        if not needles:
            return []
        keyed = self.conn.contains_calls(sobject, match_field, needles, select)
        path, _ = self._path(keyed, sobject, f"{match_field} != null", len(needles))
        if path == "none":
            return []
        if path == "bulk":
            rows = self._bulk_or_none(sobject, [*select, match_field], f"{match_field} != null")
            if rows is not None:
                return rows
        return list(self.conn.find_containing(sobject, match_field, needles, select, failed=failed))
