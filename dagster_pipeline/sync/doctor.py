"""`writeback doctor`: everything a first run needs, checked without writing anything.

One :class:`Check` per line of the checklist, each with what was found and, when it fails, one
fix. In order (a failed log-in stops the rest: nothing else can be asked):

1. **log in** — the credentials are accepted (the org identity query / account details answer);
2. **API version** (Salesforce) — the version we speak is one the org serves;
3. **org** — which org or account this is (and, in Salesforce, whether it is a sandbox org);
4. **daily allowance** — calls left of the CRM's daily allocation;
5. **scopes** (HubSpot) — every scope the settings need is on the token, ``crm.schemas.*.write``
   too when `writeback setup` still has properties to create;
6. per object the settings write: **permissions** — reading it, and creating / updating where the
   settings ask (Salesforce object permissions, HubSpot scopes); **fields** — every required field
   present, visible and writable to this user (:mod:`~dagster_pipeline.sync.gate`).

Only reads are made (Salesforce: the Organization query, versions, limits, describe, the Tooling
API when a field is absent; HubSpot: account details, token info, properties). A check whose fix is
`writeback setup` says so (:attr:`Check.setup_fixes`), so the demo can run setup after it.
Settings and missing credentials are not checks: they raise :class:`~connectors.errors.ConfigError`
(exit code 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.crm import Action
from connectors.errors import AuthenticationError, CrmError
from dagster_pipeline.sync.catalog import OBJECTS, ObjectDef
from dagster_pipeline.sync.gate import field_gap, our_fields, refusal_parts
from dagster_pipeline.sync.settings import Settings

#: Below this share of the daily allocation left, a run would stop part-way.
LOW_ALLOWANCE = 0.01


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    setup_fixes: bool = False  # `writeback setup` is the fix


@dataclass
class DoctorReport:
    crm: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def only_setup_needed(self) -> bool:
        """Everything that fails, `writeback setup` fixes."""
        return all(c.ok or c.setup_fixes for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"crm": self.crm, "ok": self.ok, "exit_code": self.exit_code,
                "checks": [{k: v for k, v in asdict(c).items()} for c in self.checks]}


def _written(settings: Settings) -> list[ObjectDef]:
    """The objects the settings write at all (create or update on)."""
    return [od for name, od in OBJECTS[settings.crm].items()
            if settings.may_create(name) or settings.object(name).update]


def run_doctor(settings: Settings, connect: Callable[[], Any]) -> DoctorReport:
    """Run every check; ``connect`` builds the connector (and may raise ``ConfigError``)."""
    report = DoctorReport(settings.crm)
    try:
        connector = connect()
        org = connector.org_details()
    except AuthenticationError as exc:
        report.checks.append(Check("log in", False, str(exc), exc.fix or "check the log-in variables (README, "
                                                                         "\"Connecting a real org\")"))
        return report
    try:
        _checks(report, settings, connector, org)
    except CrmError as exc:  # the CRM stopped answering (or accepting us) part-way: say so on one line
        report.checks.append(connect_error(exc))
    return report


def _checks(report: DoctorReport, settings: Settings, connector: Any, org: dict[str, Any]) -> None:
    salesforce = settings.crm == "salesforce"
    if salesforce:
        user = connector.running_user_name()
        report.checks.append(Check("log in", True, f"logged in as {user}"))
        report.checks.append(_api_version(connector))
        kind = "sandbox org" if org.get("IsSandbox") else "production org"
        report.checks.append(Check("org", True, f"{org.get('Name')} ({org.get('Id')}), {kind}, "
                                                f"{org.get('OrganizationType')}"))
    else:
        report.checks.append(Check("log in", True, "the private app token is accepted"))
        report.checks.append(Check("org", True, f"HubSpot account {org.get('portalId')} "
                                                f"({org.get('accountType')}, {org.get('timeZone')})"))
    report.checks.append(_allowance(connector))
    objects = _written(settings)
    gaps = {od.api_name: _gap_or_none(connector, od, settings) for od in objects}
    if not salesforce:
        report.checks.append(_scopes(connector, settings, objects, gaps))
    for od in objects:
        report.checks.extend(_object_checks(connector, od, settings, gaps[od.api_name]))


def _api_version(connector: Any) -> Check:
    served = connector.api_versions()
    ours = connector.api_version
    if ours in served:
        return Check("API version", True, f"v{ours} (the org serves v{served[0]} to v{served[-1]})")
    latest = served[-1] if served else "?"
    return Check("API version", False, f"v{ours} is not served by this org", f"set SALESFORCE_API_VERSION={latest}")


def _allowance(connector: Any) -> Check:
    allowance = connector.daily_allowance()
    if allowance is None:
        return Check("daily allowance", True, "not reported by the CRM yet")
    left, most = allowance
    if most and left < max(1, most * LOW_ALLOWANCE):
        return Check("daily allowance", False, f"{left:,} of {most:,} API calls left today",
                     "wait for the daily allocation to free calls (a rolling 24 hours in Salesforce, midnight in "
                     "HubSpot), or raise it")
    return Check("daily allowance", True, f"{left:,} of {most:,} API calls left today")


def _gap_or_none(connector: Any, od: ObjectDef, settings: Settings) -> Any:
    access = connector.access(od.api_name)
    if not access.allows("describe"):
        return None  # its fields cannot even be read: the permission check names why
    return field_gap(connector, od, settings.object(od.name), create=settings.may_create(od.name),
                     settings_key=settings.path(od.name))


def _scopes(connector: Any, settings: Settings, objects: list[ObjectDef], gaps: dict[str, Any]) -> Check:
    granted = connector.granted_scopes()
    if granted is None:
        return Check("scopes", True, "the token does not list its scopes; each call will tell")
    from connectors.hubspot.scopes import operation_scopes

    needed: list[tuple[str, tuple[str, ...]]] = []
    for od in objects:
        s = settings.object(od.name)
        create = settings.may_create(od.name)
        actions = ["read", "describe"] + (["create"] if create else []) + (["update"] if s.update else [])
        gap = gaps.get(od.api_name)
        if gap is None or any(n in our_fields(od) for n in gap.missing):
            actions.append("define")  # setup has properties to create
        needed += [(a, operation_scopes(a, od.api_name)) for a in actions]
    missing = sorted({alternatives[0] for _, alternatives in needed if not set(alternatives) & granted})
    if missing:
        return Check("scopes", False, f"the token lacks {', '.join(missing)}",
                     f"add {', '.join(missing)} to the private app (Settings → Integrations → Private Apps → "
                     "Scopes), then export its new token as HUBSPOT_ACCESS_TOKEN")
    return Check("scopes", True, f"the token carries every scope the settings need ({len(granted)} granted)")


def _object_checks(connector: Any, od: ObjectDef, settings: Settings, gap: Any) -> list[Check]:
    s = settings.object(od.name)
    key = settings.path(od.name)
    access = connector.access(od.api_name)
    actions: list[Action] = ["read"]
    actions += ["create"] if settings.may_create(od.name) else []
    actions += ["update"] if s.update else []
    refused = [parts for a in actions if (parts := refusal_parts(access, a, key))]
    wants = "/".join(actions)
    if refused:
        whys = list(dict.fromkeys(why for why, _, _ in refused))
        grants = list(dict.fromkeys(grant for _, grant, _ in refused))
        offs = [off for _, _, off in refused if off]
        fix = "; ".join(grants) + (f", or set {' and '.join(offs)}" if offs else "")
        perm = Check(f"{od.api_name} permissions", False, "; ".join(whys), fix)
    else:
        perm = Check(f"{od.api_name} permissions", True, f"may {wants} {od.api_name}")
    if gap is None:
        return [perm, Check(f"{od.api_name} fields", False, f"the fields of {od.api_name} cannot be read",
                            "fix the permissions above first")]
    if not gap:
        return [perm, Check(f"{od.api_name} fields", True, "every required field present, visible and writable")]
    ours_only = all(n in gap.ours for n in gap.names)
    return [perm, Check(f"{od.api_name} fields", False, gap.problems(), gap.fix(), setup_fixes=ours_only)]


def connect_error(exc: CrmError) -> Check:
    """A CRM error outside the checks (the CRM did not answer): one failed line."""
    return Check("CRM", False, str(exc), "run `writeback doctor` again; if it persists, the CRM is unavailable")
