"""One Dagster concurrency pool per CRM org: every sync asset writing to an org is in that org's pool,
and the demo's instance lets one op of a pool run at a time, so two runs never write to one org at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance

from dagster_pipeline.defs.crm import build_sync_assets, org_pool
from dagster_pipeline.demo import write_dagster_config
from dagster_pipeline.sync.settings import WORKFLOWS


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_every_sync_asset_of_one_org_is_in_its_pool(crm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITEBACK_CRM", crm)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-not-a-real-token")
    monkeypatch.delenv("HUBSPOT_PORTAL_ID", raising=False)
    assets = build_sync_assets()
    assert [a.key.path[0] for a in assets] == [f"{w}_crm_sync" for w in WORKFLOWS]
    pools = {a.op.pool for a in assets}
    assert len(pools) == 1
    [pool] = pools
    assert pool is not None and pool.startswith(f"crm-{crm}-")
    assert "not-a-real-token" not in pool  # the token names the account by a digest only


def test_each_org_has_its_own_pool() -> None:
    acme = org_pool("salesforce", {"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com"})
    assert acme == "crm-salesforce-acme.my.salesforce.com"
    assert org_pool("salesforce", {"SALESFORCE_INSTANCE_URL": "https://acme--uat.sandbox.my.salesforce.com"}) != acme
    assert org_pool("hubspot", {"HUBSPOT_PORTAL_ID": "62515"}) == "crm-hubspot-62515"
    one, two = (org_pool("hubspot", {"HUBSPOT_ACCESS_TOKEN": t}) for t in ("pat-one", "pat-two"))
    assert one != two and org_pool("hubspot", {"HUBSPOT_ACCESS_TOKEN": "pat-one"}) == one
    assert org_pool(None, {}) is None


def test_the_demo_instance_runs_one_op_of_a_pool_at_a_time(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    write_dagster_config(home)
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.event_log_storage.supports_global_concurrency_limits


def test_an_older_demo_instance_gets_the_pool_limit(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_dagster_config(home)
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.get_settings("telemetry")["enabled"] is False
