"""Build the configured CRM connector and the warehouse from the environment.

Credentials are read here, from the environment only; a missing one is a
:class:`~connectors.errors.ConfigError` (exit code 2) naming the variable, never its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from connectors.errors import ConfigError
from dagster_pipeline.sync.settings import Settings


def make_connector(settings: Settings, env: Mapping[str, str] | None = None) -> Any:
    env = os.environ if env is None else env
    try:
        if settings.crm == "salesforce":
            from connectors.salesforce.api import SalesforceConnector
            from connectors.salesforce.client import SalesforceCredentials, make_client

            sf = make_client(SalesforceCredentials.from_env(env))
            return SalesforceConnector(sf, bulk_threshold=settings.sync.bulk_threshold,
                                       max_attempts=settings.sync.max_attempts)
        from connectors.hubspot.api import HubSpotConnector
        from connectors.hubspot.client import HubSpotCredentials
        from connectors.hubspot.client import make_client as make_hubspot

        hs = make_hubspot(HubSpotCredentials.from_env(env))
        return HubSpotConnector(hs, ten_second_limit=settings.sync.hubspot_ten_second_limit,
                                max_attempts=settings.sync.max_attempts)
    except ValueError as exc:
        raise ConfigError(str(exc), key="environment") from None


def make_warehouse() -> Any:
    from connectors.warehouse import Warehouse

    return Warehouse.from_env()
