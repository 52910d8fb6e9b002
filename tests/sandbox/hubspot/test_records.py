"""How the HubSpot sandbox checks and normalises property values (``records``, ``model``), as
the SDK sees it: HubSpot's error codes for bad values, and values stored as HubSpot's strings.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate

from tests.sandbox.hubspot.conftest import fail


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
