"""The checks a record's values pass before they are written: types, lengths, picklists, required
fields, references, unique fields and the (switchable) duplicate rule on email.

:meth:`~ValidationMixin._values` turns a JSON record into typed values (a malformed record fails the
whole call with 400); :meth:`~ValidationMixin._validate` then checks them against the field catalog
and the call's view of the store, and answers per-record errors as Salesforce reports them.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.salesforce.batch import _Batch, index_key
from connectors.sandbox.salesforce.errors import api_error, rec_error
from connectors.sandbox.salesforce.security import SecurityMixin
from connectors.sandbox.salesforce.setup_objects import SETUP_OBJECTS
from connectors.sandbox.salesforce_schema import (
    EMAIL_RE,
    ID_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    USER_ID,
    FieldDef,
    JsonTypeError,
    id_type,
    normalize_id,
)


class ValidationMixin(SecurityMixin):
    def _values(self, sobject: str, record: dict[str, Any]) -> tuple[dict[str, Any], Any, bool]:
        """JSON record -> (values by canonical field name, Id if given, Id given?); 400 for what the parser rejects."""
        if not isinstance(record, dict):
            raise api_error(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
        fields = self._fields[sobject]
        values: dict[str, Any] = {}
        rid, has_id = None, False
        for key, value in record.items():
            if key == "attributes":
                continue
            fd = fields.get(key.lower())
            if fd is None:
                raise api_error(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject}", [])
            if fd.name == "Id":
                rid, has_id = value, True
                continue
            try:
                values[fd.name] = fd.from_json(value)
            except JsonTypeError as exc:
                raise api_error(400, "JSON_PARSER_ERROR", str(exc)) from None
        return values, rid, has_id

    def _check_value(self, fd: FieldDef, value: Any) -> tuple[dict[str, Any] | None, Any]:
        kind = fd.type
        if kind in STRING_TYPES:
            text = str(value)
            if fd.length and len(text) > fd.length:
                return rec_error(
                    "STRING_TOO_LONG", f"{fd.label}: data value too large: {text} (max length={fd.length})", [fd.name]
                ), None
            if kind == "email" and not EMAIL_RE.match(text):
                return rec_error("INVALID_EMAIL_ADDRESS", f"{fd.label}: invalid email address: {text}", [fd.name]), None
            if kind == "picklist" and fd.restricted_picklist and text not in fd.picklist:
                return rec_error(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fd.label}: bad value for restricted picklist field: {text}", [fd.name],
                ), None
            return None, text
        if kind in NUMBER_TYPES:
            normalized = fd.normalize_number(value)
            if normalized is None:
                return rec_error(
                    "NUMBER_OUTSIDE_VALID_RANGE", f"{fd.label}: value outside of valid range on numeric field: {value}",
                    [fd.name],
                ), None
            return None, normalized
        return None, value

    def _check_reference(self, b: _Batch, fd: FieldDef, value: Any) -> tuple[dict[str, Any] | None, Any]:
        rid = normalize_id(value)
        if rid is None:
            return rec_error("MALFORMED_ID", f"{fd.label}: id value of incorrect type: {value}", [fd.name]), None
        target = fd.reference_to[0]
        if id_type(rid) != target:
            return rec_error(
                "FIELD_INTEGRITY_EXCEPTION", f"{fd.label}: id value of incorrect type: {value}", [fd.name]
            ), None
        if target == "User":
            if rid != USER_ID:
                return rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), None
            return None, rid
        rec = b.get(rid)
        if rec is None:
            return rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), None
        if rec[1]:
            return rec_error("ENTITY_IS_DELETED", "entity is deleted"), None
        return None, rid

    def _validate(
        self, b: _Batch, sobject: str, values: dict[str, Any], old: dict[str, Any] | None, creating: bool,
        self_id: str | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        fields = self._fields[sobject]
        errors: list[dict[str, Any]] = []
        no_access: list[str] = []
        clean: dict[str, Any] = {}
        for name, value in values.items():
            fd = fields[name.lower()]
            if not (fd.createable if creating else fd.updateable):
                no_access.append(fd.name)
                continue
            if value == "" and (fd.type in STRING_TYPES or fd.type in ID_TYPES):
                value = None
            if value is None and fd.type == "boolean":
                value = fd.default_value if fd.default_value is not None else False
            if value is not None:
                err, value = self._check_value(fd, value)
                if err:
                    errors.append(err)
                    continue
            clean[fd.name] = value
        if no_access:
            errors.insert(0, rec_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(no_access)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                no_access,
            ))
        if errors:
            return errors, None
        data = dict(old) if old else {}
        for name, value in clean.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if creating:
            for name, default in self._defaults[sobject]:
                if name not in data:
                    data[name] = default
        missing = [name for name in self._required[sobject] if data.get(name) is None]
        if not creating:
            missing += [
                name for name, value in clean.items()
                if value is None and name not in missing and not fields[name.lower()].nillable
            ]
        if missing:
            return [rec_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                              missing)], None
        for name, value in clean.items():
            fd = fields[name.lower()]
            if fd.type == "reference" and value is not None:
                err, norm = self._check_reference(b, fd, value)
                if err:
                    return [err], None
                data[name] = norm
        for name, value in clean.items():
            fd = fields[name.lower()]
            if not fd.unique or value is None:
                continue
            key = index_key(fd, value)
            assert key is not None
            for other in sorted(b.ids_for_key(sobject, fd.name, key) - {self_id}):
                rec = b.get(other)
                if rec is None or rec[1] or (fd.case_sensitive and rec[2].get(fd.name) != value):
                    continue
                return [rec_error(
                    "DUPLICATE_VALUE", f"duplicate value found: {fd.name} duplicates value on record with id: {other}"
                )], None
        if sobject in SETUP_OBJECTS:
            setup_errors = self._setup_rules(b, sobject, data, self_id)
            if setup_errors:
                return setup_errors, None
        if self.config.get("duplicate_rule_email") and "email" in fields and data.get("Email") and (
            creating or "Email" in clean
        ):
            key = str(data["Email"]).lower()
            dupes = []
            for other in sorted(b.snapshot_ids(sobject, "Email", key) - {self_id or ""}):
                rec = b.get(other)
                if rec is not None and not rec[1] and str(rec[2].get("Email") or "").lower() == key:
                    dupes.append(other)
            if dupes:
                return [self._duplicates_error(sobject, dupes)], None
        return [], data

    def _duplicates_error(self, sobject: str, ids: list[str]) -> dict[str, Any]:
        v = self._request_version
        return rec_error(
            "DUPLICATES_DETECTED", "Use one of these records?", [],
            duplicateResult={
                "allowSave": False,
                "duplicateRule": f"Standard_{sobject}_Duplicate_Rule",
                "duplicateRuleEntityType": sobject,
                "errorMessage": "Use one of these records?",
                "matchResults": [{
                    "entityType": sobject,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": [{
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {
                            "attributes": {"type": sobject, "url": self._record_url(v, sobject, rid)}, "Id": rid,
                        },
                    } for rid in ids],
                    "rule": f"Standard_{sobject}_Match_Rule_v1_0",
                    "size": len(ids),
                    "success": True,
                }],
            },
        )
