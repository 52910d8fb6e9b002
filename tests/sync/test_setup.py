"""`writeback setup` (:mod:`dagster_pipeline.sync.setup`) on an org that enforces field-level
security: it creates the fields, grants them through the product's permission set, verifies them
through describe — and a sync after it writes every record.
"""

from __future__ import annotations

from simple_salesforce import format_soql

from connectors.salesforce.api import SalesforceConnector
from dagster_pipeline.sync.gate import PERMISSION_SET
from dagster_pipeline.sync.setup import run_setup
from tests.sync.conftest import Runner
from tests.sync.frames import companies, company, person, persons


def test_a_fresh_org_enforcing_field_security_syncs_every_record_after_setup(sf_runner: Runner, sf, sandbox_clean
                                                                             ) -> None:
    assert sandbox_clean.admin("salesforce", "GET", "config")["enforce_field_security"] is True
    report = sf_runner.setup()
    assert report.ok and report.permission_set == PERMISSION_SET
    assert "Warmly_Last_Seen__c" in report.created["Lead"]
    assert report.granted["Lead"] == report.created["Lead"]  # everything created is granted
    assert set(report.granted) == {"Lead", "Contact", "Account"}
    assert report.not_usable == {"Lead": [], "Contact": [], "Account": []}
    # Through Salesforce itself: the running user sees them now.
    assert "Warmly_Last_Seen__c" in {f["name"] for f in sf.Lead.describe()["fields"]}
    ps = sf.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET))["records"]
    assert len(ps) == 1
    assert sf.query(format_soql("SELECT COUNT() FROM PermissionSetAssignment WHERE PermissionSetId = {}",
                                ps[0]["Id"]))["totalSize"] == 1

    result = sf_runner.sync(persons(person("ann@acme.io"), person("bob@globex.com", "globex.com")),
                            companies(company("acme.io"), company("globex.com")))
    assert result.failed == 0
    assert result.summary["Lead"].created == 2 and result.summary["Account"].created == 2


def test_setup_again_writes_nothing_and_a_dry_run_says_what_it_would_grant(sf_runner: Runner, sf,
                                                                            sandbox_clean) -> None:
    dry = run_setup(sf_runner.settings(), SalesforceConnector(sf), dry_run=True)
    assert "Warmly_Last_Seen__c" in dry.created["Lead"] and dry.granted["Lead"] == dry.created["Lead"]
    assert sf.query("SELECT COUNT() FROM PermissionSet")["totalSize"] == 1  # the profile's only
    sf_runner.setup()
    sandbox_clean.admin("salesforce", "DELETE", "calls")
    again = sf_runner.setup()
    assert again.granted == {} and all(not v for v in again.created.values())
    writes = {k: n for k, n in sandbox_clean.calls("salesforce")["by_endpoint"].items()
              if k.split(" ")[0] in ("POST", "PATCH", "PUT", "DELETE")}
    assert writes == {}
