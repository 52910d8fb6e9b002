"""The fault matrix's world: a small warehouse, connectors built from ``sync:`` settings, and the three
checks every case ends with.

Every case syncs :func:`world` (12 people at 4 companies) with ``sync.batch_size: 3``, so each
object is written in several calls and a fault can hit the second of them while the first lands
(the sandbox fault's ``skip``). Setting a CRM up (our custom fields, their permissions) costs more
than a case, so each module sets both sandboxes up once (:func:`prepared`) and every case gets a
world of its own: keys carry the case's namespace (``p03@globex-3fa9c1.com``), each case has its
own warehouse, and every read-back is limited to the case's namespace.

Connectors are built from the settings exactly as ``dagster_pipeline.connect.make_connector``
does, with one difference: waits are recorded and slept only for a few milliseconds, so a case can
assert what the connector *asked* to wait (a short ``Retry-After`` honoured, a long one never)
without waiting it out.

The checks, read through the SDKs and the warehouse:

- :func:`assert_no_duplicates` — every record of the world at most once in the CRM;
- :func:`assert_accounted` — every row of both sync models exactly one outcome in
  ``writeback.sync_log`` for the run;
- :func:`assert_heals` — with the fault cleared, the next run leaves every record present once
  with the warehouse's values and linked to its company, every row ``succeeded`` or
  ``unchanged``, and a further run writes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputForCreate
from simple_salesforce import format_soql

from connectors.hubspot.api import HubSpotConnector
from connectors.hubspot.client import HubSpotCredentials
from connectors.hubspot.client import make_client as make_hubspot
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.client import make_client as make_salesforce
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.engine import WorkflowResult, run_workflow
from dagster_pipeline.sync.settings import Settings, parse_settings
from dagster_pipeline.sync.setup import run_setup
from dagster_pipeline.sync.state import SyncStore
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import hs_company_of, log_table

DOMAINS = ("acme.io", "globex.com", "initech.net", "umbrella.org")
#: Small batches: 12 people are 4 write calls, 4 companies 2, so a fault can hit a middle one.
#: HubSpot's 10-second allowance raised (here and in the sandbox): the cases run back to back, and
#: waiting out a window would only slow the suite (rate limits are injected as 429s instead).
TUNING: dict[str, Any] = {"batch_size": 3, "max_attempts": 2, "max_retry_after_seconds": 5,
                          "hubspot_ten_second_limit": 10_000}
OK_STATUSES = {"succeeded", "unchanged"}


def domains(ns: str) -> list[str]:
    """The world's company domains in namespace ``ns`` (``acme-3fa9c1.io``)."""
    return [f"{d.split('.')[0]}-{ns}.{d.split('.')[1]}" for d in DOMAINS]


def world(ns: str, title: str = "VP Sales") -> tuple[pl.DataFrame, pl.DataFrame]:
    """12 people, three at each of 4 companies; ``title`` is what an update case changes."""
    doms = domains(ns)
    people = [person(f"p{i:02d}@{d}", d, first_name=f"P{i:02d}", title=title)
              for i, d in enumerate(d for d in doms for _ in range(3))]
    return persons(*people), companies(*(company(d, name=d.split(".")[0].title()) for d in doms))


def settings_for(crm: str, **tuning: Any) -> Settings:
    objects = {"contact": {"create": False}} if crm == "salesforce" else {}
    return parse_settings({"crm": crm, "objects": objects, "sync": {**TUNING, **tuning}})


