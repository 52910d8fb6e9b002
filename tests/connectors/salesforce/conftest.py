"""Fixtures for the Salesforce connector tests: connectors on the sandbox whose waits are recorded, not slept."""

from __future__ import annotations

import pytest

from connectors.salesforce.api import SalesforceConnector
from tests.connectors.salesforce.helpers import _add_key, _reset


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def conn(sf, sleeps: list[float]) -> SalesforceConnector:
    return SalesforceConnector(sf, sleep=sleeps.append)


@pytest.fixture
def keyed(conn: SalesforceConnector, sandbox_clean) -> SalesforceConnector:
    """``conn`` with the Lead external-id field in place, and counters zeroed on both sides."""
    _add_key(conn)
    sandbox_clean.admin("salesforce", "DELETE", "calls")
    conn.calls = _reset(conn)
    return conn
