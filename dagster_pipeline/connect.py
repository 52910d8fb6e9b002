"""Build the configured CRM connector and the warehouse from the environment.

Credentials are read here, from the environment only, and checked before the first write:
a missing or malformed one (a line break in a token, a URL without ``https://host``, a CA
file that is not there) is a :class:`~connectors.errors.ConfigError` (one line, exit code 2)
naming the variable, never its value. So is a log-in the CRM refuses (a wrong OAuth password):
nothing can run until the credentials are fixed. A CRM that cannot be reached is a
:class:`~connectors.errors.CrmError` (exit code 1): the same settings may work on the next run.

Every connector built here shares its org's API budget (:class:`~connectors.budget.SharedBudget`,
kept under ``WRITEBACK_STATE_DIR``) with every other process writing to that org, and keeps
``sync.api_reserve`` of the daily allocation for the org's other integrations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from connectors.budget import SharedBudget, org_slug, state_dir, token_digest
from connectors.errors import AuthenticationError, ConfigError
from dagster_pipeline.sync.settings import Settings


def make_connector(settings: Settings, env: Mapping[str, str] | None = None) -> Any:
    env = os.environ if env is None else env
    tuning = settings.sync
    if settings.crm == "salesforce":
        from connectors.salesforce.api import SalesforceConnector
        from connectors.salesforce.client import SalesforceCredentials, make_client

        try:
            creds = SalesforceCredentials.from_env(env)
        except ValueError as exc:
            raise ConfigError(str(exc), key="environment") from None
        try:
            sf = make_client(creds)
        except AuthenticationError as exc:
            raise ConfigError(exc.text, key="environment") from None
        budget = SharedBudget.for_org(state_dir(), "salesforce", sf.sf_instance, reserve=tuning.api_reserve)
        return SalesforceConnector(sf, bulk_threshold=tuning.bulk_threshold, max_attempts=tuning.max_attempts,
                                   max_retry_after=tuning.max_retry_after_seconds, budget=budget,
                                   **_optional(tuning))
    from connectors.hubspot.api import HubSpotConnector
    from connectors.hubspot.client import HubSpotCredentials
    from connectors.hubspot.client import make_client as make_hubspot

    try:
        hs_creds = HubSpotCredentials.from_env(env)
    except ValueError as exc:
        raise ConfigError(str(exc), key="environment") from None
    options = _optional(tuning)
    if "request_timeout" in options:
        options["timeout"] = options.pop("request_timeout")
    # One ledger per app and account: the token is what names them before any call (only a digest of it
    # is kept). The burst window is the app's, the daily allocation the account's.
    account = f"{org_slug(hs_creds.base_url)}-{token_digest(hs_creds.access_token)}"
    budget = SharedBudget.for_org(state_dir(), "hubspot", account, reserve=tuning.api_reserve,
                                  window_limit=tuning.hubspot_ten_second_limit)
    return HubSpotConnector(make_hubspot(hs_creds), ten_second_limit=tuning.hubspot_ten_second_limit,
                            max_attempts=tuning.max_attempts, max_retry_after=tuning.max_retry_after_seconds,
                            budget=budget, **options)


def _optional(tuning: Any) -> dict[str, Any]:
    """The tuning given in the settings whose default is the connector's own (the CRM's maximum)."""
    out: dict[str, Any] = {}
    if tuning.batch_size is not None:
        out["batch_size"] = tuning.batch_size
    if tuning.request_timeout_seconds is not None:
        out["request_timeout"] = tuning.request_timeout_seconds
    return out


def make_warehouse() -> Any:
    from connectors.warehouse import Warehouse

    return Warehouse.from_env()
