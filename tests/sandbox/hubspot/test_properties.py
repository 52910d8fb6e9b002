"""The CRM v3 properties API of the HubSpot sandbox (``properties``), through the real SDK:
default properties and groups, custom properties created, updated, archived and restored,
definition checks, enumeration options, groups, and the batch endpoints.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate
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

from tests.sandbox.hubspot.conftest import fail


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
