"""Session-wide fixtures: the sandbox CRMs, started by the test session itself and stopped by it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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


def make_keypair(common_name: str = "writeback-tests") -> tuple[str, str]:
    """A fresh RSA private key and a self-signed certificate for it, both PEM (a connected app's pair)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class ConnectedApp:
    """A connected app with a certificate, as the JWT bearer flow needs: its consumer key and key pair."""

    consumer_key: str
    private_key: str = field(repr=False)
    certificate: str = field(repr=False)
    username: str = "integration@sandbox.example"  # the sandbox's integration user

    def configure(self, sandbox: SandboxInfo, **config: Any) -> None:
        """Register the app (consumer key, certificate) with the Salesforce sandbox."""
        sandbox.admin("salesforce", "POST", "config", {"jwt_consumer_key": self.consumer_key,
                                                       "jwt_certificate": self.certificate, **config})

    def env(self, sandbox: SandboxInfo, **overrides: str) -> dict[str, str]:
        """What a user exports to log in with it: no instance URL, the ``test`` login host (a sandbox
        org), and the login host pointed at the local sandbox."""
        return {"SALESFORCE_CLIENT_ID": self.consumer_key, "SALESFORCE_USERNAME": self.username,
                "SALESFORCE_PRIVATE_KEY": self.private_key, "SALESFORCE_DOMAIN": "test",
                "SALESFORCE_LOGIN_URL": sandbox.salesforce_url, "SALESFORCE_CA_BUNDLE": sandbox.ca_file, **overrides}


@pytest.fixture(scope="session")
def connected_app() -> ConnectedApp:
    key, cert = make_keypair()
    return ConnectedApp("3MVG9sandbox.writeback.consumer.key", key, cert)


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
