"""The admin load (``POST /__sandbox/load/{type}``, :mod:`connectors.sandbox.hubspot.load`): records
loaded at once read back through the real SDK exactly as records created through the API do,
their associations included."""

from __future__ import annotations

from typing import Any

import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputForCreate,
)

from tests.sandbox.hubspot.conftest import read_by_email

PROPS = ["email", "firstname", "lastname", "jobtitle", "lifecyclestage", "hs_object_id", "createdate",
         "lastmodifieddate"]
#: What differs between two records by construction: their id, email and when they were made.
OWN = {"email", "hs_object_id", "createdate", "lastmodifieddate"}
LINK = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279},
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]


def load(sandbox: Any, otype: str, rows: list[dict[str, Any]]) -> requests.Response:
    return requests.post(f"{sandbox.hubspot_url}/__sandbox/load/{otype}", json=rows, timeout=30)


def links(hs: HubSpot, contact_ids: list[str]) -> dict[str, list[tuple[str, list[int]]]]:
    wanted = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in contact_ids])
    answer = hs.crm.associations.v4.batch_api.get_page("contacts", "companies", wanted)
    return {r._from.id: [(t.to_object_id, sorted(a.type_id for a in t.association_types)) for t in r.to]
            for r in answer.results}


def test_loaded_contacts_read_back_like_created_ones_with_their_company(hs: HubSpot, sandbox: Any) -> None:
    values = {"firstname": "Ada", "lastname": "Lovelace", "jobtitle": "CTO", "lifecyclestage": "lead"}
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Acme", "domain": "acme.com"})).id
    [loaded_company] = load(sandbox, "companies", [{"properties": {"name": "Globex", "domain": "globex.com"}}]).json()[
        "ids"]
    hs.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        SimplePublicObjectBatchInputForCreate(properties={"email": "api@acme.com", **values},
                                              associations=[{"to": {"id": company}, "types": LINK}])]))
    answer = load(sandbox, "contacts", [{"properties": {"email": "Loaded@Globex.com", **values},
                                         "associations": [{"to": {"id": loaded_company}, "types": LINK}]}])
    assert answer.status_code == 200, answer.text
    [loaded_id] = answer.json()["ids"]
    answered = read_by_email(hs, ["api@acme.com", "loaded@globex.com"], PROPS).results
    read = {r.properties["email"].lower(): r for r in answered}
    created, loaded = read["api@acme.com"], read["loaded@globex.com"]
    assert loaded.id == loaded_id == loaded.properties["hs_object_id"]
    assert {k: v for k, v in loaded.properties.items() if k not in OWN} == {
        k: v for k, v in created.properties.items() if k not in OWN}
    assert loaded.properties["createdate"] and loaded.created_at and loaded.updated_at
    assert links(hs, [created.id, loaded_id]) == {created.id: [(company, [1, 279])],
                                                   loaded_id: [(loaded_company, [1, 279])]}
    # the company's side, and a search by the loaded email, see it too
    back = hs.crm.associations.v4.basic_api.get_page("companies", loaded_company, "contacts")
    assert [(r.to_object_id, sorted(t.type_id for t in r.association_types)) for r in back.results] == [
        (loaded_id, [2, 280])]
    found = hs.crm.contacts.search_api.do_search({"filterGroups": [{"filters": [
        {"propertyName": "email", "operator": "EQ", "value": "loaded@globex.com"}]}]})
    assert [r.id for r in found.results] == [loaded_id]


def test_a_load_keeps_the_dates_it_is_given(hs: HubSpot, sandbox: Any) -> None:
    [cid] = load(sandbox, "contacts", [{"properties": {"email": "old@acme.com"}, "createdAt": "2024-01-31T12:00:00Z",
                                         "updatedAt": "2024-02-01T08:30:00.000Z"}]).json()["ids"]
    [row] = read_by_email(hs, ["old@acme.com"], ["createdate", "lastmodifieddate"]).results
    assert row.id == cid
    assert row.properties["createdate"] == "2024-01-31T12:00:00.000Z"
    assert row.properties["lastmodifieddate"] == "2024-02-01T08:30:00.000Z"
    assert row.created_at.isoformat().startswith("2024-01-31T12:00:00")


def test_one_bad_record_loads_nothing_and_a_load_is_not_api_use(hs: HubSpot, sandbox: Any) -> None:
    sandbox.admin("hubspot", "DELETE", "calls")
    bad = load(sandbox, "contacts", [{"properties": {"email": "ok@acme.com"}}, {"properties": {"nope": "x"}}])
    assert bad.status_code == 400 and bad.json()["index"] == 1 and "PROPERTY_DOESNT_EXIST" in bad.text
    dupe = load(sandbox, "contacts", [{"properties": {"email": "same@acme.com"}},
                                      {"properties": {"email": "SAME@acme.com"}}])
    assert dupe.status_code == 400 and dupe.json()["index"] == 1
    ok = load(sandbox, "contacts", [{"properties": {"email": f"p{i}@acme.com"}} for i in range(300)])
    assert ok.json()["loaded"] == 300
    assert sandbox.calls("hubspot")["total"] == 0
    assert not read_by_email(hs, ["ok@acme.com", "same@acme.com"]).results
