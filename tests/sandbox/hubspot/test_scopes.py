"""Scopes (:mod:`connectors.sandbox.hubspot.scopes`): the token carries the scopes config grants it; a
call outside them is HubSpot's 403 ``MISSING_SCOPES`` naming the required scopes; the private-app
token-info endpoint says which scopes the token carries.
"""

from __future__ import annotations

from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.properties import PropertyCreate

from connectors.sandbox.hubspot.scopes import ALL_SCOPES
from tests.sandbox.hubspot.conftest import configure, fail, make_pair, read_by_email

MISSING = "This app hasn't been granted all required scopes to make this call. Read more about required scopes " \
          "here: https://developers.hubspot.com/scopes."


def _without(*scopes: str) -> list[str]:
    return [s for s in ALL_SCOPES if s not in scopes]


def _upsert(hs: HubSpot, email: str) -> Any:
    batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[SimplePublicObjectBatchInputUpsert(
        id=email, id_property="email", properties={"firstname": "Ann"})])
    return hs.crm.contacts.batch_api.upsert(batch)


def _token_info(hs: HubSpot, sandbox: Any, key: str) -> Any:
    return hs.api_request({"base_url": sandbox.hubspot_url, "method": "POST",
                           "path": "/oauth/v2/private-apps/get/access-token-info", "body": {"tokenKey": key}})


def test_a_call_outside_the_tokens_scopes_is_403_missing_scopes(hs: HubSpot, sandbox_clean: Any) -> None:
    contact_id, company_id = make_pair(hs)
    configure(sandbox_clean, scopes=_without("crm.objects.contacts.write"))
    status, body, headers = fail(_upsert, hs, "ann@acme.io")
    assert status == 403
    assert {k: body[k] for k in ("status", "message", "errors", "links", "category")} == {
        "status": "error", "message": MISSING, "category": "MISSING_SCOPES",
        "errors": [{"message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": ["crm.objects.contacts.write"]}}],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
    }
    assert body["correlationId"] == headers["X-HubSpot-Correlation-Id"]
    # Reads need the read scope, which the token still has; the refused call was not counted.
    remaining = hs.crm.contacts.basic_api.get_page(limit=1, _preload_content=False).headers[
        "X-HubSpot-RateLimit-Daily-Remaining"]
    fail(_upsert, hs, "ann@acme.io")
    page = hs.crm.contacts.basic_api.get_page(limit=1, _preload_content=False)
    assert int(page.headers["X-HubSpot-RateLimit-Daily-Remaining"]) == int(remaining) - 1
    assert read_by_email(hs, ["link@acme.com"]).results[0].id == contact_id
    # Associations from contacts are contact writes.
    status, body, _ = fail(hs.crm.associations.v4.basic_api.create_default, "contacts", contact_id, "companies",
                           company_id)
    assert status == 403 and body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]


def test_properties_need_a_schema_scope_to_write_and_either_scope_to_read(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, scopes=_without("crm.schemas.contacts.read", "crm.schemas.contacts.write"))
    assert hs.crm.properties.core_api.get_all("contacts").results  # crm.objects.contacts.read suffices
    status, body, _ = fail(hs.crm.properties.core_api.create, "contacts", PropertyCreate(
        name="warmly_x", label="X", type="string", field_type="text", group_name="contactinformation"))
    assert status == 403 and body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.schemas.contacts.write"]
    configure(sandbox_clean, scopes=_without("crm.schemas.contacts.read", "crm.objects.contacts.read"))
    status, body, _ = fail(hs.crm.properties.core_api.get_all, "contacts")
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.schemas.contacts.read", "crm.objects.contacts.read"]
    assert hs.crm.companies.basic_api.get_page().results == []  # other objects unaffected


def test_token_info_lists_the_granted_scopes_and_reset_grants_all_again(hs: HubSpot, sandbox_clean: Any) -> None:
    info = _token_info(hs, sandbox_clean, sandbox_clean.token)
    assert info.status_code == 200
    body = info.json()
    assert body["scopes"] == list(ALL_SCOPES) and body["hubId"] == sandbox_clean.admin(
        "hubspot", "GET", "config")["portal_id"]
    configure(sandbox_clean, scopes=["crm.objects.contacts.read"])
    assert _token_info(hs, sandbox_clean, sandbox_clean.token).json()["scopes"] == ["crm.objects.contacts.read"]
    wrong = _token_info(hs, sandbox_clean, "not-the-token")
    assert wrong.status_code == 401 and wrong.json()["category"] == "INVALID_AUTHENTICATION"
    sandbox_clean.reset()
    assert _token_info(hs, sandbox_clean, sandbox_clean.token).json()["scopes"] == list(ALL_SCOPES)
    assert isinstance(hs.crm.contacts.basic_api.get_page(),
                      CollectionResponseSimplePublicObjectWithAssociationsForwardPaging)
