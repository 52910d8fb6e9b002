"""Session-wide fixtures: the sandbox CRMs, started by the test session itself and stopped by it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.hubspot.client import HubSpotCredentials
from connectors.hubspot.client import make_client as make_hubspot
from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.client import make_client as make_salesforce

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SandboxInfo:
    salesforce_url: str
    hubspot_url: str
    ca_file: str
    token: str

    def admin(self, crm: str, method: str, path: str, json_body: Any = None) -> Any:
        """Call the sandbox admin API (``/__sandbox/…``), which is not CRM API use."""
        base = self.salesforce_url if crm == "salesforce" else self.hubspot_url
        resp = requests.request(
            method, f"{base}/__sandbox/{path.lstrip('/')}", json=json_body, verify=self.ca_file, timeout=30
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def reset(self) -> None:
        self.admin("salesforce", "POST", "reset")
        self.admin("hubspot", "POST", "reset")

    def calls(self, crm: str) -> dict[str, Any]:
        return self.admin(crm, "GET", "calls")

    def salesforce_env(self) -> dict[str, str]:
        return {
            "SALESFORCE_INSTANCE_URL": self.salesforce_url,
            "SALESFORCE_ACCESS_TOKEN": self.token,
            "SALESFORCE_CA_BUNDLE": self.ca_file,
        }

    def hubspot_env(self) -> dict[str, str]:
        return {"HUBSPOT_ACCESS_TOKEN": self.token, "HUBSPOT_BASE_URL": self.hubspot_url}


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    """Both sandbox CRMs in a child process on free ports, for the whole test session."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_pipeline.cli", "sandbox", "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline and not line:
        line = proc.stdout.readline().strip()
        if proc.poll() is not None:
            break
    if not line:
        proc.kill()
        pytest.fail("the sandbox CRMs did not start")
    info = SandboxInfo(**json.loads(line))
    try:
        yield info
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def sandbox_clean(sandbox: SandboxInfo) -> SandboxInfo:
    """The sandboxes with all state, faults and counters wiped."""
    sandbox.reset()
    return sandbox


@pytest.fixture
def sf(sandbox_clean: SandboxInfo):
    """A real simple-salesforce client logged in to the (clean) Salesforce sandbox."""
    return make_salesforce(SalesforceCredentials.from_env(sandbox_clean.salesforce_env()))


@pytest.fixture
def hs(sandbox_clean: SandboxInfo):
    """A real hubspot-api-client pointed at the (clean) HubSpot sandbox."""
    return make_hubspot(HubSpotCredentials.from_env(sandbox_clean.hubspot_env()))
