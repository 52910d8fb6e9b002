"""The HubSpot sandbox, driven only through the real hubspot-api-client.

Every behaviour a connector depends on is asserted as the SDK sees it: the model class it
deserialises (a wrong status code would make it return None), the ApiException status and
body, and the rate-limit headers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    BatchResponseLabelsBetweenObjectPair,
    BatchResponseLabelsBetweenObjectPairWithErrors,
    BatchResponsePublicAssociationMultiWithLabel,
    BatchResponsePublicAssociationMultiWithLabelWithErrors,
    BatchResponsePublicDefaultAssociation,
    PublicAssociationMultiArchive,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4 import PublicObjectId as AssocObjectId
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInputUpsert as CompanyUpsertBatch,
)
from hubspot.crm.companies import BatchResponseSimplePublicUpsertObject as CompanyUpsertResponse
from hubspot.crm.companies import SimplePublicObjectBatchInputUpsert as CompanyUpsert
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    PublicObjectSearchRequest,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import (
    BatchInputPropertyCreate,
    BatchInputPropertyName,
    BatchReadInputPropertyName,
    BatchResponseProperty,
    BatchResponsePropertyWithErrors,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyName,
    PropertyUpdate,
)

from connectors.hubspot.client import HubSpotCredentials, make_client
from connectors.sandbox.base import serve
from connectors.sandbox.hubspot import HubSpotApp

API_ERRORS = (ApiException, CompaniesApiException, PropertiesApiException, AssociationsApiException)


def fail(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
    """Call the SDK expecting an HTTP error; return (status, JSON body, headers)."""
    with pytest.raises(API_ERRORS) as info:
        call(*args, **kwargs)
    exc = info.value
    return exc.status, json.loads(exc.body) if exc.body else {}, exc.headers


def create_contacts(hs: HubSpot, n: int, prefix: str = "p", **extra: str) -> list[SimplePublicObject]:
    inputs = [
        SimplePublicObjectBatchInputForCreate(properties={"email": f"{prefix}{i}@example.com", **extra})
        for i in range(n)
    ]
    created = hs.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    assert isinstance(created, BatchResponseSimplePublicObject)
    return created.results


def read_by_email(hs: HubSpot, emails: list[str], properties: list[str] | None = None) -> Any:
    return hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            id_property="email",
            properties=properties or ["email"],
            properties_with_history=[],
            inputs=[SimplePublicObjectId(id=e) for e in emails],
        )
    )


def configure(sandbox: Any, **config: Any) -> None:
    sandbox.admin("hubspot", "POST", "config", config)


def client_for(sandbox: Any, token: str | None = None) -> HubSpot:
    env = sandbox.hubspot_env()
    if token is not None:
        env["HUBSPOT_ACCESS_TOKEN"] = token
    return make_client(HubSpotCredentials.from_env(env))


# -- single-object CRUD ------------------------------------------------------------------------------
def test_create_answers_201_with_a_numeric_id_and_parseable_timestamps(hs: HubSpot) -> None:
    created = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "ada@example.com", "firstname": "Ada"})
    )
    assert isinstance(created, SimplePublicObject)  # a 200 instead of 201 would give None
    assert created.id.isdigit() and int(created.id) > 2**31
    assert created.properties["email"] == "ada@example.com"
    assert created.properties["hs_object_id"] == created.id
    assert created.created_at.tzinfo is not None and created.updated_at >= created.created_at
    assert created.archived is False


def test_get_by_id_and_by_email_return_requested_properties_plus_the_always_set_ones(hs: HubSpot) -> None:
    created = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "Grace@Example.com", "firstname": "Grace"})
    )
    default = hs.crm.contacts.basic_api.get_by_id(created.id)
    assert set(default.properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert default.properties["lastname"] is None
    named = hs.crm.contacts.basic_api.get_by_id(created.id, properties=["jobtitle", "firstname", "no_such_prop"])
    assert set(named.properties) == {"createdate", "firstname", "hs_object_id", "jobtitle", "lastmodifieddate"}
    assert named.properties["jobtitle"] is None
    by_email = hs.crm.contacts.basic_api.get_by_id("grace@example.com", id_property="email")
    assert by_email.id == created.id


def test_get_of_a_missing_record_is_404(hs: HubSpot) -> None:
    status, body, _ = fail(hs.crm.contacts.basic_api.get_by_id, "123456789")
    assert status == 404
    assert body["message"] == "resource not found" and body["correlationId"]


def test_patch_by_id_and_by_email_updates_and_empty_string_clears(hs: HubSpot) -> None:
    created = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "lin@example.com", "jobtitle": "CTO"})
    )
    updated = hs.crm.contacts.basic_api.update(created.id, SimplePublicObjectInput(properties={"firstname": "Lin"}))
    assert isinstance(updated, SimplePublicObject) and updated.properties["firstname"] == "Lin"
    hs.crm.contacts.basic_api.update(
        "LIN@example.com", SimplePublicObjectInput(properties={"jobtitle": ""}), id_property="email"
    )
    again = hs.crm.contacts.basic_api.get_by_id(created.id, properties=["jobtitle", "firstname"])
    assert again.properties["jobtitle"] is None and again.properties["firstname"] == "Lin"
    assert again.updated_at > created.updated_at
    status, _, _ = fail(hs.crm.contacts.basic_api.update, "999", SimplePublicObjectInput(properties={"firstname": "x"}))
    assert status == 404


def test_archive_answers_204_and_hides_the_record(hs: HubSpot) -> None:
    created = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "gone@example.com"})
    )
    assert hs.crm.contacts.basic_api.archive(created.id) is None
    assert fail(hs.crm.contacts.basic_api.get_by_id, created.id)[0] == 404
    archived = hs.crm.contacts.basic_api.get_by_id(created.id, archived=True)
    assert archived.archived is True and archived.archived_at is not None
    # the email is free again
    again = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "gone@example.com"}))
    assert again.id != created.id


def test_list_pages_with_after_and_caps_limit_at_100(hs: HubSpot) -> None:
    ids = {c.id for c in create_contacts(hs, 5)}
    seen: list[str] = []
    after = None
    while True:
        page = hs.crm.contacts.basic_api.get_page(limit=2, after=after, properties=["email"])
        seen += [r.id for r in page.results]
        assert all("email" in r.properties for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert sorted(seen) == sorted(ids)
    assert fail(hs.crm.contacts.basic_api.get_page, limit=101)[0] == 400


# -- batch create -------------------------------------------------------------------------------------
def test_batch_create_answers_201_with_every_record(hs: HubSpot) -> None:
    results = create_contacts(hs, 3, jobtitle="Engineer")
    assert len(results) == 3 and len({r.id for r in results}) == 3
    assert all(r.properties["jobtitle"] == "Engineer" for r in results)


def test_one_bad_input_fails_the_whole_batch_without_trace_ids(hs: HubSpot) -> None:
    inputs = [
        SimplePublicObjectBatchInputForCreate(properties={"email": "ok@example.com"}),
        SimplePublicObjectBatchInputForCreate(properties={"email": "bad@example.com", "warmly_score": "3"}),
    ]
    status, body, _ = fail(
        hs.crm.contacts.batch_api.create, BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    )
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [
        {
            "message": 'Property "warmly_score" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["warmly_score"]},
        }
    ]
    assert "PROPERTY_DOESNT_EXIST" in body["message"] and body["correlationId"]
    assert hs.crm.contacts.basic_api.get_page().results == []  # nothing was created


def test_trace_ids_turn_a_bad_batch_into_207_with_per_input_errors(hs: HubSpot) -> None:
    create_contacts(hs, 1, prefix="taken")
    inputs = [
        SimplePublicObjectBatchInputForCreate(object_write_trace_id="t-ok", properties={"email": "fine@example.com"}),
        SimplePublicObjectBatchInputForCreate(object_write_trace_id="t-email", properties={"email": "not-an-email"}),
        SimplePublicObjectBatchInputForCreate(
            object_write_trace_id="t-dupe", properties={"email": "TAKEN0@example.com"}
        ),
        SimplePublicObjectBatchInputForCreate(
            object_write_trace_id="t-prop", properties={"email": "x@example.com", "nope": "1"}
        ),
    ]
    answer = hs.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)
    assert [r.properties["email"] for r in answer.results] == ["fine@example.com"]
    assert answer.num_errors == 3
    by_trace = {e.context["objectWriteTraceId"][0]: e for e in answer.errors}
    assert set(by_trace) == {"t-email", "t-dupe", "t-prop"}
    assert by_trace["t-email"].category == "VALIDATION_ERROR" and "INVALID_EMAIL" in by_trace["t-email"].message
    assert by_trace["t-dupe"].category == "CONFLICT" and "Contact already exists" in by_trace["t-dupe"].message
    assert "PROPERTY_DOESNT_EXIST" in by_trace["t-prop"].message
    found = read_by_email(hs, ["fine@example.com", "x@example.com"])
    assert [r.properties["email"] for r in found.results] == ["fine@example.com"]


def test_duplicate_email_is_409_conflict_naming_the_existing_id(hs: HubSpot) -> None:
    first = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "dup@example.com"}))
    status, body, _ = fail(
        hs.crm.contacts.basic_api.create, SimplePublicObjectInputForCreate(properties={"email": "DUP@example.com"})
    )
    assert status == 409
    assert body["category"] == "CONFLICT" and body["status"] == "error"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    # twice in the same batch is a conflict too, and nothing of the batch is created
    inputs = [SimplePublicObjectBatchInputForCreate(properties={"email": "twin@example.com"}) for _ in range(2)]
    status, body, _ = fail(
        hs.crm.contacts.batch_api.create, BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    )
    assert status == 409 and body["category"] == "CONFLICT"
    assert read_by_email(hs, ["twin@example.com"]).results == []


@pytest.mark.parametrize("operation", ["create", "read", "update", "upsert", "archive"])
def test_more_than_100_inputs_is_400(hs: HubSpot, operation: str) -> None:
    api = hs.crm.contacts.batch_api
    n = 101
    calls = {
        "create": lambda: api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": f"c{i}@example.com"}) for i in range(n)
                ]
            )
        ),
        "read": lambda: api.read(
            BatchReadInputSimplePublicObjectId(
                properties=[], properties_with_history=[], inputs=[SimplePublicObjectId(id=str(i)) for i in range(n)]
            )
        ),
        "update": lambda: api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id=str(i), properties={}) for i in range(n)]
            )
        ),
        "upsert": lambda: api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(id=f"u{i}@example.com", id_property="email", properties={})
                    for i in range(n)
                ]
            )
        ),
        "archive": lambda: api.archive(
            BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=str(i)) for i in range(n)])
        ),
    }
    status, body, _ = fail(calls[operation])
    assert status == 400 and body["category"] == "VALIDATION_ERROR" and "101" in body["message"]
    assert hs.crm.contacts.basic_api.get_page().results == []  # nothing was written


# -- batch read / update / upsert / archive ------------------------------------------------------------
def test_batch_read_by_email_with_a_missing_one_is_207_object_not_found(hs: HubSpot) -> None:
    create_contacts(hs, 2, prefix="r", firstname="R")
    answer = read_by_email(hs, ["R0@EXAMPLE.COM", "nobody@example.com", "r1@example.com"], ["firstname", "phone"])
    assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)
    assert sorted(r.properties["firstname"] for r in answer.results) == ["R", "R"]
    assert all(r.properties["phone"] is None for r in answer.results)
    [error] = answer.errors
    assert error.status == "error" and error.category == "OBJECT_NOT_FOUND"
    assert error.context == {"ids": ["nobody@example.com"]}
    assert error.message.startswith("Could not get some CONTACT objects")


def test_batch_read_by_id_with_all_found_is_200(hs: HubSpot) -> None:
    ids = [c.id for c in create_contacts(hs, 3)]
    answer = hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email"], properties_with_history=["email"], inputs=[SimplePublicObjectId(id=i) for i in ids]
        )
    )
    assert isinstance(answer, BatchResponseSimplePublicObject)
    assert sorted(r.id for r in answer.results) == sorted(ids)
    history = answer.results[0].properties_with_history["email"]
    assert history[0].value == answer.results[0].properties["email"] and history[0].timestamp is not None


def test_batch_update_is_200_and_207_for_missing_ids(hs: HubSpot) -> None:
    ids = [c.id for c in create_contacts(hs, 2)]
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=i, properties={"jobtitle": "VP Sales"}) for i in ids]
    )
    answer = hs.crm.contacts.batch_api.update(batch)
    assert isinstance(answer, BatchResponseSimplePublicObject)
    assert {r.properties["jobtitle"] for r in answer.results} == {"VP Sales"}
    partial = hs.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "CEO"}),
                SimplePublicObjectBatchInput(id="424242", properties={"jobtitle": "CEO"}),
            ]
        )
    )
    assert isinstance(partial, BatchResponseSimplePublicObjectWithErrors)
    assert [r.id for r in partial.results] == [ids[0]]
    assert partial.errors[0].category == "OBJECT_NOT_FOUND" and partial.errors[0].context["ids"] == ["424242"]


def test_batch_update_rejects_bad_values_for_the_whole_batch_and_email_as_id_property(hs: HubSpot) -> None:
    ids = [c.id for c in create_contacts(hs, 2)]
    bad = BatchInputSimplePublicObjectBatchInput(
        inputs=[
            SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "CEO"}),
            SimplePublicObjectBatchInput(id=ids[1], properties={"lifecyclestage": "Customer"}),
        ]
    )
    status, body, _ = fail(hs.crm.contacts.batch_api.update, bad)
    assert status == 400 and body["errors"][0]["code"] == "INVALID_OPTION"
    assert hs.crm.contacts.basic_api.get_by_id(ids[0], properties=["jobtitle"]).properties["jobtitle"] is None
    by_email = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id="p0@example.com", id_property="email", properties={"jobtitle": "x"})]
    )
    status, body, _ = fail(hs.crm.contacts.batch_api.update, by_email)
    assert status == 400 and "non-unique 0-1 property email" in body["message"]


def test_upsert_by_email_reports_new_and_existing_records(hs: HubSpot) -> None:
    [existing] = create_contacts(hs, 1, prefix="known")
    answer = hs.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="KNOWN0@example.com", id_property="email", properties={"jobtitle": "CFO"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="fresh@example.com", id_property="email", properties={"jobtitle": "COO"}
                ),
            ]
        )
    )
    assert isinstance(answer, BatchResponseSimplePublicUpsertObject)
    by_new = {r.new: r for r in answer.results}
    assert by_new[False].id == existing.id and by_new[False].properties["jobtitle"] == "CFO"
    assert by_new[True].properties["email"] == "fresh@example.com"
    again = hs.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[SimplePublicObjectBatchInputUpsert(id="fresh@example.com", id_property="email", properties={})]
        )
    )
    assert [r.new for r in again.results] == [False] and again.results[0].id == by_new[True].id


def test_upsert_with_trace_ids_reports_bad_inputs_per_input(hs: HubSpot) -> None:
    answer = hs.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="a@example.com", id_property="email", object_write_trace_id="1", properties={}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="b@example.com", id_property="email", object_write_trace_id="2", properties={"nope": "x"}
                ),
            ]
        )
    )
    assert isinstance(answer, BatchResponseSimplePublicUpsertObjectWithErrors)
    assert [r.properties["email"] for r in answer.results] == ["a@example.com"]
    assert answer.errors[0].context["objectWriteTraceId"] == ["2"]


def test_upsert_by_a_unique_custom_property_and_its_collisions(hs: HubSpot) -> None:
    hs.crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="external_id",
            label="External ID",
            type="string",
            field_type="text",
            group_name="companyinformation",
            has_unique_value=True,
        ),
    )
    upsert = CompanyUpsertBatch(
        inputs=[CompanyUpsert(id="ext-1", id_property="external_id", properties={"name": "Acme"})]
    )
    first = hs.crm.companies.batch_api.upsert(upsert)
    assert isinstance(first, CompanyUpsertResponse)
    assert first.results[0].new is True and first.results[0].properties["external_id"] == "ext-1"
    second = hs.crm.companies.batch_api.upsert(upsert)
    assert second.results[0].new is False and second.results[0].id == first.results[0].id
    status, body, _ = fail(
        hs.crm.companies.basic_api.create, CompanyCreate(properties={"name": "Copy", "external_id": "ext-1"})
    )
    assert status == 409 and body["category"] == "CONFLICT" and first.results[0].id in body["message"]
    read = hs.crm.companies.basic_api.get_by_id("ext-1", id_property="external_id", properties=["name"])
    assert read.properties["name"] == "Acme"


def test_company_domain_is_not_a_valid_upsert_key(hs: HubSpot) -> None:
    upsert = CompanyUpsertBatch(
        inputs=[CompanyUpsert(id="acme.com", id_property="domain", properties={"name": "Acme"})]
    )
    status, body, _ = fail(hs.crm.companies.batch_api.upsert, upsert)
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert "non-unique 0-2 property domain" in body["message"]
    assert hs.crm.companies.basic_api.get_page().results == []


def test_batch_archive_is_204_and_ignores_unknown_ids(hs: HubSpot) -> None:
    ids = [c.id for c in create_contacts(hs, 2)]
    archive = BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=i) for i in [ids[0], "777"]])
    assert hs.crm.contacts.batch_api.archive(archive) is None
    assert [r.id for r in hs.crm.contacts.basic_api.get_page().results] == [ids[1]]


# -- property values -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"name": "Acme", "industry": "Computer Software"}, "INVALID_OPTION"),
        ({"name": "Acme", "numberofemployees": "about 50"}, "INVALID_INTEGER"),
        ({"name": "Acme", "hs_object_id": "1"}, "READ_ONLY_VALUE"),
        ({"name": "Acme", "hs_lastmodifieddate": "2024-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
        ({"name": "Acme", "lifecyclestage": "Customer"}, "INVALID_OPTION"),
        ({"name": "Acme", "linkedin_url": "https://linkedin.com/company/acme"}, "PROPERTY_DOESNT_EXIST"),
    ],
)
def test_invalid_company_values_are_rejected_with_hubspot_codes(hs: HubSpot, properties: dict, code: str) -> None:
    status, body, _ = fail(hs.crm.companies.basic_api.create, CompanyCreate(properties=properties))
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert [e["code"] for e in body["errors"]] == [code]
    assert body["errors"][0]["context"]["propertyName"] == [next(k for k in properties if k != "name")]


def test_valid_company_values_are_stored_as_hubspot_strings(hs: HubSpot) -> None:
    company = hs.crm.companies.basic_api.create(
        CompanyCreate(
            properties={
                "name": "Acme",
                "domain": "acme.com",
                "industry": "COMPUTER_SOFTWARE",
                "numberofemployees": 250,
                "annualrevenue": 1.5e6,
                "linkedin_company_page": "https://www.linkedin.com/company/acme",
            }
        )
    )
    props = hs.crm.companies.basic_api.get_by_id(
        company.id, properties=["industry", "numberofemployees", "annualrevenue", "domain"]
    ).properties
    assert props["industry"] == "COMPUTER_SOFTWARE"
    assert props["numberofemployees"] == "250" and props["annualrevenue"] == "1500000"
    assert props["hs_lastmodifieddate"] and "lastmodifieddate" not in props


def test_date_and_datetime_values_are_checked_and_normalised(hs: HubSpot) -> None:
    for name, kind in (("warmly_first_seen", "datetime"), ("warmly_signup_date", "date")):
        hs.crm.properties.core_api.create(
            "contacts",
            PropertyCreate(name=name, label=name, type=kind, field_type="date", group_name="contactinformation"),
        )
    contact = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "email": "dates@example.com",
                "warmly_first_seen": 1700000000123,
                "warmly_signup_date": "2024-03-01",
            }
        )
    )
    assert contact.properties["warmly_first_seen"] == "2023-11-14T22:13:20.123Z"
    assert contact.properties["warmly_signup_date"] == "2024-03-01"
    status, body, _ = fail(
        hs.crm.contacts.basic_api.update,
        contact.id,
        SimplePublicObjectInput(properties={"warmly_signup_date": 1700000000123}),
    )
    assert status == 400 and body["errors"][0]["code"] == "INVALID_DATE" and "not midnight" in body["message"]


# -- properties and groups ------------------------------------------------------------------------------
def test_default_properties_and_groups_are_listed(hs: HubSpot) -> None:
    contact_props = {p.name: p for p in hs.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "firstname", "lastname", "jobtitle", "lifecyclestage", "hs_linkedin_url"} <= set(contact_props)
    assert contact_props["lifecyclestage"].type == "enumeration"
    assert "customer" in [o.value for o in contact_props["lifecyclestage"].options]
    assert contact_props["hs_object_id"].modification_metadata.read_only_value is True
    industry = hs.crm.properties.core_api.get_by_name("companies", "industry")
    values = [o.value for o in industry.options]
    assert "COMPUTER_SOFTWARE" in values and "INFORMATION_TECHNOLOGY_AND_SERVICES" in values
    groups = {g.name for g in hs.crm.properties.groups_api.get_all("contacts").results}
    assert "contactinformation" in groups
    assert "companyinformation" in {g.name for g in hs.crm.properties.groups_api.get_all("companies").results}


def test_create_update_and_archive_a_custom_property(hs: HubSpot) -> None:
    spec = PropertyCreate(
        name="warmly_session_count",
        label="Warmly session count",
        type="number",
        field_type="number",
        group_name="contactinformation",
        description="Sessions seen",
    )
    created = hs.crm.properties.core_api.create("contacts", spec)
    assert created.name == "warmly_session_count" and created.created_at is not None
    assert fail(hs.crm.properties.core_api.create, "contacts", spec)[0] == 409
    updated = hs.crm.properties.core_api.update("contacts", "warmly_session_count", PropertyUpdate(label="Sessions"))
    assert updated.label == "Sessions"
    contact = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "s@example.com", "warmly_session_count": 4})
    )
    assert hs.crm.properties.core_api.archive("contacts", "warmly_session_count") is None
    assert "warmly_session_count" not in {p.name for p in hs.crm.properties.core_api.get_all("contacts").results}
    archived = hs.crm.properties.core_api.get_all("contacts", archived=True).results
    assert [p.name for p in archived] == ["warmly_session_count"] and archived[0].archived is True
    assert fail(hs.crm.properties.core_api.get_by_name, "contacts", "warmly_session_count")[0] == 404
    # writes to the archived property fail; reads no longer show it
    status, body, _ = fail(
        hs.crm.contacts.basic_api.update, contact.id, SimplePublicObjectInput(properties={"warmly_session_count": 5})
    )
    assert status == 400 and body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    read = hs.crm.contacts.basic_api.get_by_id(contact.id, properties=["warmly_session_count"])
    assert "warmly_session_count" not in read.properties
    # restoring it (creating it again) lets writes resume
    hs.crm.properties.core_api.create("contacts", spec)
    hs.crm.contacts.basic_api.update(contact.id, SimplePublicObjectInput(properties={"warmly_session_count": 5}))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"type": "string", "field_type": "number"}, "fieldType"),
        ({"type": "enumeration", "field_type": "text"}, "fieldType"),
        ({"type": "bool", "field_type": "select"}, "fieldType"),
        ({"name": "Warmly Score"}, "property name"),
        ({"name": "9lives"}, "property name"),
        ({"group_name": "no_such_group"}, "group"),
        ({"type": "enumeration", "field_type": "select", "has_unique_value": True}, "unique"),
    ],
)
def test_property_definitions_are_validated(hs: HubSpot, changes: dict, fragment: str) -> None:
    spec = {
        "name": "warmly_x",
        "label": "X",
        "type": "string",
        "field_type": "text",
        "group_name": "contactinformation",
    }
    status, body, _ = fail(hs.crm.properties.core_api.create, "contacts", PropertyCreate(**{**spec, **changes}))
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert fragment.lower() in body["message"].lower()


def test_enumeration_property_options_are_enforced(hs: HubSpot) -> None:
    hs.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="warmly_workflow",
            label="Workflow",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                {"label": "Website visitor", "value": "website_visitor", "hidden": False},
                {"label": "Inbound agent", "value": "inbound_agent", "hidden": False},
            ],
        ),
    )
    ok = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "w@example.com", "warmly_workflow": "inbound_agent"})
    )
    assert ok.properties["warmly_workflow"] == "inbound_agent"
    status, body, _ = fail(
        hs.crm.contacts.basic_api.update, ok.id, SimplePublicObjectInput(properties={"warmly_workflow": "Inbound"})
    )
    assert status == 400 and body["errors"][0]["code"] == "INVALID_OPTION"


def test_hubspot_defined_properties_cannot_be_archived(hs: HubSpot) -> None:
    status, _, _ = fail(hs.crm.properties.core_api.archive, "contacts", "email")
    assert status == 400
    assert hs.crm.properties.core_api.get_by_name("contacts", "email").name == "email"


def test_property_groups_can_be_created_once(hs: HubSpot) -> None:
    group = hs.crm.properties.groups_api.create("contacts", PropertyGroupCreate(name="warmly", label="Warmly"))
    assert group.name == "warmly" and group.archived is False
    assert hs.crm.properties.groups_api.get_by_name("contacts", "warmly").label == "Warmly"
    assert (
        fail(hs.crm.properties.groups_api.create, "contacts", PropertyGroupCreate(name="warmly", label="W"))[0] == 409
    )
    created = hs.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(name="warmly_x", label="X", type="string", field_type="text", group_name="warmly"),
    )
    assert created.group_name == "warmly"


# -- search ---------------------------------------------------------------------------------------------
def search(hs: HubSpot, **kwargs: Any) -> CollectionResponseWithTotalSimplePublicObjectForwardPaging:
    return hs.crm.contacts.search_api.do_search(PublicObjectSearchRequest(**kwargs))


def test_search_filters_sorts_and_pages(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, search_per_second=1000)  # this test is about filters, not the 5/s limit
    inputs = [
        SimplePublicObjectBatchInputForCreate(
            properties={
                "email": f"s{i}@{'acme' if i % 2 else 'globex'}.com",
                "firstname": f"N{i:02d}",
                "lifecyclestage": "lead" if i < 6 else "customer",
                **({"jobtitle": "Head of Sales"} if i % 3 == 0 else {}),
            }
        )
        for i in range(10)
    ]
    hs.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))

    def emails(**kwargs: Any) -> list[str]:
        return [r.properties["email"] for r in search(hs, **kwargs).results]

    eq = search(hs, filter_groups=[{"filters": [{"propertyName": "email", "operator": "EQ", "value": "S3@ACME.com"}]}])
    assert isinstance(eq, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    assert eq.total == 1 and eq.results[0].properties["firstname"] == "N03"
    assert set(eq.results[0].properties) == {
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"
    }  # fmt: skip
    lead_acme = [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}]
    lead_acme.append({"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@acme.com"})
    assert sorted(emails(filter_groups=[{"filters": lead_acme}], limit=50)) == [
        "s1@acme.com", "s3@acme.com", "s5@acme.com"
    ]  # fmt: skip
    either = [
        {"filters": [{"propertyName": "firstname", "operator": "IN", "values": ["n00", "N09"]}]},
        {"filters": [{"propertyName": "jobtitle", "operator": "HAS_PROPERTY"}]},
    ]
    assert sorted(emails(filter_groups=either)) == ["s0@globex.com", "s3@acme.com", "s6@globex.com", "s9@acme.com"]
    no_title = [{"filters": [{"propertyName": "jobtitle", "operator": "NOT_HAS_PROPERTY"}]}]
    assert search(hs, filter_groups=no_title).total == 6
    gte = [{"filters": [{"propertyName": "firstname", "operator": "GTE", "value": "N08"}]}]
    assert emails(filter_groups=gte, sorts=["-firstname"], properties=["email"]) == ["s9@acme.com", "s8@globex.com"]
    neq = [{"filters": [{"propertyName": "lifecyclestage", "operator": "NEQ", "value": "lead"}]}]
    assert search(hs, filter_groups=neq).total == 4
    # paging: 10 records, 4 a page
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = search(hs, limit=4, after=after, sorts=[{"propertyName": "firstname", "direction": "ASCENDING"}])
        assert page.total == 10
        seen += [r.properties["firstname"] for r in page.results]
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    assert pages == 3 and seen == [f"N{i:02d}" for i in range(10)]


def test_search_request_limits(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, search_per_second=1000)
    one = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    status, body, _ = fail(search, hs, filter_groups=[{"filters": [one]}] * 6)
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert fail(search, hs, filter_groups=[{"filters": [one] * 7}])[0] == 400
    assert fail(search, hs, filter_groups=[{"filters": [one] * 5}] * 4)[0] == 400  # 20 filters > 18
    assert search(hs, filter_groups=[{"filters": [one] * 6}] * 3).total == 0  # 18 is fine
    assert fail(search, hs, limit=201)[0] == 400
    unknown = [{"filters": [{"propertyName": "no_such", "operator": "EQ", "value": "x"}]}]
    assert fail(search, hs, filter_groups=unknown)[0] == 400


def test_search_cannot_page_beyond_10000_results(hs: HubSpot) -> None:
    assert search(hs, after="9900", limit=100).results == []
    status, body, _ = fail(search, hs, after="9901", limit=100)
    assert status == 400 and "10000" in body["message"]
    assert fail(search, hs, after="10000", limit=1)[0] == 400


def test_search_has_its_own_per_second_limit_and_no_rate_limit_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, search_per_second=2, ten_second_limit=1)
    ok = hs.crm.contacts.search_api.do_search_with_http_info(PublicObjectSearchRequest())
    assert ok[1] == 200 and "X-HubSpot-RateLimit-Remaining" not in ok[2]
    search(hs)  # search is exempt from the ten-second window (limit 1 here)
    status, body, _ = fail(search, hs)
    assert status == 429
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "SECONDLY" and body["correlationId"]
    time.sleep(1.05)
    assert search(hs).total == 0


def test_new_records_reach_search_after_the_index_delay(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, search_index_delay_seconds=0.6)
    [contact] = create_contacts(hs, 1, prefix="late", firstname="Old")
    find = [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "late0@example.com"}]}]
    assert search(hs, filter_groups=find).total == 0
    assert read_by_email(hs, ["late0@example.com"]).results[0].id == contact.id  # batch read sees it at once
    time.sleep(0.7)
    assert search(hs, filter_groups=find).total == 1
    hs.crm.contacts.basic_api.update(contact.id, SimplePublicObjectInput(properties={"firstname": "New"}))
    assert search(hs, filter_groups=find, properties=["firstname"]).results[0].properties["firstname"] == "Old"


# -- rate limits and authentication -----------------------------------------------------------------
def test_ten_second_window_429_with_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, ten_second_limit=3, ten_second_window_ms=1500)
    remaining = []
    for _ in range(3):
        _, status, headers = hs.crm.contacts.basic_api.get_page_with_http_info()
        assert status == 200
        assert headers["X-HubSpot-RateLimit-Max"] == "3"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1500"
        remaining.append(headers["X-HubSpot-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    status, body, headers = fail(hs.crm.contacts.basic_api.get_page)
    assert status == 429
    assert body == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": body["correlationId"],
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": body["groupName"],
    }
    assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
    time.sleep(1.6)
    assert hs.crm.contacts.basic_api.get_page().results == []


def test_daily_limit_429_and_daily_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, daily_limit=2)
    _, _, headers = hs.crm.contacts.basic_api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Daily"] == "2" and headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
    hs.crm.contacts.basic_api.get_page()
    status, body, headers = fail(hs.crm.contacts.basic_api.get_page)
    assert status == 429 and body["policyName"] == "DAILY" and body["message"] == "You have reached your daily limit."
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_bad_or_missing_token_is_401(sandbox_clean: Any) -> None:
    wrong = client_for(sandbox_clean, token="not-the-token")
    status, body, headers = fail(wrong.crm.contacts.basic_api.get_page)
    assert status == 401 and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
    assert "X-HubSpot-RateLimit-Remaining" not in headers
    anonymous = HubSpot(host=sandbox_clean.hubspot_url)
    status, body, _ = fail(anonymous.crm.contacts.basic_api.get_page)
    assert status == 401 and "Authentication credentials not found" in body["message"]


# -- faults -----------------------------------------------------------------------------------------------
def test_injected_503_and_429_reach_the_sdk_then_calls_succeed(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin(
        "hubspot",
        "POST",
        "faults",
        {"kind": "status", "status": 503, "count": 1, "body": {"status": "error", "message": "Service Unavailable"}},
    )
    sandbox_clean.admin(
        "hubspot",
        "POST",
        "faults",
        {
            "kind": "status",
            "status": 429,
            "count": 1,
            "path": "batch/read",
            "body": {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
        },
    )
    status, body, _ = fail(hs.crm.contacts.basic_api.get_page)
    assert status == 503 and body["message"] == "Service Unavailable"
    assert hs.crm.contacts.basic_api.get_page().results == []
    status, body, _ = fail(read_by_email, hs, ["a@example.com"])
    assert status == 429 and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert read_by_email(hs, ["a@example.com"]).results == []


def test_dropped_response_after_commit_raises_but_the_write_happened(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "faults", {"kind": "drop_after_commit", "path": "batch/create"})
    with pytest.raises(urllib3.exceptions.HTTPError):
        create_contacts(hs, 2, prefix="lost")
    found = read_by_email(hs, ["lost0@example.com", "lost1@example.com"])
    assert isinstance(found, BatchResponseSimplePublicObject) and len(found.results) == 2
    # retrying the create is now a conflict: the client must read before it writes again
    status, _, _ = fail(create_contacts, hs, 1, prefix="lost")
    assert status == 409


# -- concurrency --------------------------------------------------------------------------------------------
def test_parallel_clients_lose_nothing_and_never_duplicate_an_email(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, ten_second_limit=100_000)
    emails = [f"c{i}@example.com" for i in range(40)]
    outcomes: Counter[str] = Counter()
    created_ids: list[str] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        client = client_for(sandbox_clean)
        for k in range(len(emails)):
            email = emails[(k + offset) % len(emails)]
            try:
                made = client.crm.contacts.basic_api.create(
                    SimplePublicObjectInputForCreate(properties={"email": email})
                )
            except ApiException as exc:
                with lock:
                    outcomes[str(exc.status)] += 1
            else:
                with lock:
                    outcomes["201"] += 1
                    created_ids.append(made.id)

    threads = [threading.Thread(target=worker, args=(i * 10,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == Counter({"201": 40, "409": 120})
    assert len(set(created_ids)) == 40
    records = sandbox_clean.admin("hubspot", "GET", "records/contacts")
    assert records["total"] == 40
    assert sorted(r["properties"]["email"] for r in records["results"]) == sorted(emails)


# -- associations v4 ------------------------------------------------------------------------------------------
def make_pair(hs: HubSpot) -> tuple[str, str]:
    contact = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "link@acme.com"}))
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Acme", "domain": "acme.com"}))
    return contact.id, company.id


def test_batch_create_association_and_read_both_directions(hs: HubSpot) -> None:
    contact_id, company_id = make_pair(hs)
    batch = BatchInputPublicAssociationMultiPost(
        inputs=[
            PublicAssociationMultiPost(
                _from=AssocObjectId(id=contact_id),
                to=AssocObjectId(id=company_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)],
            )
        ]
    )
    created = hs.crm.associations.v4.batch_api.create("contacts", "companies", batch)
    assert isinstance(created, BatchResponseLabelsBetweenObjectPair)
    [pair] = created.results
    assert (pair.from_object_id, pair.to_object_id) == (contact_id, company_id)
    assert (pair.from_object_type_id, pair.to_object_type_id) == ("0-1", "0-2")
    forward = hs.crm.associations.v4.batch_api.get_page(
        "contacts",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[PublicFetchAssociationsBatchRequest(id=contact_id)]),
    )
    assert isinstance(forward, BatchResponsePublicAssociationMultiWithLabel)
    [row] = forward.results
    assert row.to[0].to_object_id == company_id
    assert [(t.category, t.type_id) for t in row.to[0].association_types] == [("HUBSPOT_DEFINED", 279)]
    backward = hs.crm.associations.v4.basic_api.get_page("companies", company_id, "contacts")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in backward.results] == [(contact_id, 280)]
    v3 = hs.crm.contacts.basic_api.get_by_id(contact_id, associations=["companies"])
    assert [(a.id, a.type) for a in v3.associations["companies"].results] == [
        (company_id, "contact_to_company_unlabeled")
    ]


def test_default_association_makes_the_first_company_primary(hs: HubSpot) -> None:
    contact_id, company_id = make_pair(hs)
    other = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Globex"})).id
    answer = hs.crm.associations.v4.batch_api.create_default(
        "contacts",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[
                PublicDefaultAssociationMultiPost(_from=AssocObjectId(id=contact_id), to=AssocObjectId(id=company_id)),
                PublicDefaultAssociationMultiPost(_from=AssocObjectId(id=contact_id), to=AssocObjectId(id=other)),
            ]
        ),
    )
    assert isinstance(answer, BatchResponsePublicDefaultAssociation)
    specs = sorted((r.to.id, r.association_spec.association_type_id) for r in answer.results)
    assert specs == sorted([(company_id, 279), (company_id, 1), (other, 279)])
    labels = {
        r.to_object_id: sorted(t.type_id for t in r.association_types)
        for r in hs.crm.associations.v4.basic_api.get_page("contacts", contact_id, "companies").results
    }
    assert labels == {company_id: [1, 279], other: [279]}
    single = hs.crm.associations.v4.basic_api.create_default("companies", other, "contacts", contact_id)
    assert isinstance(single, BatchResponsePublicDefaultAssociation)


def test_association_to_a_missing_record_is_a_per_input_error(hs: HubSpot) -> None:
    contact_id, company_id = make_pair(hs)
    spec = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)]
    batch = BatchInputPublicAssociationMultiPost(
        inputs=[
            PublicAssociationMultiPost(_from=AssocObjectId(id=contact_id), to=AssocObjectId(id=company_id), types=spec),
            PublicAssociationMultiPost(_from=AssocObjectId(id=contact_id), to=AssocObjectId(id="555"), types=spec),
        ]
    )
    answer = hs.crm.associations.v4.batch_api.create("contacts", "companies", batch)
    assert isinstance(answer, BatchResponseLabelsBetweenObjectPairWithErrors)
    assert len(answer.results) == 1 and answer.errors[0].context == {"toObjectId": ["555"]}
    default = hs.crm.associations.v4.batch_api.create_default(
        "contacts",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[PublicDefaultAssociationMultiPost(_from=AssocObjectId(id="556"), to=AssocObjectId(id=company_id))]
        ),
    )
    assert default.results == [] and default.num_errors == 1
    wrong_type = BatchInputPublicAssociationMultiPost(
        inputs=[
            PublicAssociationMultiPost(
                _from=AssocObjectId(id=contact_id),
                to=AssocObjectId(id=company_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=280)],
            )
        ]
    )
    assert fail(hs.crm.associations.v4.batch_api.create, "contacts", "companies", wrong_type)[0] == 400


def test_batch_read_without_associations_is_207_and_archive_removes_them(hs: HubSpot) -> None:
    contact_id, company_id = make_pair(hs)
    lonely = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "l@x.com"})).id
    hs.crm.associations.v4.basic_api.create_default("contacts", contact_id, "companies", company_id)
    read = hs.crm.associations.v4.batch_api.get_page(
        "contacts",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=contact_id), PublicFetchAssociationsBatchRequest(id=lonely)]
        ),
    )
    assert isinstance(read, BatchResponsePublicAssociationMultiWithLabelWithErrors)
    assert [r._from.id for r in read.results] == [contact_id]
    assert read.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    hs.crm.associations.v4.batch_api.archive(
        "contacts",
        "companies",
        BatchInputPublicAssociationMultiArchive(
            inputs=[
                PublicAssociationMultiArchive(_from=AssocObjectId(id=contact_id), to=[AssocObjectId(id=company_id)])
            ]
        ),
    )
    assert hs.crm.associations.v4.basic_api.get_page("companies", company_id, "contacts").results == []


def test_create_with_associations_links_the_new_record(hs: HubSpot) -> None:
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Initech"}))
    contact = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "peter@initech.com"},
            associations=[
                {
                    "to": {"id": company.id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
                }
            ],
        )
    )
    types = hs.crm.associations.v4.basic_api.get_page("contacts", contact.id, "companies").results[0]
    assert sorted(t.type_id for t in types.association_types) == [1, 279]
    assert [t.label for t in types.association_types if t.type_id == 1] == ["Primary"]


# -- admin dump and restarts ----------------------------------------------------------------------------------
def test_admin_records_dump_shows_properties_and_associations(hs: HubSpot, sandbox_clean: Any) -> None:
    contact_id, company_id = make_pair(hs)
    hs.crm.associations.v4.basic_api.create_default("contacts", contact_id, "companies", company_id)
    dump = sandbox_clean.admin("hubspot", "GET", "records/companies")
    assert dump["total"] == 1
    [company] = dump["results"]
    assert company["properties"]["domain"] == "acme.com"
    assert {a["id"] for a in company["associations"]["contacts"]["results"]} == {contact_id}
    assert sandbox_clean.calls("hubspot")["by_endpoint"]["POST crm/v3/objects/{type}"] == 2


def test_state_and_daily_usage_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "hubspot.sqlite"
    first = serve(HubSpotApp(db, token="t0ken"))
    try:
        client = HubSpot(access_token="t0ken", host=first.url)
        client.crm.properties.core_api.create(
            "contacts",
            PropertyCreate(
                name="warmly_tag", label="Tag", type="string", field_type="text", group_name="contactinformation"
            ),
        )
        [made] = create_contacts(client, 1, prefix="keep", warmly_tag="kept")
        company = client.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Keep Co"}))
        client.crm.associations.v4.basic_api.create_default("contacts", made.id, "companies", company.id)
        _, _, headers = client.crm.contacts.basic_api.get_page_with_http_info()
        used = 1_000_000 - int(headers["X-HubSpot-RateLimit-Daily-Remaining"])
    finally:
        first.stop()
    second = serve(HubSpotApp(db, token="t0ken"))
    try:
        client = HubSpot(access_token="t0ken", host=second.url)
        again = read_by_email(client, ["keep0@example.com"], ["warmly_tag"])
        assert again.results[0].id == made.id and again.results[0].properties["warmly_tag"] == "kept"
        linked = client.crm.associations.v4.basic_api.get_page("contacts", made.id, "companies").results
        assert [r.to_object_id for r in linked] == [company.id]
        _, _, headers = client.crm.contacts.basic_api.get_page_with_http_info()
        # three more calls since: the read, the association page and this one
        assert 1_000_000 - int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) == used + 3
        # ids keep counting from where they were
        [later] = create_contacts(client, 1, prefix="later")
        assert int(later.id) > int(company.id)
    finally:
        second.stop()


def test_property_batch_endpoints(hs: HubSpot) -> None:
    specs = [
        PropertyCreate(
            name=f"warmly_p{i}", label=f"P{i}", type="string", field_type="text", group_name="contactinformation"
        )
        for i in range(2)
    ]
    created = hs.crm.properties.batch_api.create("contacts", BatchInputPropertyCreate(inputs=specs))
    assert isinstance(created, BatchResponseProperty) and sorted(p.name for p in created.results) == [
        "warmly_p0",
        "warmly_p1",
    ]
    again = hs.crm.properties.batch_api.create("contacts", BatchInputPropertyCreate(inputs=specs[:1]))
    assert isinstance(again, BatchResponsePropertyWithErrors) and again.errors[0].category == "OBJECT_ALREADY_EXISTS"
    names = [PropertyName(name="warmly_p0"), PropertyName(name="warmly_missing")]
    read = hs.crm.properties.batch_api.read("contacts", BatchReadInputPropertyName(archived=False, inputs=names))
    assert isinstance(read, BatchResponsePropertyWithErrors)
    assert [p.name for p in read.results] == ["warmly_p0"] and read.num_errors == 1
    hs.crm.properties.batch_api.archive("contacts", BatchInputPropertyName(inputs=[PropertyName(name="warmly_p0")]))
    remaining = {p.name for p in hs.crm.properties.core_api.get_all("contacts").results}
    assert "warmly_p0" not in remaining and "warmly_p1" in remaining


def test_labeled_associations_a_new_primary_demotes_the_old_one_and_single_delete(hs: HubSpot) -> None:
    contact_id, first = make_pair(hs)
    second = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Second"})).id
    primary = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)]
    made = hs.crm.associations.v4.basic_api.create("contacts", contact_id, "companies", first, primary)
    assert made.labels == ["Primary"] and made.to_object_id == first
    hs.crm.associations.v4.basic_api.create("contacts", contact_id, "companies", second, primary)

    def kinds() -> dict[str, list[int]]:
        page = hs.crm.associations.v4.basic_api.get_page("contacts", contact_id, "companies").results
        return {r.to_object_id: sorted(t.type_id for t in r.association_types) for r in page}

    assert kinds() == {first: [279], second: [1, 279]}
    company_side = hs.crm.associations.v4.basic_api.get_page("companies", second, "contacts").results
    assert sorted(t.type_id for t in company_side[0].association_types) == [2, 280]
    hs.crm.associations.v4.batch_api.archive_labels(
        "contacts",
        "companies",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(
                    _from=AssocObjectId(id=contact_id), to=AssocObjectId(id=second), types=primary
                )
            ]
        ),
    )
    assert kinds() == {first: [279], second: [279]}
    assert hs.crm.associations.v4.basic_api.archive("contacts", contact_id, "companies", first) is None
    assert kinds() == {second: [279]}
    status, _, _ = fail(hs.crm.associations.v4.basic_api.create_default, "contacts", contact_id, "companies", "999")
    assert status == 404
