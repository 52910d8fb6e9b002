"""Sandbox state (:mod:`connectors.sandbox.salesforce.state`): records, custom fields, API usage and
id counters survive a restart.
"""

from __future__ import annotations

from typing import Any

from simple_salesforce import Salesforce

from connectors.salesforce.client import SalesforceCredentials, make_client
from connectors.sandbox.base import serve
from connectors.sandbox.salesforce import SalesforceApp
from connectors.sandbox.tls import make_certificates, server_context
from tests.sandbox.salesforce.conftest import add_field, lead


def test_state_survives_a_restart(tmp_path):
    ca, cert, key = make_certificates(tmp_path / "tls")
    db = tmp_path / "salesforce.sqlite"

    def start() -> tuple[Any, Salesforce]:
        served = serve(SalesforceApp(db, token="restart-token"), ssl_context=server_context(cert, key))
        creds = SalesforceCredentials(instance_url=served.url, access_token="restart-token", ca_bundle=str(ca))
        return served, make_client(creds)

    served, sf = start()
    try:
        add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64, externalId=True)
        rid = sf.Lead.create(lead(Email="kept@acme.io", Warmly_Id__c="k1"))["id"]
        sf.Lead.create(lead(Email="gone@acme.io"))
        sf.Lead.delete(sf.query("SELECT Id FROM Lead WHERE Email = 'gone@acme.io'")["records"][0]["Id"])
        used = sf.limits()["DailyApiRequests"]["Max"] - sf.limits()["DailyApiRequests"]["Remaining"]
    finally:
        served.stop()

    served, sf = start()
    try:
        rows = sf.query("SELECT Id, Email, Warmly_Id__c FROM Lead")["records"]
        assert [(r["Id"], r["Email"], r["Warmly_Id__c"]) for r in rows] == [(rid, "kept@acme.io", "k1")]
        assert sf.api_usage["api-usage"].used == used + 1
        assert sf.Lead.upsert("Warmly_Id__c/K1", {"Title": "after restart"}) == 200
        new = sf.Lead.create(lead())["id"]
        assert new != rid and new > rid  # ids keep counting from where they were
    finally:
        served.stop()
