"""The CRM v3 objects endpoints of the HubSpot sandbox (``objects``), through the real SDK:
single-record create / read / update / archive, the paged list, and batch read / create /
update / upsert / archive with their 207s, whole-batch 400s, 409 conflicts and input caps.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInputUpsert as CompanyUpsertBatch
from hubspot.crm.companies import BatchResponseSimplePublicUpsertObject as CompanyUpsertResponse
from hubspot.crm.companies import SimplePublicObjectBatchInputUpsert as CompanyUpsert
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate

from tests.sandbox.hubspot.conftest import create_contacts, fail, read_by_email


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
