"""`writeback doctor` (:mod:`dagster_pipeline.sync.doctor`): every check a first run needs, against the
sandboxes through the real SDKs, with one fix per failed line — and not one write call.
"""

from __future__ import annotations

from typing import Any

from simple_salesforce import format_soql

from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import SalesforceCredentials, make_client
from connectors.sandbox.hubspot.scopes import ALL_SCOPES
from dagster_pipeline.sync.doctor import DoctorReport, run_doctor
from dagster_pipeline.sync.gate import PERMISSION_SET
from tests.sync.conftest import Runner

WRITES = ("POST", "PATCH", "PUT", "DELETE")
READ_POSTS = ("access-token-info", "batch/read", "/search")


def _doctor(runner: Runner, client: Any = None) -> DoctorReport:
    return run_doctor(runner.settings(), lambda: client if client is not None else runner.connector())


def _check(report: DoctorReport, name: str) -> Any:
    [found] = [c for c in report.checks if c.name == name]
    return found


def _writes(sandbox: Any, crm: str) -> list[str]:
    return [k for k in sandbox.calls(crm)["by_endpoint"]
            if k.split(" ")[0] in WRITES and not any(r in k for r in READ_POSTS)]


def test_a_fresh_org_needs_setup_only_and_is_all_good_after_it(sf_runner: Runner, sandbox_clean: Any) -> None:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sandbox_clean.admin("salesforce", "DELETE", "calls")
    before = _doctor(sf_runner)
    assert _writes(sandbox_clean, "salesforce") == []  # the doctor writes nothing
    assert before.exit_code == 1 and before.only_setup_needed
    names = [c.name for c in before.checks]
    assert names[:4] == ["log in", "API version", "org", "daily allowance"]
    assert {"Lead permissions", "Lead fields", "Contact permissions", "Account fields"} <= set(names)
    lead = _check(before, "Lead fields")
    assert not lead.ok and lead.setup_fixes and "Warmly_Last_Seen__c" in lead.detail
    assert lead.fix == "run `writeback setup` to create them"
    assert _check(before, "log in").detail == "logged in as integration@sandbox.example"
    assert "sandbox org" in _check(before, "org").detail
    assert _check(before, "Contact permissions").detail == "may read/update Contact"

    sf_runner.setup()
    after = _doctor(sf_runner)
    assert after.ok and after.exit_code == 0, [c for c in after.checks if not c.ok]


def test_fields_the_user_cannot_see_name_the_permission_set(sf_runner: Runner, sf: Any) -> None:
    sf_runner.setup()
    ps = sf.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET))["records"][0]["Id"]
    sf.PermissionSet.delete(ps)
    lead = _check(_doctor(sf_runner), "Lead fields")
    assert not lead.ok and lead.setup_fixes
    assert "exist but are not visible to this user (field-level security)" in lead.detail
    assert f"through the {PERMISSION_SET} permission set" in (lead.fix or "")


def test_object_permissions_the_settings_need(sf_runner: Runner, sandbox_clean: Any) -> None:
    sf_runner.setup()
    sandbox_clean.admin("salesforce", "POST", "config", {"object_permissions": {"Lead": {"PermissionsCreate": False}}})
    report = _doctor(sf_runner)
    lead = _check(report, "Lead permissions")
    assert not lead.ok and not report.only_setup_needed
    assert lead.detail == "the Salesforce integration user lacks the object permission Create on Lead"
    assert lead.fix and lead.fix.endswith("or set objects.salesforce.lead.create: false")
    sf_runner.settings_data = {"objects": {"lead": {"create": False}}}  # the other way out
    assert _check(_doctor(sf_runner), "Lead permissions").ok


def test_a_token_without_contacts_write_names_the_scope(hs_runner: Runner, sandbox_clean: Any) -> None:
    hs_runner.setup()
    sandbox_clean.admin("hubspot", "POST", "config",
                        {"scopes": [s for s in ALL_SCOPES if s != "crm.objects.contacts.write"]})
    sandbox_clean.admin("hubspot", "DELETE", "calls")
    report = _doctor(hs_runner)
    assert report.exit_code == 1 and _writes(sandbox_clean, "hubspot") == []
    scopes = _check(report, "scopes")
    assert (scopes.ok, scopes.detail) == (False, "the token lacks crm.objects.contacts.write")
    assert "Private Apps" in (scopes.fix or "")
    contacts = _check(report, "contacts permissions")
    assert not contacts.ok and "crm.objects.contacts.write" in contacts.detail
    assert _check(report, "companies permissions").ok and _check(report, "contacts fields").ok


def test_the_schema_write_scope_is_needed_only_while_setup_has_work(hs_runner: Runner, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config",
                        {"scopes": [s for s in ALL_SCOPES if not s.startswith("crm.schemas.") or s.endswith(".read")]})
    before = _check(_doctor(hs_runner), "scopes")
    assert not before.ok and "crm.schemas.contacts.write" in before.detail
    sandbox_clean.admin("hubspot", "POST", "config", {"scopes": list(ALL_SCOPES)})
    hs_runner.setup()
    sandbox_clean.admin("hubspot", "POST", "config",
                        {"scopes": [s for s in ALL_SCOPES if not s.startswith("crm.schemas.") or s.endswith(".read")]})
    assert _doctor(hs_runner).ok


def test_a_refused_log_in_is_the_only_line(sf_runner: Runner, sandbox_clean: Any, connected_app: Any) -> None:
    connected_app.configure(sandbox_clean, jwt_clock_offset_seconds=600)

    def connect() -> Any:
        return SalesforceConnector(make_client(SalesforceCredentials.from_env(connected_app.env(sandbox_clean))))

    report = run_doctor(sf_runner.settings(), connect)
    [login] = report.checks
    assert (login.name, login.ok, report.exit_code) == ("log in", False, 1)
    assert "expired" in login.detail and "clock" in (login.fix or "")


def test_api_version_and_daily_allowance(sf_runner: Runner, sandbox_clean: Any) -> None:
    old = SalesforceConnector(make_client(SalesforceCredentials.from_env(
        {**sandbox_clean.salesforce_env(), "SALESFORCE_API_VERSION": "20.0"})))
    sandbox_clean.admin("salesforce", "POST", "config", {"daily_api_limit": 10})
    for _ in range(8):  # the doctor's Organization query and limits call spend the last two
        old.describe("Lead", refresh=True)
    report = _doctor(sf_runner, old)
    version = _check(report, "API version")
    assert not version.ok and version.fix == "set SALESFORCE_API_VERSION=66.0"
    allowance = _check(report, "daily allowance")
    assert (allowance.ok, allowance.detail) == (False, "0 of 10 API calls left today")
