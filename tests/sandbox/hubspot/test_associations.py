"""The v4 associations API of the HubSpot sandbox (``associations``), through the real SDK:
batch and single create, default (primary) associations, per-input errors, batch reads,
labels and archive, and associations given with a create.
"""

from __future__ import annotations

from hubspot import HubSpot
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
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import SimplePublicObjectInputForCreate

from tests.sandbox.hubspot.conftest import fail, make_pair


# -- associations v4 ------------------------------------------------------------------------------------------
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


def test_v3_list_shows_100_associations_inline_then_pages_them(hs: HubSpot) -> None:
    # HubSpot changelog "Announcing a change to how v3 CRM APIs return association data": more than
    # 100 associations of one record come paginated, that record with its own next page.
    company_id = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Big"})).id
    link = [{"to": {"id": company_id},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]
    for at in (0, 100):
        hs.crm.contacts.batch_api.create({"inputs": [
            {"properties": {"email": f"many{i}@example.com"}, "associations": link} for i in range(at, at + 100)]})
    page = hs.crm.companies.basic_api.get_page(limit=100, associations=["contacts"])
    [big] = [r for r in page.results if r.id == company_id]
    contacts = big.associations["contacts"]
    assert len(contacts.results) == 100
    assert contacts.paging.next.after and f"/{company_id}/associations/contacts" in contacts.paging.next.link
    few = hs.crm.contacts.basic_api.get_page(limit=100, associations=["companies"])
    assert all(len(r.associations["companies"].results) == 1 and r.associations["companies"].paging is None
               for r in few.results)
