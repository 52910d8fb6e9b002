"""`writeback` — the command line users type (see README "Commands").

Each subcommand lives in its own module and is imported lazily, so `writeback sandbox`
does not pay for importing dbt or Dagster.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

CRMS = ("salesforce", "hubspot")


def _add_sandbox(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run the sandbox Salesforce and HubSpot APIs in the foreground")
    p.add_argument("--data-dir", default=".data/sandbox", help="where the sandbox keeps its state")
    p.add_argument("--salesforce-port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--hubspot-port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--token", default=None, help="access token the sandboxes accept (random if omitted)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")


def _run_sandbox(args: argparse.Namespace) -> int:
    from connectors.sandbox.server import main as sandbox_main

    return sandbox_main(args)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole product on the embedded DuckDB warehouse and sandbox CRMs")
    p.add_argument("--crm", choices=CRMS, default="salesforce")
    p.add_argument("--data-dir", default=None, help="where the demo keeps everything (default: .data/)")


def _add_dev(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dev", help="the Dagster UI on the demo's data, with the sandbox CRMs running")
    p.add_argument("--crm", choices=CRMS, default="salesforce")
    p.add_argument("--data-dir", default=None, help="the demo's data directory (default: .data/)")
    p.add_argument("--port", type=int, default=3000)


def _run_dev(args: argparse.Namespace) -> int:
    from dagster_pipeline.demo import dev

    return dev(args)


def _run_demo(args: argparse.Namespace) -> int:
    from dagster_pipeline.demo import main as demo_main

    return demo_main(args)


def _sync_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workflow", choices=("website_visitor", "inbound_agent", "outbound_agent"),
                   help="one workflow (default: all three)")
    p.add_argument("--crm", choices=CRMS, help="override `crm` from the settings file")
    p.add_argument("--settings", help="settings file (default: $WRITEBACK_SETTINGS or writeback.yml)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _reconcile_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reconcile", "--full-refresh", dest="full_refresh", action="store_true",
                   help="compare every record with the CRM, not only those the warehouse changed: restore fields "
                        "edited in the CRM (drift, reported per field) and create again records deleted there")


def _add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="dry run: what would be created/updated/skipped/failed; writes nothing")
    _sync_options(p)
    _reconcile_option(p)


def _add_sync(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="write the changes to the CRM")
    _sync_options(p)
    _reconcile_option(p)


def _add_setup(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="create the Warmly custom fields the sync needs (idempotent)")
    _sync_options(p)
    p.add_argument("--dry-run", action="store_true", help="only say what would be created")


def _run_plan(args: argparse.Namespace) -> int:
    from dagster_pipeline.commands import run_plan_or_sync

    return run_plan_or_sync(args, "plan")


def _run_sync(args: argparse.Namespace) -> int:
    from dagster_pipeline.commands import run_plan_or_sync

    return run_plan_or_sync(args, "sync")


def _run_setup(args: argparse.Namespace) -> int:
    from dagster_pipeline.commands import run_setup_command

    return run_setup_command(args)


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check everything a first run needs (credentials, permissions, fields, "
                                      "scopes); writes nothing")
    p.add_argument("--crm", choices=CRMS, help="override `crm` from the settings file")
    p.add_argument("--settings", help="settings file (default: $WRITEBACK_SETTINGS or writeback.yml)")
    p.add_argument("--json", action="store_true", help="print the checklist as one JSON object")


def _run_doctor(args: argparse.Namespace) -> int:
    from dagster_pipeline.commands import run_doctor_command

    return run_doctor_command(args)


def _add_log(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="summarise the sync log kept in the warehouse")
    p.add_argument("--runs", type=int, default=3, help="how many of the latest runs (default 3)")
    p.add_argument("--failures", type=int, default=10, help="failed records to list (default 10)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _run_log(args: argparse.Namespace) -> int:
    from dagster_pipeline.commands import run_log_command

    return run_log_command(args)


def _add_segments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segments", help="compare the workflows' segments rule by rule; say where they disagree")
    p.add_argument("--project-file", default=None, help="the dbt project file (default: dbt_project/dbt_project.yml)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _run_segments(args: argparse.Namespace) -> int:
    from dagster_pipeline.monitor_commands import run_segments_command

    return run_segments_command(args)


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="records synced per day, workflow, object and action, from the sync log")
    p.add_argument("--days", type=int, default=7, help="how many days, ending today (UTC; default 7)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def _run_report(args: argparse.Namespace) -> int:
    from dagster_pipeline.monitor_commands import run_report_command

    return run_report_command(args)


def _add_ramp(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ramp", help="the ramp guard of a workflow whose segment is new (see README "
                                    "\"Rolling out a workflow\")")
    actions = p.add_subparsers(dest="ramp_action", required=True)
    end = actions.add_parser("end", help="end the workflow's ramp now: its next runs create without a cap")
    end.add_argument("--workflow", required=True, choices=("website_visitor", "inbound_agent", "outbound_agent"))
    end.add_argument("--crm", choices=CRMS, help="override `crm` from the settings file")
    end.add_argument("--settings", help="settings file (default: $WRITEBACK_SETTINGS or writeback.yml)")
    end.add_argument("--json", action="store_true", help="print the ramp as one JSON object")


def _run_ramp(args: argparse.Namespace) -> int:
    from dagster_pipeline.commands import run_ramp_end_command

    return run_ramp_end_command(args)


COMMANDS: dict[str, tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], int]]] = {
    "sandbox": (_add_sandbox, _run_sandbox),
    "demo": (_add_demo, _run_demo),
    "dev": (_add_dev, _run_dev),
    "plan": (_add_plan, _run_plan),
    "sync": (_add_sync, _run_sync),
    "setup": (_add_setup, _run_setup),
    "doctor": (_add_doctor, _run_doctor),
    "log": (_add_log, _run_log),
    "segments": (_add_segments, _run_segments),
    "report": (_add_report, _run_report),
    "ramp": (_add_ramp, _run_ramp),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="writeback", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _, run = COMMANDS[args.command]
    try:
        return run(args)
    except Exception as exc:  # a bug, not a failure we name: show it, without any credential in it
        import traceback

        from connectors.credentials import redact_environment

        sys.stderr.write(redact_environment("".join(traceback.format_exception(exc))))
        return 1


if __name__ == "__main__":
    sys.exit(main())
