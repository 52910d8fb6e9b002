"""HubSpot properties: what an object type has (:meth:`describe`), and creating ours.

Properties are read once per object type and cached; :meth:`create_properties` creates only
the ones missing (and their property group), so running it again creates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial

import hubspot.crm.properties as hs_props

from connectors.crm import FieldSpec, ObjectSchema
from connectors.errors import CrmError
from connectors.hubspot.transport import HubSpotTransport
from connectors.hubspot.wire import field_info, property_create_body


class HubSpotSchema(HubSpotTransport):
    """The account (portal) written to, its properties and property groups (CRM v3 properties API)."""

    _portal_id: str | None = None
    _account: dict[str, object] | None = None

    def org_id(self) -> str:
        """The portal id (Hub ID) of the token's account; one call per connector.

        ``GET /account-info/v3/details`` (HubSpot's account information API, any token). Sync
        state is kept per portal, so a token for another account means a first sync there.
        """
        if self._portal_id is None:
            api = self._properties.api_client
            resp = self._request(
                "GET /account-info/v3/details", write=False,
                call=lambda: api.call_api("/account-info/v3/details", "GET",
                                          header_params={"Accept": "application/json"}, auth_settings=["oauth2"],
                                          _preload_content=False, _request_timeout=self._timeout),
            )
            body = resp.body if isinstance(resp.body, Mapping) else {}
            if not body.get("portalId"):
                raise CrmError("GET /account-info/v3/details: the answer names no portalId", crm="hubspot")
            self._portal_id = str(body["portalId"])
            self._account = dict(body)
        return self._portal_id

    def org_details(self) -> dict[str, object]:
        """The account details (``portalId``, ``accountType``, ``timeZone``, ``uiDomain``, …)."""
        self.org_id()
        return dict(self._account or {})

    # -- schema ------------------------------------------------------------------------
    def describe(self, object_type: str, *, refresh: bool = False) -> ObjectSchema:
        """Every (non-archived) property of ``object_type``, cached until ``refresh``."""
        self._check_type(object_type)
        if not refresh and object_type in self._schemas:
            return self._schemas[object_type]
        resp = self._request(
            f"GET /crm/v3/properties/{object_type}", write=False,
            call=lambda: self._properties.get_all_with_http_info(object_type, archived=False, **self._kw()),
        )
        results = resp.body.get("results", []) if isinstance(resp.body, Mapping) else []
        fields = {str(p["name"]): field_info(p) for p in results if isinstance(p, Mapping) and p.get("name")}
        schema = ObjectSchema(object_type, fields)
        self._schemas[object_type] = schema
        return schema

    def hidden_fields(self, object_type: str, names: list[str]) -> list[str]:
        """Always none: HubSpot shows an app every property of the objects its scopes reach, so a
        property the properties API does not list does not exist (or is archived)."""
        return []

    def create_properties(
        self, object_type: str, specs: list[FieldSpec], *, group: str = "warmly", group_label: str = "Warmly"
    ) -> list[str]:
        """Create the properties of ``specs`` that do not exist yet (and their group when
        missing); returns the names created. Idempotent: a second call creates nothing."""
        self._check_type(object_type)
        bodies = [property_create_body(s, group) for s in specs]  # bad kinds fail before any call
        existing = self.describe(object_type, refresh=True)
        todo = [b for b in bodies if b["name"] not in existing.fields]
        if not todo:
            return []
        self._ensure_group(object_type, group, group_label)
        created: list[str] = []
        for body in todo:
            model = hs_props.PropertyCreate(
                name=body["name"], label=body["label"], type=body["type"], field_type=body["fieldType"],
                group_name=group, description=body.get("description"),
                options=[hs_props.OptionInput(**{_snake(k): v for k, v in o.items()}) for o in body.get("options", [])]
                or None,
                has_unique_value=body.get("hasUniqueValue"),
            )
            resp = self._request(
                f"POST /crm/v3/properties/{object_type}", write=True, accept=(409,),
                call=partial(self._properties.create_with_http_info, object_type, model, **self._kw()),
            )
            if resp.status == 409 and resp.attempts == 1:
                continue  # someone created it between our read and our write
            created.append(body["name"])  # a 409 on a retry: our lost first attempt created it
        self._schemas.pop(object_type, None)
        return created

    def _ensure_group(self, object_type: str, group: str, label: str) -> None:
        resp = self._request(
            f"GET /crm/v3/properties/{object_type}/groups", write=False,
            call=lambda: self._groups.get_all_with_http_info(object_type, **self._kw()),
        )
        results = resp.body.get("results", []) if isinstance(resp.body, Mapping) else []
        if any(isinstance(g, Mapping) and g.get("name") == group for g in results):
            return
        model = hs_props.PropertyGroupCreate(name=group, label=label, display_order=-1)
        self._request(
            f"POST /crm/v3/properties/{object_type}/groups", write=True, accept=(409,),
            call=lambda: self._groups.create_with_http_info(object_type, model, **self._kw()),
        )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
