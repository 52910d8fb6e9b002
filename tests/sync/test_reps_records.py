"""Records reps already have: the sync finds them, fills what is empty, and keeps what reps decided.

Promises (README "Rules that keep the CRM clean", "Edits and deletes made by reps"):
- an existing Contact with the email is updated as that Contact; else an unconverted Lead; else a
  Lead is created — a converted Lead is never written;
- companies are matched by our sync key, then by the Website/domain, and a matched record is stamped
  with our sync key;
- names, the email/website and link fields (``Contact.AccountId``, HubSpot's company association)
  are only filled when empty: a rep's correction or account assignment wins, with or without
  ``--reconcile``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import hs_companies, hs_company_of, hs_contact, sf_count, sf_one, state_rows

SETTINGS = {"objects": {"contact": {"create": False}}}
CONTACT = "SELECT Id, AccountId, FirstName, LastName, Title, Warmly_Session_Count__c, Warmly_Sync_Key__c FROM Contact"


@pytest.fixture
def ready(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = SETTINGS
    sf_runner.setup()
    return sf_runner


def acme() -> pl.DataFrame:
    return companies(company("acme.io", name="Acme"))


# -- people in Salesforce ------------------------------------------------------------------------

def test_a_contact_a_rep_linked_to_another_account_keeps_that_account(ready: Runner, sf: Any) -> None:
    holdings = sf.Account.create({"Name": "Acme Holdings", "Website": "acme-holdings.com"})["id"]
    linked = sf.Contact.create({"LastName": "Rivers", "Email": "carol@acme.io", "AccountId": holdings})["id"]
    loose = sf.Contact.create({"LastName": "Stone", "Email": "dave@acme.io"})["id"]  # no Account yet
    p = persons(person("carol@acme.io", first_name="Carol"), person("dave@acme.io", first_name="Dave"))

    first = ready.sync(p, acme())
    ours = sf_one(sf, "SELECT Id FROM Account WHERE Warmly_Sync_Key__c = {}", "acme.io")["Id"]
    assert sf_one(sf, f"{CONTACT} WHERE Id = {{}}", linked)["AccountId"] == holdings  # the rep's choice
    assert sf_one(sf, f"{CONTACT} WHERE Id = {{}}", loose)["AccountId"] == ours  # an empty link is filled
    assert "AccountId" not in outcome(first, "carol@acme.io")["changed_fields"].split(",")
    assert "AccountId" in outcome(first, "dave@acme.io")["changed_fields"].split(",")
    assert sf_one(sf, f"{CONTACT} WHERE Id = {{}}", linked)["Warmly_Session_Count__c"] == 3  # still synced

    again = ready.sync(p, acme(), full_refresh=True)  # comparing every record: the link is not drift
    assert again.api_calls["writes"] == 0
    assert {outcome(again, k)["action"] for k in ("carol@acme.io", "dave@acme.io")} == {"unchanged"}
    assert sf_one(sf, f"{CONTACT} WHERE Id = {{}}", linked)["AccountId"] == holdings


def test_a_reps_corrected_first_name_on_a_contact_is_kept_on_every_run(ready: Runner, sf: Any) -> None:
    rid = sf.Contact.create({"FirstName": "Carrie", "LastName": "Rivers", "Email": "carol@acme.io"})["id"]
    p = persons(person("carol@acme.io", first_name="Carol", last_name="Rivers-Smith"))
    ready.sync(p, acme())
    ready.sync(p.with_columns(first_name=pl.lit("Caroline"), title=pl.lit("CMO")), acme())
    drift = ready.sync(p.with_columns(first_name=pl.lit("Caroline"), title=pl.lit("CMO")), acme(), full_refresh=True)
    assert drift.api_calls["writes"] == 0
    after = sf_one(sf, f"{CONTACT} WHERE Id = {{}}", rid)
    assert (after["FirstName"], after["LastName"], after["Title"]) == ("Carrie", "Rivers", "CMO")


def test_the_company_a_rep_typed_on_a_lead_is_kept(ready: Runner, sf: Any) -> None:
    rid = sf.Lead.create({"LastName": "Lee", "Company": "Acme Holdings Ltd", "Email": "ann@acme.io"})["id"]
    p = persons(person("ann@acme.io", first_name="Ann"))
    ready.sync(p, acme())
    moved = p.with_columns(company_name=pl.lit("Acme Corp"), title=pl.lit("CRO"))
    ready.sync(moved, acme())
    assert ready.sync(moved, acme(), full_refresh=True).api_calls["writes"] == 0  # not drift either
    lead = sf_one(sf, "SELECT Company, FirstName, Title FROM Lead WHERE Id = {}", rid)
    assert (lead["Company"], lead["FirstName"], lead["Title"]) == ("Acme Holdings Ltd", "Ann", "CRO")


def test_the_same_email_as_a_lead_and_a_contact_updates_the_contact_only(
        ready: Runner, sf: Any, warehouse: Warehouse) -> None:
    lead = sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Email": "ann@acme.io", "Title": "Intern"})["id"]
    contact = sf.Contact.create({"LastName": "Lee", "Email": "Ann@Acme.io"})["id"]
    result = ready.sync(persons(person("ann@acme.io", first_name="Ann", title="CMO")), acme())
    row = outcome(result, "ann@acme.io")
    assert (row["object"], row["action"], row["crm_id"]) == ("Contact", "update", contact)
    assert sf_one(sf, f"{CONTACT} WHERE Id = {{}}", contact)["Title"] == "CMO"
    untouched = sf_one(sf, "SELECT Title, Warmly_Session_Count__c, Warmly_Sync_Key__c FROM Lead WHERE Id = {}", lead)
    assert (untouched["Title"], untouched["Warmly_Session_Count__c"], untouched["Warmly_Sync_Key__c"]) == (
        "Intern", None, None)
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 1
    [state] = state_rows(warehouse, "ann@acme.io")
    assert (state["crm_object"], state["crm_id"]) == ("Contact", contact)


def test_a_lead_a_rep_converted_is_followed_to_its_contact(
        ready: Runner, sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    p = persons(person("ann@acme.io", first_name="Ann"))
    ready.sync(p, acme())
    lead = sf_one(sf, "SELECT Id FROM Lead WHERE Email = {}", "ann@acme.io")["Id"]
    ours = sf_one(sf, "SELECT Id FROM Account WHERE Warmly_Sync_Key__c = {}", "acme.io")["Id"]
    converted = sandbox.admin("salesforce", "POST", "convert-lead", {"leadId": lead, "accountId": ours})
    assert converted["success"], converted

    quiet = ready.sync(p, acme())  # the warehouse did not change: the conversion is not even read
    assert quiet.api_calls["writes"] == 0

    later = ready.sync(p.with_columns(session_count=pl.lit(5), title=pl.lit("CRO")), acme())
    assert later.failed == 0, later.log.filter(pl.col("status") == "failed").to_dicts()
    row = outcome(later, "ann@acme.io")
    assert (row["object"], row["action"], row["crm_id"]) == ("Contact", "update", converted["contactId"])
    contact = sf_one(sf, f"{CONTACT} WHERE Id = {{}}", converted["contactId"])
    assert (contact["Title"], contact["Warmly_Session_Count__c"], contact["AccountId"]) == ("CRO", 5, ours)
    assert contact["Warmly_Sync_Key__c"] == "ann@acme.io"  # stamped: a later create finds it
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 1  # no Lead made again, the converted one untouched
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Id = {}", lead)["Title"] == "VP Sales"
    assert state_rows(warehouse, "ann@acme.io")[-1]["crm_object"] == "Contact"


@pytest.mark.parametrize("whose", ["ours", "a-reps"])
def test_a_lead_converted_into_a_contact_with_another_email_is_followed_to_that_contact(
        ready: Runner, sf: Any, sandbox: Any, warehouse: Warehouse, whose: str) -> None:
    """A rep converted Ann's Lead into the Contact they already had under another address: no Contact
    holds ann@acme.io, the only Lead that does is converted (read-only), and Ann lives on in that
    Contact. Whether we wrote the Lead first (it then holds our sync key) or never saw it."""
    p = persons(person("ann@acme.io", first_name="Ann"))
    if whose == "ours":
        ready.sync(p, acme())
        lead = sf_one(sf, "SELECT Id FROM Lead WHERE Email = {}", "ann@acme.io")["Id"]
        acct = sf_one(sf, "SELECT Id FROM Account")["Id"]
    else:
        acct = sf.Account.create({"Name": "Acme", "Website": "acme.io"})["id"]
        lead = sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Email": "ann@acme.io"})["id"]
    kept = sf.Contact.create({"LastName": "Lee", "Email": "ann.lee@acme.io", "AccountId": acct})["id"]
    assert sandbox.admin("salesforce", "POST", "convert-lead",
                         {"leadId": lead, "accountId": acct, "contactId": kept})["success"]
    before = sf_one(sf, "SELECT Title, Warmly_Session_Count__c, LastModifiedDate FROM Lead WHERE Id = {}", lead)

    for sessions in (5, 6):  # and again on the run after
        result = ready.sync(p.with_columns(session_count=pl.lit(sessions)), acme())
        assert result.failed == 0, result.log.filter(pl.col("status") == "failed").to_dicts()
        row = outcome(result, "ann@acme.io")
        assert (row["object"], row["action"], row["crm_id"]) == ("Contact", "update", kept)
        contact = sf_one(sf, f"{CONTACT} WHERE Id = {{}}", kept)
        assert (contact["Warmly_Session_Count__c"], contact["AccountId"]) == (sessions, acct)
        assert sf_one(sf, "SELECT Email FROM Contact WHERE Id = {}", kept)["Email"] == "ann.lee@acme.io"
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 1  # no Lead made again
    assert sf_one(sf, "SELECT Title, Warmly_Session_Count__c, LastModifiedDate FROM Lead WHERE Id = {}",
                  lead) == before
    assert state_rows(warehouse, "ann@acme.io")[-1]["crm_id"] == kept


# -- companies -----------------------------------------------------------------------------------

def test_an_account_a_rep_created_is_matched_by_website_and_stamped_with_our_sync_key(
        ready: Runner, sf: Any) -> None:
    rid = sf.Account.create({"Name": "Acme Inc", "Website": "https://www.acme.io/", "Industry": "Banking"})["id"]
    first = ready.sync(persons(), acme())
    assert (outcome(first, "acme.io")["action"], outcome(first, "acme.io")["crm_id"]) == ("update", rid)
    acct = sf_one(sf, "SELECT Name, Website, Industry, Warmly_Session_Count__c, Warmly_Sync_Key__c FROM Account "
                      "WHERE Id = {}", rid)
    assert (acct["Name"], acct["Website"]) == ("Acme Inc", "https://www.acme.io/")  # the rep's, kept
    assert (acct["Warmly_Session_Count__c"], acct["Warmly_Sync_Key__c"]) == (12, "acme.io")

    # The rep moves the website to a new domain: our key still finds the Account, no duplicate.
    sf.Account.update(rid, {"Website": "https://acme-corp.com"})
    later = ready.sync(persons(), companies(company("acme.io", name="Acme", session_count=13)))
    assert (outcome(later, "acme.io")["action"], outcome(later, "acme.io")["crm_id"]) == ("update", rid)
    assert sf_count(sf, "SELECT COUNT() FROM Account") == 1
    assert sf_one(sf, "SELECT Warmly_Session_Count__c FROM Account WHERE Id = {}", rid)[
        "Warmly_Session_Count__c"] == 13


def test_a_company_a_rep_created_in_hubspot_is_matched_by_domain_and_stamped(hs_runner: Runner, hs: Any) -> None:
    hs_runner.setup()
    rep = hs.crm.companies.basic_api.create({"properties": {"name": "Acme Inc", "domain": "acme.io"}})
    p = persons(person("ann@acme.io", first_name="Ann"))
    first = hs_runner.sync(p, acme())
    assert (outcome(first, "acme.io")["action"], outcome(first, "acme.io")["crm_id"]) == ("update", rep.id)
    [co] = hs_companies(hs)
    assert (co.properties["name"], co.properties["warmly_sync_key"]) == ("Acme Inc", "acme.io")
    ann = hs_contact(hs, "ann@acme.io", ["email"])
    assert hs_company_of(hs, ann.id) == [rep.id]

    hs.crm.companies.basic_api.update(rep.id, {"properties": {"domain": "acme-corp.com"}})
    later = hs_runner.sync(p, companies(company("acme.io", name="Acme", session_count=13)))
    assert (outcome(later, "acme.io")["action"], outcome(later, "acme.io")["crm_id"]) == ("update", rep.id)
    assert [c.id for c in hs_companies(hs)] == [rep.id]
