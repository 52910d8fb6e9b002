"""The daily API allocation (:mod:`connectors.sandbox.salesforce.limits`): ``limits``, the 403
past the allocation, and ``Sforce-Limit-Info`` on every response.
"""

from __future__ import annotations

import re

import pytest
import requests
from simple_salesforce.exceptions import SalesforceRefusedRequest

from tests.sandbox.salesforce.conftest import config


def test_daily_api_allocation_is_spent_and_reported(sf, sandbox):
    limits = sf.limits()
    used = sf.api_usage["api-usage"].used
    assert limits["DailyApiRequests"]["Max"] == 100000
    assert limits["DailyApiRequests"]["Remaining"] == 100000 - used
    assert sf.api_usage["api-usage"].total == 100000
    config(sandbox, daily_api_limit=used + 2)
    sf.Lead.describe()
    sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"] == (used + 2, used + 2)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.status == 403
    assert exc.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    config(sandbox, daily_api_limit=used + 10)
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 7


def test_every_api_response_carries_limit_info(sf, sandbox):
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    base = f"{sandbox.salesforce_url}/services/data/v62.0"
    for method, path in (("GET", "/query?q=SELECT+Id+FROM+Lead"), ("GET", "/query?q=SELECT+Nope+FROM+Lead"),
                         ("POST", "/sobjects/Lead")):
        resp = requests.request(method, base + path, headers=headers, json={}, verify=sandbox.ca_file, timeout=10)
        assert re.fullmatch(r"api-usage=\d+/100000", resp.headers["Sforce-Limit-Info"]), (method, path)
