"""The HubSpot sandbox tests, driven only through the real hubspot-api-client.

Every behaviour a connector depends on is asserted as the SDK sees it: the model class it
deserialises (a wrong status code would make it return None), the ApiException status and
body, and the rate-limit headers. One test module per sandbox module (``test_objects`` for
``objects``, ``test_search`` for ``search``, ...).

This file holds the helpers they share; the tests import them from here. The sandbox itself
and the ``hs`` / ``sandbox_clean`` fixtures are session-wide, in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    SimplePublicObject,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import ApiException as PropertiesApiException

from connectors.hubspot.client import HubSpotCredentials, make_client

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


def make_pair(hs: HubSpot) -> tuple[str, str]:
    contact = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "link@acme.com"}))
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Acme", "domain": "acme.com"}))
    return contact.id, company.id