@dataclass
class Faulty:
    """One CRM's sandbox, connectors built from settings, and the test's warehouse."""

    crm: str
    sandbox: Any
    warehouse: Warehouse
    client: Any
    ns: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    sleeps: list[float] = field(default_factory=list)

    def connector(self, settings: Settings) -> Any:
        """What ``make_connector`` builds from ``settings.sync``, with waits recorded instead of slept."""
        t = settings.sync
        options: dict[str, Any] = {"max_attempts": t.max_attempts, "max_retry_after": t.max_retry_after_seconds,
                                   "sleep": self.wait}
        if t.batch_size is not None:
            options["batch_size"] = t.batch_size
        if self.crm == "salesforce":
            if t.request_timeout_seconds is not None:
                options["request_timeout"] = t.request_timeout_seconds
            creds = SalesforceCredentials.from_env(self.sandbox.salesforce_env())
            return SalesforceConnector(make_salesforce(creds), bulk_threshold=t.bulk_threshold, **options)
        if t.request_timeout_seconds is not None:
            options["timeout"] = t.request_timeout_seconds
        hs = make_hubspot(HubSpotCredentials.from_env(self.sandbox.hubspot_env()))
        return HubSpotConnector(hs, ten_second_limit=t.hubspot_ten_second_limit, **options)

    def wait(self, seconds: float) -> None:
        """The connectors' sleep: recorded, and slept only briefly — HubSpot's limiters poll the real
        clock until a slot frees, so a sleep that returned at once would spin."""
        self.sleeps.append(seconds)
        time.sleep(min(seconds, 0.02))

    def setup(self) -> None:
        settings = settings_for(self.crm)
        run_setup(settings, self.connector(settings), store=SyncStore(self.warehouse))

    def sync(self, p: pl.DataFrame | None = None, c: pl.DataFrame | None = None, **tuning: Any) -> WorkflowResult:
        """One run of ``website_visitor`` (the world, unless other frames are given)."""
        settings = settings_for(self.crm, **tuning)
        if p is None or c is None:
            p, c = world(self.ns)
        return run_workflow("website_visitor", settings, self.warehouse, self.connector(settings),
                            persons=p, companies=c)

    def rep_contacts(self) -> None:
        """The world's people as HubSpot contacts a rep made, with no company: the next run finds
        them by email, updates them and links each to its company by a call of its own
        (``batch/associate/default``) — new contacts carry their link in their batch create, so
        this is how a run comes to write links at all."""
        assert self.crm == "hubspot"
        p, _ = world(self.ns)
        self.client.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": e, "lastname": "Rep"}} for e in p["email"]]))

    def fault(self, **spec: Any) -> None:
        self.sandbox.admin(self.crm, "POST", "faults", spec)

    def fired(self) -> int:
        """How many calls the case's faults have hit so far (the sandbox's own count): a fault on an
        endpoint the sync no longer uses would otherwise pass every check without testing anything."""
        return sum(int(x["fired"]) for x in self.sandbox.admin(self.crm, "GET", "faults"))

    def clear(self) -> None:
        self.sandbox.admin(self.crm, "DELETE", "faults")

    # -- the CRM through the SDK --------------------------------------------------------------

    def mine(self, value: str | None) -> bool:
        return value is not None and f"-{self.ns}." in value

    def _soql(self, soql: str) -> list[dict[str, Any]]:
        """The records of this case's namespace (``soql`` ends with a ``LIKE {}``)."""
        return list(self.client.query_all(format_soql(soql, f"%-{self.ns}.%"))["records"])

    def people(self) -> list[dict[str, Any]]:
        """Every person record of the case: email, title, and the company it is linked to."""
        if self.crm == "salesforce":
            rows = self._soql("SELECT Email, Title, Company FROM Lead WHERE Email LIKE {}")
            return [{"email": r["Email"], "title": r["Title"], "company": r["Company"]} for r in rows]
        names = {co.id: co.properties["name"] for co in self.client.crm.companies.get_all(properties=["name"])}
        out = []
        for c in self.client.crm.contacts.get_all(properties=["email", "jobtitle"]):
            if not self.mine(c.properties["email"]):
                continue
            linked = hs_company_of(self.client, c.id)
            out.append({"email": c.properties["email"], "title": c.properties["jobtitle"],
                        "company": names[linked[0]] if len(linked) == 1 else linked})
        return out

    def emails(self) -> list[str]:
        """Every person record's email (cheaper than :meth:`people`: no link is read)."""
        if self.crm == "salesforce":
            return [r["Email"] for r in self._soql("SELECT Email FROM Lead WHERE Email LIKE {}")]
        return [e for c in self.client.crm.contacts.get_all(properties=["email"])
                if self.mine(e := c.properties["email"])]

    def company_keys(self) -> list[str]:
        if self.crm == "salesforce":
            rows = self._soql("SELECT Warmly_Sync_Key__c FROM Account WHERE Website LIKE {}")
            return [r["Warmly_Sync_Key__c"] for r in rows]
        return [co.properties["warmly_sync_key"]
                for co in self.client.crm.companies.get_all(properties=["warmly_sync_key", "domain"])
                if self.mine(co.properties["domain"])]


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def new_faulty(crm: str, sandbox: Any, tmp_path: Any) -> Faulty:
    """A case in a fresh namespace with an empty warehouse file, on a sandbox :func:`prepared` set up."""
    client = (make_salesforce(SalesforceCredentials.from_env(sandbox.salesforce_env())) if crm == "salesforce"
              else make_hubspot(HubSpotCredentials.from_env(sandbox.hubspot_env())))
    f = Faulty(crm, sandbox, Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}"), client)
    f.clear()
    return f


