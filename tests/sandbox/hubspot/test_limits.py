"""Rate limits and authentication of the HubSpot sandbox (``limits``), through the real SDK:
the rolling ten-second window and the daily allowance with their 429 bodies and
``X-HubSpot-RateLimit-*`` headers, and 401 for a bad or missing token.
"""

from __future__ import annotations

import time
from typing import Any

from hubspot import HubSpot

from tests.sandbox.hubspot.conftest import client_for, configure, fail


# -- rate limits and authentication -----------------------------------------------------------------
def test_ten_second_window_429_with_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, ten_second_limit=3, ten_second_window_ms=1500)
    remaining = []
    for _ in range(3):
        _, status, headers = hs.crm.contacts.basic_api.get_page_with_http_info()
        assert status == 200
        assert headers["X-HubSpot-RateLimit-Max"] == "3"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1500"
        remaining.append(headers["X-HubSpot-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    status, body, headers = fail(hs.crm.contacts.basic_api.get_page)
    assert status == 429
    assert body == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": body["correlationId"],
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": body["groupName"],
    }
    assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
    time.sleep(1.6)
    assert hs.crm.contacts.basic_api.get_page().results == []


def test_daily_limit_429_and_daily_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, daily_limit=2)
    _, _, headers = hs.crm.contacts.basic_api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Daily"] == "2" and headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
    hs.crm.contacts.basic_api.get_page()
    status, body, headers = fail(hs.crm.contacts.basic_api.get_page)
    assert status == 429 and body["policyName"] == "DAILY" and body["message"] == "You have reached your daily limit."
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_bad_or_missing_token_is_401(sandbox_clean: Any) -> None:
    wrong = client_for(sandbox_clean, token="not-the-token")
    status, body, headers = fail(wrong.crm.contacts.basic_api.get_page)
    assert status == 401 and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
    assert "X-HubSpot-RateLimit-Remaining" not in headers
    anonymous = HubSpot(host=sandbox_clean.hubspot_url)
    status, body, _ = fail(anonymous.crm.contacts.basic_api.get_page)
    assert status == 401 and "Authentication credentials not found" in body["message"]
