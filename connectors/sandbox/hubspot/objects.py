"""The CRM v3 objects endpoints: single-record create / read / update / archive, the paged
list, and batch read / create / update / upsert / archive.

The batch handlers keep HubSpot's inconvenient semantics: one bad input fails the whole batch
and nothing is written, unless every input carries an ``objectWriteTraceId``, which turns the
answer into a 207 with per-input errors; a batch naming one record twice is a 400; upserts key
on ``email`` (contacts) or a unique property and report which records are ``new``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.associations import AssociationsMixin
from connectors.sandbox.hubspot.core import _flag, now_ms
from connectors.sandbox.hubspot.errors import ApiError, Failure, validation_error
from connectors.sandbox.hubspot.model import ASSOCIATION_TYPES, OBJECT_TYPES, PORTAL_ID, ObjectType, iso_ms
from connectors.sandbox.hubspot.records import RecordsMixin
from connectors.sandbox.hubspot.store import Obj

LIST_MAX_LIMIT = 100


def _list_arg(req: Request, name: str) -> list[str] | None:
    values = req.query.get(name)
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


class ObjectsMixin(RecordsMixin, AssociationsMixin):
    """The objects handlers (see the module docstring)."""

    # -- batch create / single create --------------------------------------------------------------
    def _plan(
        self, ot: ObjectType, inputs: list[dict[str, Any]]
    ) -> tuple[list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]], dict[int, Failure]]:
        """Check create inputs: (index, clean values, associations) for the good ones, failures by index."""
        failures: dict[int, Failure] = {}
        planned: list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]] = []
        for idx, item in enumerate(inputs):
            clean, problems = self._check(ot, item.get("properties"))
            if problems:
                failures[idx] = Failure.invalid(problems)
                continue
            links, failure = self._association_specs(ot, item.get("associations"))
            if failure is not None:
                failures[idx] = failure
                continue
            planned.append((idx, clean, links))
        failures.update(self._unique_failures(ot, [(idx, None, clean) for idx, clean, _ in planned]))
        planned = [p for p in planned if p[0] not in failures]
        self._name_winners(ot, failures, [p[0] for p in planned])
        return planned, failures

    def _create(
        self, ot: ObjectType, planned: list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]]
    ) -> list[tuple[int, Obj, list[str]]]:
        """Write planned creates: (index, object, written property names)."""
        if not planned:
            return []
        stamp = now_ms()
        ids = self._next_ids(len(planned))
        made: list[tuple[int, Obj, list[str]]] = []
        for (idx, clean, _), oid in zip(planned, ids, strict=True):
            props = {k: v for k, v in clean.items() if v != ""}
            props.setdefault("createdate", iso_ms(stamp))
            made.append((idx, Obj(ot.name, oid, props, stamp, stamp), list(clean)))
        self._insert([obj for _, obj, _ in made], self._unique_props(ot))
        for (_, _, links), (_, obj, _) in zip(planned, made, strict=True):
            for to_ot, to_id, type_id in links:
                self._associate(ot, obj.id, to_ot, to_id, type_id)
        return made

    def _association_specs(self, ot: ObjectType, raw: Any) -> tuple[list[tuple[ObjectType, int, int]], Failure | None]:
        """Associations given with a create: [{to: {id}, types: [{associationCategory, associationTypeId}]}]."""
        if not raw:
            return [], None
        links: list[tuple[ObjectType, int, int]] = []
        for spec in raw if isinstance(raw, list) else []:
            to_id = str(((spec or {}).get("to") or {}).get("id", ""))
            for kind in (spec or {}).get("types") or []:
                at = ASSOCIATION_TYPES.get(int(kind.get("associationTypeId") or 0))
                if at is None or at.from_type != ot.name or kind.get("associationCategory") != "HUBSPOT_DEFINED":
                    return [], Failure(
                        400,
                        "VALIDATION_ERROR",
                        f"{kind.get('associationCategory')} {kind.get('associationTypeId')} is not a valid "
                        f"association type from {ot.name}",
                    )
                to_ot = OBJECT_TYPES[at.to_type]
                if not to_id.isdigit() or not self._load(to_ot.name, [int(to_id)]):
                    return [], Failure(
                        400,
                        "VALIDATION_ERROR",
                        f"One or more associations are invalid: {to_ot.singular} {to_id} does not exist",
                        context={"toObjectId": [to_id]},
                    )
                links.append((to_ot, int(to_id), at.type_id))
        return links, None

    def batch_create(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        with self.transaction():
            planned, failures = self._plan(ot, inputs)
            if failures and not multi:  # one bad input fails the whole batch; nothing is created
                return failures[min(failures)].whole()
            made = self._create(ot, planned)
        results = [self._written(ot, obj, names) for _, obj, names in made]
        if failures:
            errors = [failures[i].per_input(str(inputs[i]["objectWriteTraceId"])) for i in sorted(failures)]
            return Response(207, self._batch(results, errors, started))
        return Response(201, self._batch(results, None, started))

    def create_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        body = self._body(req)
        if not isinstance(body, dict):
            raise validation_error('Invalid input JSON: expected an object with "properties"')
        with self.transaction():
            planned, failures = self._plan(ot, [body])
            if failures:
                return failures[0].whole()
            made = self._create(ot, planned)
        _, obj, names = made[0]
        return Response(201, self._written(ot, obj, names))

    # -- batch update / upsert / single update ----------------------------------------------------
    def _duplicate_ids(self, ids: list[str]) -> None:
        seen: set[str] = set()
        dupes = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
        if dupes:
            raise validation_error(f"Duplicate IDs found in batch input: {sorted(set(dupes))}. IDs must be unique")

    def _apply_updates(
        self, ot: ObjectType, updates: list[tuple[int, Obj, dict[str, str]]]
    ) -> tuple[list[tuple[int, Obj, list[str]]], dict[int, Failure]]:
        """Check unique values, then write (index, object, clean values); returns written and failures."""
        failures = self._unique_failures(ot, [(idx, obj.id, clean) for idx, obj, clean in updates])
        stamp = now_ms()
        saved: list[tuple[Obj, dict[str, str]]] = []
        done: list[tuple[int, Obj, list[str]]] = []
        for idx, obj, clean in updates:
            if idx in failures:
                continue
            before = dict(obj.props)
            for k, v in clean.items():
                if v == "":
                    obj.props.pop(k, None)
                else:
                    obj.props[k] = v
            obj.updated_ms = max(stamp, obj.updated_ms + 1)
            saved.append((obj, before))
            done.append((idx, obj, list(clean)))
        self._save(saved, self._unique_props(ot))
        return done, failures

    def batch_update(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        id_props = {item.get("idProperty") for item in inputs}
        for id_property in id_props:
            self._id_property(ot, id_property, allow_email=False)
        keys = [str(item.get("id", "")) for item in inputs]
        self._duplicate_ids(keys)
        resolved: dict[int, int] = {}
        for id_property in id_props:
            prop = self._id_property(ot, id_property, allow_email=False)
            group = [i for i, item in enumerate(inputs) if item.get("idProperty") == id_property]
            found = self._resolve(ot, [keys[i] for i in group], prop)
            resolved.update({i: found[keys[i]] for i in group if keys[i] in found})
        objs = self._load(ot.name, resolved.values())
        failures: dict[int, Failure] = {}
        missing: list[int] = []
        updates: list[tuple[int, Obj, dict[str, str]]] = []
        for idx, item in enumerate(inputs):
            if idx not in resolved or resolved[idx] not in objs:
                missing.append(idx)
                continue
            clean, problems = self._check(ot, item.get("properties"))
            if problems:
                failures[idx] = Failure.invalid(problems)
                continue
            updates.append((idx, objs[resolved[idx]], clean))
        if failures and not multi:
            return failures[min(failures)].whole()
        with self.transaction():
            if not multi:
                unique = self._unique_failures(ot, [(i, o.id, c) for i, o, c in updates])
                if unique:
                    return unique[min(unique)].whole()
            done, more = self._apply_updates(ot, updates)
        failures.update(more)
        results = [self._written(ot, obj, names) for _, obj, names in done]
        errors = [failures[i].per_input(str(inputs[i]["objectWriteTraceId"])) for i in sorted(failures)]
        errors += self._not_found_errors(ot, [keys[i] for i in missing], [inputs[i] for i in missing], multi)
        if errors:
            return Response(207, self._batch(results, errors, started))
        return Response(200, self._batch(results, None, started))

    def _not_found_errors(
        self, ot: ObjectType, keys: list[str], items: list[dict[str, Any]], multi: bool
    ) -> list[dict[str, Any]]:
        if not keys:
            return []
        message = f"Could not get some {ot.label} objects, they may be deleted or not exist. Check that ids are valid."
        if multi:
            return [
                Failure(404, "OBJECT_NOT_FOUND", message, context={"ids": [k]}).per_input(
                    str(item["objectWriteTraceId"])
                )
                for k, item in zip(keys, items, strict=True)
            ]
        return [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": message, "context": {"ids": keys}}]

    def batch_upsert(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        for item in inputs:
            if not item.get("idProperty"):
                raise validation_error("idProperty is required for upsert: name a property whose values are unique")
            prop = self._id_property(ot, item.get("idProperty"), allow_email=True)
            if prop is None:
                raise validation_error(
                    f"Unable to perform update/upsert by non-unique {ot.type_id} property hs_object_id "
                    f"in portal ID {PORTAL_ID}"
                )
        keys = [str(item.get("id", "")) for item in inputs]
        self._duplicate_ids(
            [
                f"{item['idProperty']}:{self._unique_key(item['idProperty'], k)}"
                for item, k in zip(inputs, keys, strict=True)
            ]
        )
        existing: dict[int, int] = {}
        for prop in {item["idProperty"] for item in inputs}:
            group = [i for i, item in enumerate(inputs) if item["idProperty"] == prop]
            found = self._resolve(ot, [keys[i] for i in group], prop)
            existing.update({i: found[keys[i]] for i in group if keys[i] in found})
        objs = self._load(ot.name, existing.values())
        failures: dict[int, Failure] = {}
        updates: list[tuple[int, Obj, dict[str, str]]] = []
        creates: list[tuple[int, dict[str, Any]]] = []
        for idx, item in enumerate(inputs):
            props = item.get("properties")
            if idx in existing and existing[idx] in objs:
                clean, problems = self._check(ot, props)
                if problems:
                    failures[idx] = Failure.invalid(problems)
                else:
                    clean.pop(item["idProperty"], None)
                    updates.append((idx, objs[existing[idx]], clean))
            else:
                merged = dict(props) if isinstance(props, dict) else props
                if isinstance(merged, dict):
                    merged[item["idProperty"]] = keys[idx]
                creates.append((idx, {"properties": merged}))
        with self.transaction():
            planned, create_failures = self._plan(ot, [c for _, c in creates])
            for local, failure in create_failures.items():
                failures[creates[local][0]] = failure
            if not multi:
                failures.update(self._unique_failures(ot, [(i, o.id, c) for i, o, c in updates]))
                if failures:
                    return failures[min(failures)].whole()
            done, more = self._apply_updates(ot, [u for u in updates if u[0] not in failures])
            failures.update(more)
            made = self._create(ot, planned)
        results: list[tuple[int, dict[str, Any]]] = []
        for idx, obj, names in done:
            names = [*names, inputs[idx]["idProperty"]]  # the key comes back too
            results.append((idx, {**self._written(ot, obj, names), "new": False}))
        for local, obj, names in made:
            results.append((creates[local][0], {**self._written(ot, obj, names), "new": True}))
        ordered = [r for _, r in sorted(results, key=lambda x: x[0])]
        if failures:
            errors = [failures[i].per_input(str(inputs[i].get("objectWriteTraceId"))) for i in sorted(failures)]
            return Response(207, self._batch(ordered, errors, started))
        return Response(200, self._batch(ordered, None, started))

    def update_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        key = unquote(req.params["oid"])
        prop = self._id_property(ot, req.arg("idProperty"))
        found = self._resolve(ot, [key], prop)
        objs = self._load(ot.name, found.values())
        if key not in found or found[key] not in objs:
            return self._not_found()
        body = self._body(req)
        clean, problems = self._check(ot, (body or {}).get("properties") if isinstance(body, dict) else None)
        if problems:
            return Failure.invalid(problems).whole()
        with self.transaction():
            done, failures = self._apply_updates(ot, [(0, objs[found[key]], clean)])
        if failures:
            return failures[0].whole()
        _, obj, names = done[0]
        return Response(200, self._written(ot, obj, names))

    @staticmethod
    def _not_found() -> Response:
        return ApiError(404, "OBJECT_NOT_FOUND", "resource not found").response()

    # -- reads ----------------------------------------------------------------------------------
    def batch_read(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        body, inputs = self._inputs(req)
        prop = self._id_property(ot, body.get("idProperty"), allow_email=True)
        archived = _flag(req.arg("archived"))
        keys = list(dict.fromkeys(str(item.get("id", "")) for item in inputs))
        if archived:
            numeric = [int(k) for k in keys if k.isdigit()] if prop is None else []
            objs = self._load(ot.name, numeric, archived=True)
            found = {k: int(k) for k in keys if k.isdigit() and int(k) in objs}
        else:
            found = self._resolve(ot, keys, prop)
            objs = self._load(ot.name, found.values())
        names = body.get("properties") or []
        history = body.get("propertiesWithHistory") or []
        results = [
            self._public(ot, objs[found[k]], names, history=history) for k in keys if k in found and found[k] in objs
        ]
        missing = [k for k in keys if k not in found or found[k] not in objs]
        if missing:
            return Response(207, self._batch(results, self._not_found_errors(ot, missing, [], False), started))
        return Response(200, self._batch(results, None, started))

    def get_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        key = unquote(req.params["oid"])
        prop = self._id_property(ot, req.arg("idProperty"))
        archived = _flag(req.arg("archived"))
        if archived:
            objs = self._load(ot.name, [int(key)] if key.isdigit() and prop is None else [], archived=True)
            found = {key: int(key)} if key.isdigit() else {}
        else:
            found = self._resolve(ot, [key], prop)
            objs = self._load(ot.name, found.values())
        if key not in found or found[key] not in objs:
            return self._not_found()
        obj = objs[found[key]]
        return Response(
            200,
            self._public(
                ot,
                obj,
                _list_arg(req, "properties"),
                history=_list_arg(req, "propertiesWithHistory"),
                associations=_list_arg(req, "associations"),
            ),
        )

    def list_objects(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        limit = self._int_arg(req, "limit", 10)
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise validation_error(f"limit must be between 1 and {LIST_MAX_LIMIT}, got {limit}")
        after = self._int_arg(req, "after", 0)
        archived = _flag(req.arg("archived"))
        rows = self.db.execute(
            "SELECT * FROM hs_objects WHERE otype = ? AND archived = ? AND id >= ? ORDER BY id LIMIT ?",
            (ot.name, int(archived), after, limit + 1),
        ).fetchall()
        objs = [self._row(r) for r in rows]
        names = _list_arg(req, "properties")
        history = _list_arg(req, "propertiesWithHistory")
        assoc = _list_arg(req, "associations")
        body: dict[str, Any] = {
            "results": [self._public(ot, o, names, history=history, associations=assoc) for o in objs[:limit]]
        }
        if len(objs) > limit:
            nxt = str(objs[limit].id)
            body["paging"] = {"next": {"after": nxt, "link": f"/crm/v3/objects/{ot.name}?after={nxt}"}}
        return Response(200, body)

    # -- archive ----------------------------------------------------------------------------------
    def batch_archive(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        ids = [int(str(i.get("id"))) for i in inputs if str(i.get("id", "")).isdigit()]
        with self.transaction():
            self._archive(ot.name, ids)
        return Response(204)

    def archive_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        key = unquote(req.params["oid"])
        if key.isdigit():
            with self.transaction():
                self._archive(ot.name, [int(key)])
        return Response(204)
