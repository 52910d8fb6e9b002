"""The search endpoint of the HubSpot sandbox (``search``), through the real SDK: filters,
sorts and paging, the request limits, the 10,000-result cap, its own per-second limit, and the
index that lags writes.
"""

from __future__ import annotations

import time
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
)

from tests.sandbox.hubspot.conftest import configure, create_contacts, fail, read_by_email


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
