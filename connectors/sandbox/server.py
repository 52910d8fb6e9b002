"""Start both sandbox CRMs: in process (:func:`start`) or in the foreground (`writeback sandbox`).

`writeback sandbox` prints one JSON line — ``salesforce_url``, ``hubspot_url``, ``ca_file``,
``token`` — and serves until interrupted. Clients log in to the Salesforce sandbox with
the token as a bearer session id, or through ``POST /services/oauth2/token`` (see
``connectors/sandbox/README.md`` for the accepted credentials).
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from connectors.sandbox.base import Served, serve
from connectors.sandbox.hubspot import HubSpotApp
from connectors.sandbox.salesforce import SalesforceApp
from connectors.sandbox.tls import make_certificates, server_context


@dataclass
class Sandboxes:
    salesforce: Served
    hubspot: Served
    ca_file: Path
    token: str

    @property
    def salesforce_url(self) -> str:
        return self.salesforce.url

    @property
    def hubspot_url(self) -> str:
        return self.hubspot.url

    def describe(self) -> dict[str, str]:
        return {
            "salesforce_url": self.salesforce_url,
            "hubspot_url": self.hubspot_url,
            "ca_file": str(self.ca_file),
            "token": self.token,
        }

    def stop(self) -> None:
        self.salesforce.stop()
        self.hubspot.stop()


def start(
    data_dir: Path | str,
    *,
    salesforce_port: int = 0,
    hubspot_port: int = 0,
    token: str | None = None,
    host: str = "127.0.0.1",
) -> Sandboxes:
    data = Path(data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    token = token or secrets.token_urlsafe(24)
    ca_file, cert_file, key_file = make_certificates(data / "tls")
    sf = serve(
        SalesforceApp(data / "salesforce.sqlite", token=token),
        host,
        salesforce_port,
        server_context(cert_file, key_file),
    )
    hs = serve(HubSpotApp(data / "hubspot.sqlite", token=token), host, hubspot_port)
    return Sandboxes(sf, hs, ca_file, token)


def main(args: argparse.Namespace) -> int:
    sandboxes = start(
        args.data_dir,
        salesforce_port=args.salesforce_port,
        hubspot_port=args.hubspot_port,
        token=args.token,
        host=args.host,
    )
    print(json.dumps(sandboxes.describe()), flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    sandboxes.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    defaults = {"data_dir": ".data/sandbox", "salesforce_port": 0, "hubspot_port": 0, "token": None}
    sys.exit(main(argparse.Namespace(host="127.0.0.1", **defaults)))
