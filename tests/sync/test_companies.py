"""One company per domain, however the warehouse or a rep spelled it — on both CRMs, checked
through the SDKs (``sf.query``, ``hs.crm…``), never only through what the engine reports."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import polars as pl
import pytest
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId

import dagster_pipeline.sync.hubspot_pass as hubspot_pass
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons

#: What reps type in a Website / domain field, and the company key each one is.
REP_SPELLINGS = {
    "https://www.x.com/about": "x.com",
    "HTTP://WWW.UPPER.IO": "upper.io",
    "http://sales@portco.com:8080/": "portco.com",
    "dotted.net.": "dotted.net",
    "https://bücher.de/kontakt": "xn--bcher-kva.de",
    "https://www.o'brien.com/team?ref=1#top": "o'brien.com",
}


@pytest.fixture(params=["salesforce", "hubspot"])
def runner(request: pytest.FixtureRequest) -> Runner:
    r: Runner = request.getfixturevalue("sf_runner" if request.param == "salesforce" else "hs_runner")
    # People become Contacts linked to their Account (Salesforce), contacts associated (HubSpot).
    r.settings_data = ({"objects": {"lead": {"create": False}, "contact": {"create_when_lead_off": True}}}
                       if r.crm == "salesforce" else {})
    r.setup()
    return r


def make_company(r: Runner, website: str) -> str:
    if r.crm == "salesforce":
        return str(r.client.Account.create({"Name": f"Rep typed {website}", "Website": website})["id"])
    return str(r.client.crm.companies.basic_api.create(CompanyInput(properties={"name": "Rep", "domain": website})).id)


def all_companies(r: Runner) -> dict[str, str]:
    """CRM id -> website/domain as the CRM holds it."""
    if r.crm == "salesforce":
        return {rec["Id"]: rec["Website"] for rec in r.client.query_all("SELECT Id, Website FROM Account")["records"]}
    return {c.id: c.properties["domain"] for c in r.client.crm.companies.get_all(properties=["domain"])}


def company_of_person(r: Runner, email: str) -> str | None:
    if r.crm == "salesforce":
        recs = r.client.query(f"SELECT AccountId FROM Contact WHERE Email = '{email}'")["records"]
        assert len(recs) == 1, recs
        return recs[0]["AccountId"]
    found = r.client.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        id_property="email", properties=["email"], inputs=[{"id": email}])).results
    assert len(found) == 1, found
    page = r.client.crm.associations.v4.basic_api.get_page("contacts", found[0].id, "companies")
    ids = [str(a.to_object_id) for a in page.results]
    assert len(ids) <= 1, ids
    return ids[0] if ids else None


def test_warehouse_spellings_of_one_domain_make_one_company_and_people_find_it(runner: Runner) -> None:
    c = companies(company("samedom.com", name="Same Dom"), company("https://www.SameDom.com/"))
    p = persons(person("ann@samedom.com", "https://www.samedom.com/"), person("bob@samedom.com", " SAMEDOM.COM. "))
    first = runner.sync(p, c)
    assert first.failed == 0, first.log.filter(pl.col("status") == "failed").to_dicts()
    crm = all_companies(runner)
    assert list(crm.values()) == ["samedom.com"]  # one company, its domain written normalised
    (company_id,) = crm
    assert company_of_person(runner, "ann@samedom.com") == company_id
    assert company_of_person(runner, "bob@samedom.com") == company_id

    # The next run's model spells it another way: still the same company, nothing created.
    again = runner.sync(p, companies(company("http://samedom.com:80/home", name="Same Dom")))
    assert all_companies(runner) == crm
    assert again.log.filter(pl.col("action") == "create").is_empty()


def rep_world(r: Runner) -> tuple[dict[str, str], str, list[str], pl.DataFrame, pl.DataFrame]:
    """The CRM holds a company for each rep spelling (and a lookalike); the warehouse has the keys."""
    existing = {make_company(r, website): key for website, key in REP_SPELLINGS.items()}
    lookalike = make_company(r, "https://notx.com")  # contains "x.com", is another company
    keys = list(REP_SPELLINGS.values())
    c = companies(*(company(k.encode("ascii").decode("idna") if k.startswith("xn--") else k) for k in keys))
    linked = [k for k in keys if k.isascii() and "'" not in k]  # a person's e-mail needs a plain domain
    return existing, lookalike, linked, persons(*(person(f"it@{k}", k) for k in linked)), c


def assert_all_matched(r: Runner, result: Any, existing: dict[str, str], lookalike: str, linked: list[str]) -> None:
    assert result.failed == 0, result.log.filter(pl.col("status") == "failed").to_dicts()
    after = all_companies(r)
    assert set(after) == {*existing, lookalike}  # every rep's company matched, none created
    obj = "Account" if r.crm == "salesforce" else "companies"
    for crm_id, key in existing.items():
        row = outcome(result, key, obj)
        assert (row["action"], row["crm_id"]) == ("update", crm_id)
        assert after[crm_id] == next(w for w, k in REP_SPELLINGS.items() if k == key)  # the rep's spelling stays
    for k in linked:
        assert company_of_person(r, f"it@{k}") == next(i for i, key in existing.items() if key == k)


def test_a_crm_website_in_any_spelling_is_matched_not_duplicated(runner: Runner) -> None:
    existing, lookalike, linked, p, c = rep_world(runner)
    urls: list[str] = []
    if runner.crm == "salesforce":
        runner.client.session.hooks["response"].append(lambda resp, *a, **k: urls.append(unquote_plus(resp.url)))
    result = runner.sync(p, c)
    assert_all_matched(runner, result, existing, lookalike, linked)
    if runner.crm == "salesforce":  # one LIKE statement looked for all six domains
        assert len([u for u in urls if "FROM Account WHERE Website LIKE" in u]) == 1


def test_hubspot_searches_each_domain_when_reading_every_company_would_cost_more(
        hs_runner: Runner, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hs_runner.setup()
    monkeypatch.setattr(hubspot_pass, "HUBSPOT_SEARCH_PAGE", 1)  # as if the portal held far more companies
    existing, lookalike, linked, p, c = rep_world(hs_runner)
    sandbox.admin("hubspot", "DELETE", "calls")
    result = hs_runner.sync(p, c)
    assert_all_matched(hs_runner, result, existing, lookalike, linked)
    searches = sandbox.calls("hubspot")["by_endpoint"]["POST crm/v3/objects/{type}/search"]
    assert searches == 1 + 2  # the count, then 6 domains (7 texts with bücher.de) at 5 filter groups a call


def test_hubspot_first_sync_into_an_empty_portal_searches_once(hs_runner: Runner, sandbox: Any) -> None:
    hs_runner.setup()
    sandbox.admin("hubspot", "DELETE", "calls")
    c = companies(*(company(f"firm{i}.io") for i in range(150)))
    result = hs_runner.sync(persons(), c)
    assert result.summary["companies"].created == 150
    # Two counts say the portal has no company with our sync key nor with a domain: no batch read
    # per 100 keys, no search per 5 domains (README "Reading the CRM").
    calls = sandbox.calls("hubspot")["by_endpoint"]
    assert calls["POST crm/v3/objects/{type}/search"] == 2
    assert calls.get("POST crm/v3/objects/{type}/batch/read", 0) == 0


def test_like_wildcards_in_a_domain_match_only_themselves(runner: Runner) -> None:
    other = make_company(runner, "https://a-b.com/")  # "a_b.com" as a LIKE pattern would match it
    result = runner.sync(persons(), companies(company("a_b.com")))
    assert outcome(result, "a_b.com")["action"] == "create"
    assert len(all_companies(runner)) == 2 and other in all_companies(runner)


def test_an_account_carrying_another_domains_sync_key_is_not_taken(sf_runner: Runner, sf: Any) -> None:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    sf_runner.sync(persons(), companies(company("old.io")))
    acct = sf.query("SELECT Id FROM Account")["records"][0]["Id"]
    sf.Account.update(acct, {"Website": "https://www.new.io/"})  # a rep retyped the website of old.io's Account
    result = sf_runner.sync(persons(), companies(company("new.io")))
    assert outcome(result, "new.io")["action"] == "create"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2


def test_an_account_with_a_sync_key_written_before_keys_were_normalised_is_still_ours(sf_runner: Runner,
                                                                                      sf: Any) -> None:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    old = sf.Account.create({"Name": "Legacy", "Website": "https://www.legacy.io/",
                             "Warmly_Sync_Key__c": "https://www.legacy.io/"})  # as a loosely spelled model left it
    result = sf_runner.sync(persons(), companies(company("legacy.io")))
    assert (outcome(result, "legacy.io")["action"], outcome(result, "legacy.io")["crm_id"]) == ("update", old["id"])
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1
