"""The Dagster UI on the demo's data, rendered by a real browser (headless Chromium).

The other Dagster tests check the definitions and what a run does through Python; what a user
actually sees is the webserver's pages, built by the UI from GraphQL. A renamed asset, a check that
no longer reaches its asset, metadata the UI cannot show (a JSON blob instead of numbers) or a code
location that does not load in the webserver only shows there. So this module runs what the demo
runs, over one day, into a Dagster instance on disk (the warehouse job: every dbt model and test;
then the website_visitor job's CRM half: the CRM fields asset, the sync and their checks), starts
``dagster-webserver`` on that instance, and reads the rendered pages in Debian's Chromium through
chromedriver. Each page is saved as a screenshot under ``test-artifacts/ui/`` (also when an
assertion fails) for a person to look at.

``make test`` installs Chromium and sets ``UI_TEST_REQUIRE_BROWSER=1``, so there a missing browser
fails; run by hand without Chromium, the module is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dagster.conftest import LAST_DAY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Generous: the machine running the suite may be busy with dbt, the sandboxes and other tests.
STARTUP_TIMEOUT = 240
PAGE_TIMEOUT = 60
#: Flags for a closed network: without the background-networking ones Chromium keeps trying to
#: reach Google's services, and the refused connections stall it.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1600,1200",
)


@dataclass
class UiRun:
    env: dict[str, str]
    counts: dict[str, int]


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    reason = (f"{' and '.join(missing)} missing: install Debian's chromium and chromium-driver "
              "(`make test` does it) to check the Dagster UI in a browser")
    if os.environ.get("UI_TEST_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ui_run(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiRun]:
    """The demo's runs over one day, recorded in a Dagster instance on disk.

    Yields the environment the webserver needs (the same instance, warehouse, settings and CRM) and
    the sync's counts, which its page must show.
    """
    _require_browser()
    from dagster import AssetKey, DagsterInstance

    from dagster_pipeline.connect import make_connector
    from dagster_pipeline.demo import settings_without_ramp
    from dagster_pipeline.local_run import run_job
    from dagster_pipeline.sync.settings import load_settings
    from dagster_pipeline.sync.setup import run_setup

    base = tmp_path_factory.mktemp("ui")
    home = base / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**sandbox.salesforce_env(), "WRITEBACK_CRM": "salesforce", "DAGSTER_HOME": str(home),
           "WRITEBACK_DUCKDB_PATH": str(base / "warehouse.duckdb"),
           "WRITEBACK_SETTINGS": str(settings_without_ramp(base / "writeback.yml"))}
    sandbox.reset()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        settings = load_settings()
        run_setup(settings, make_connector(settings))  # the Warmly fields, as `writeback setup` creates them
        with DagsterInstance.get() as instance:  # the demo's two steps: every dbt model, then a sync
            assert run_job("warehouse_job", LAST_DAY, LAST_DAY, instance=instance, quiet=True).success
            result = run_job("website_visitor_job", LAST_DAY, LAST_DAY, instance=instance, quiet=True,
                             selection=[AssetKey("crm_fields"), AssetKey("website_visitor_crm_sync")])
        assert result.success
        sync = [e.materialization for e in result.get_asset_materialization_events()
                if e.materialization.asset_key == AssetKey("website_visitor_crm_sync")]
        counts = {label: int(entry.value) for label, entry in sync[0].metadata.items()
                  if isinstance(entry.value, int)}
        assert counts["Lead created"] > 0 and counts["Account created"] > 0  # a page with something on it
        yield UiRun(env, counts)


@pytest.fixture(scope="module")
def webserver(ui_run: UiRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dagster-webserver`` on the code location and the instance of ``ui_run``; yields its URL.

    Started as a user would, in the repository root with no arguments but the address: the
    installed executable finds the code location and its name (``crm_writeback``, in the page
    routes below) in ``[tool.dagster]``. In its own process group, so its code server stops with it.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("webserver") / "webserver.log"
    # This Python's scripts first on PATH: dagster-dbt runs the `dbt` it finds there.
    env = {**os.environ, **ui_run.env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert proc.poll() is None, f"dagster-webserver exited:\n{log_path.read_text()[-3000:]}"
            try:
                if requests.get(f"{url}/server_info", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"dagster-webserver not up:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.5)
        # Served from 127.0.0.1, the UI opens a "Join the Dagster community" dialog over every page
        # until it is dismissed; dismiss it once as its Skip button does (the setNuxSeen mutation).
        seen = requests.post(f"{url}/graphql", json={"query": "mutation { setNuxSeen }"}, timeout=30)
        assert seen.json() == {"data": {"setNuxSeen": True}}
        yield url
    finally:  # the whole group: the code server too, even if the webserver is already gone
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def browser(webserver: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium driven through Debian's chromedriver, on a fresh profile.

    The binary and the driver are given by path, and Selenium Manager is told to stay offline: it
    would otherwise try to download a browser or a driver.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


#: (screenshot name, path, texts the rendered page must show). The paths are the UI's own routes.
#: ``{label}`` stands for the sync's count of that label: a metadata row shows the label, then its value.
PAGES = [
    # The crm_sync group's lineage: the sync assets, the CRM fields asset and the dbt sync models feeding them.
    ("asset-graph", "/locations/crm_writeback/asset-groups/crm_sync",
     ["crm_fields", "website_visitor_crm_sync", "inbound_agent_crm_sync", "outbound_agent_crm_sync",
      "sync_website_visitor__persons", "sync_inbound_agent__persons", "sync_outbound_agent__persons"]),
    # The sync asset's latest materialization: the partition, and the counts per CRM object as numbers.
    ("sync-materialization", "/assets/website_visitor_crm_sync?view=events",
     [f"Partition {LAST_DAY.isoformat()} materialized in run", "Lead created\n{Lead created}",
      "Account created\n{Account created}", "Lead failed\n0", "run_api_writes\n{run_api_writes}",
      "failed_records"]),
    ("sync-checks", "/assets/website_visitor_crm_sync?view=checks",
     ["failure_rate_below_threshold", "Share of failed records stays under 5%", "Passed", "threshold"]),
    ("crm-fields-checks", "/assets/crm_fields?view=checks",
     ["required_custom_fields_present", "This is a blocking asset check.", "Passed",
      "All required fields present and usable."]),
]


@pytest.mark.parametrize(("name", "path", "texts"), PAGES, ids=[p[0] for p in PAGES])
def test_the_dagster_ui_shows(browser: Any, webserver: str, ui_run: UiRun, name: str, path: str,
                              texts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def page_text() -> str:
        return str(browser.find_element(By.TAG_NAME, "body").text)

    texts = [text.format_map(ui_run.counts) for text in texts]
    browser.get(webserver + path)
    try:  # the UI renders after its GraphQL queries answer: wait for the content, not a fixed time
        WebDriverWait(browser, PAGE_TIMEOUT, poll_frequency=0.5).until(
            lambda _: all(text in page_text() for text in texts))
        missing: list[str] = []
    except TimeoutException:
        missing = [text for text in texts if text not in page_text()]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(shot))
    with capsys.disabled():
        print(f"\n  Dagster UI screenshot: {shot.relative_to(ROOT)}", end="")
    assert not missing, f"{path} does not show {missing} (screenshot {shot}); it shows:\n{page_text()[:3000]}"
