"""Fixtures for the HubSpot connector tests: a fake clock, and a connector on the sandbox that sleeps on it."""

from __future__ import annotations

import pytest
from hubspot import HubSpot

from connectors.hubspot.api import HubSpotConnector
from tests.connectors.hubspot.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def conn(hs: HubSpot, clock: FakeClock) -> HubSpotConnector:
    return HubSpotConnector(hs, sleep=clock.sleep, clock=clock, seed=7)