@pytest.fixture(scope="module")
def prepared(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Both sandboxes reset and set up once for the module; faults cleared after every case."""
    sandbox.reset()
    sandbox.admin("hubspot", "POST", "config", {"ten_second_limit": 10_000})
    for crm in ("salesforce", "hubspot"):
        new_faulty(crm, sandbox, tmp_path_factory.mktemp(f"setup-{crm}")).setup()
    yield sandbox
    sandbox.reset()


@pytest.fixture
def faulty(prepared: Any, tmp_path: Any, crm: str) -> Iterator[Faulty]:
    f = new_faulty(crm, prepared, tmp_path)
    yield f
    f.clear()


# -- the three checks ------------------------------------------------------------------------------


def assert_no_duplicates(f: Faulty) -> None:
    emails = Counter(f.emails())
    assert not [e for e, n in emails.items() if n > 1], f"duplicate people in {f.crm}: {emails}"
    keys = Counter(f.company_keys())
    assert not [k for k, n in keys.items() if n > 1], f"duplicate companies in {f.crm}: {keys}"


def assert_accounted(f: Faulty, run_id: str, p: pl.DataFrame | None = None, c: pl.DataFrame | None = None) -> None:
    """Each row of both sync models has exactly one outcome in the run's sync log in the warehouse."""
    if p is None or c is None:
        p, c = world(f.ns)
    logged = log_table(f.warehouse, run_id)
    counts = Counter(logged["key"].to_list())
    expected = [*p["email"].to_list(), *c["domain"].to_list()]
    assert {k: counts.get(k, 0) for k in expected} == dict.fromkeys(expected, 1), logged.to_dicts()
    assert logged.height == len(expected), f"outcomes for rows the models do not have: {logged.to_dicts()}"


def assert_heals(f: Faulty, title: str = "VP Sales") -> WorkflowResult:
    """The fault cleared: the next run finishes the job and the one after writes nothing."""
    f.clear()
    p, c = world(f.ns, title)
    healed = f.sync(p, c)
    assert_accounted(f, healed.run_id, p, c)
    bad = healed.log.filter(~pl.col("status").is_in(OK_STATUSES))
    assert bad.is_empty(), bad.to_dicts()
    assert_no_duplicates(f)
    want = {e: {"email": e, "title": title, "company": d.split(".")[0].title()}
            for e, d in zip(p["email"], p["company_domain"], strict=True)}
    assert sorted(f.people(), key=lambda r: r["email"]) == [want[e] for e in sorted(want)]
    assert sorted(f.company_keys()) == sorted(domains(f.ns))
    quiet = f.sync(p, c)
    assert quiet.api_calls["writes"] == 0 and set(quiet.log["status"]) == {"unchanged"}
    return healed
