"""Resources wrapping our connectors. The engine never sees these: assets unwrap them.

Credentials reach the resources as ``EnvVar`` (see ``credential_resource_kwargs``), so the
Dagster UI and run config show variable names, never values, and nothing secret is ever
written to metadata.
"""

from __future__ import annotations

import os
from typing import Any

from dagster import ConfigurableResource, EnvVar, Failure

from connectors.errors import ConfigError
from connectors.hubspot.client import HubSpotCredentials
from connectors.salesforce.client import SalesforceCredentials
from dagster_pipeline.sync.settings import Settings, load_settings

#: resource field -> environment variable
CREDENTIAL_VARS = {
    "salesforce_instance_url": "SALESFORCE_INSTANCE_URL",
    "salesforce_access_token": "SALESFORCE_ACCESS_TOKEN",
    "salesforce_username": "SALESFORCE_USERNAME",
    "salesforce_password": "SALESFORCE_PASSWORD",
    "salesforce_security_token": "SALESFORCE_SECURITY_TOKEN",
    "salesforce_client_id": "SALESFORCE_CLIENT_ID",
    "salesforce_client_secret": "SALESFORCE_CLIENT_SECRET",
    "salesforce_private_key": "SALESFORCE_PRIVATE_KEY",
    "salesforce_private_key_file": "SALESFORCE_PRIVATE_KEY_FILE",
    "salesforce_domain": "SALESFORCE_DOMAIN",
    "salesforce_login_url": "SALESFORCE_LOGIN_URL",
    "salesforce_api_version": "SALESFORCE_API_VERSION",
    "salesforce_ca_bundle": "SALESFORCE_CA_BUNDLE",
    "hubspot_access_token": "HUBSPOT_ACCESS_TOKEN",
    "hubspot_base_url": "HUBSPOT_BASE_URL",
}


def credential_resource_kwargs() -> dict[str, Any]:
    """``EnvVar`` for every credential variable set in the environment where definitions load."""
    return {field: EnvVar(var) for field, var in CREDENTIAL_VARS.items() if os.environ.get(var)}


class WarehouseResource(ConfigurableResource):
    """The warehouse holding the sync models, the sync log and the sync state."""

    url: str | None = None  # a SQLAlchemy URL; default: WRITEBACK_WAREHOUSE_URL or the DuckDB file

    def get(self) -> Any:
        from connectors.warehouse import Warehouse, default_url
        from dagster_pipeline.defs.dbt import sync_schema

        # The sync models are read where this code location's dbt assets write them (their target).
        return Warehouse(self.url or default_url(), sync_schema=sync_schema())


class CrmResource(ConfigurableResource):
    """The configured CRM: settings file, CRM override, and credentials (as EnvVar).

    ``crm`` overrides the file's ``crm:`` as ``--crm`` does on the command line: that CRM's own
    object settings (``objects.<crm>``) apply.
    """

    settings_path: str | None = None
    crm: str | None = None
    salesforce_instance_url: str | None = None
    salesforce_access_token: str | None = None
    salesforce_username: str | None = None
    salesforce_password: str | None = None
    salesforce_security_token: str | None = None
    salesforce_client_id: str | None = None
    salesforce_client_secret: str | None = None
    salesforce_private_key: str | None = None
    salesforce_private_key_file: str | None = None
    salesforce_domain: str | None = None
    salesforce_login_url: str | None = None
    salesforce_api_version: str | None = None
    salesforce_ca_bundle: str | None = None
    hubspot_access_token: str | None = None
    hubspot_base_url: str | None = None

    def load_settings(self) -> Settings:
        """The settings, read when a run starts: a file that does not validate fails the run with
        one line naming the key (no traceback of ours: the message says all there is to fix)."""
        try:
            settings = load_settings(self.settings_path)
            return settings.for_crm(self.crm) if self.crm else settings
        except ConfigError as exc:
            raise Failure(description=str(exc), allow_retries=False) from None

    def _env(self) -> dict[str, str]:
        return {var: str(getattr(self, field)) for field, var in CREDENTIAL_VARS.items()
                if getattr(self, field) not in (None, "")}

    def connector(self, settings: Settings) -> Any:
        from dagster_pipeline.connect import make_connector

        return make_connector(settings, env=self._env())

    def credentials_present(self, crm: str) -> bool:
        env = self._env()
        try:
            (SalesforceCredentials if crm == "salesforce" else HubSpotCredentials).from_env(env)
        except ValueError:
            return False
        return True


def resources_from_env() -> dict[str, Any]:
    """The resources every asset needs, credentials as ``EnvVar`` from the current environment.

    ``WRITEBACK_CRM`` (salesforce | hubspot), when set, picks the CRM instead of the file's ``crm:``.
    """
    from dagster_pipeline.defs.dbt import dbt_resource

    return {
        "dbt": dbt_resource(),
        "warehouse": WarehouseResource(),
        "crm": CrmResource(crm=os.environ.get("WRITEBACK_CRM") or None, **credential_resource_kwargs()),
    }
