"""`writeback` — the command line users type (see README "Commands"), built on click.

click gives every command the same behaviour users know from other tools (``--help`` on each
command with its options and defaults, ``--version``, usage errors with exit code 2) without
us maintaining a parser. The bodies live in :mod:`dagster_pipeline.commands` and
:mod:`dagster_pipeline.monitor_commands` and are imported lazily, so ``writeback sandbox`` or
``writeback --help`` do not pay for importing dbt or Dagster. They take an
``argparse.Namespace`` of the options, as they always have.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

CRMS = ("salesforce", "hubspot")
WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")
SETTINGS_HELP = "settings file  [default: $WRITEBACK_SETTINGS, else writeback.yml]"

# The top-level help: who it is for, what it reads, what it returns. `\b` keeps click from
# re-flowing the paragraph that follows it (lists, commands to copy).
HELP = """Keep Salesforce or HubSpot in step with your warehouse.

Your dbt sync models say which people and companies each workflow (website visitors, inbound
and outbound agent conversations) wants in the CRM, with which fields. writeback compares them
with the CRM's records and writes only the difference: it creates the records the CRM lacks,
updates the fields that changed, leaves alone what reps own, and logs one outcome per record
(created, updated, unchanged, skipped or failed, with the reason) in the warehouse. Start with
`writeback doctor`, look at `writeback plan`, then `writeback sync`.
"""

EPILOG = """\b
Environment variables (credentials are read from the environment only, never printed):
  SALESFORCE_INSTANCE_URL      https://<your org>.my.salesforce.com
  SALESFORCE_ACCESS_TOKEN      a session or OAuth access token, or log in with one of:
  SALESFORCE_CLIENT_ID         connected app consumer key (JWT bearer, client credentials)
  SALESFORCE_USERNAME          integration user (JWT bearer, username-password)
  SALESFORCE_PRIVATE_KEY_FILE  PEM key that signs the JWT (or SALESFORCE_PRIVATE_KEY, the PEM)
  SALESFORCE_PASSWORD          username-password flow, with SALESFORCE_SECURITY_TOKEN
  SALESFORCE_CLIENT_SECRET     client credentials / username-password flow
  SALESFORCE_DOMAIN            login host: login, test or your My Domain (acme.my)
  SALESFORCE_LOGIN_URL         send the log-in elsewhere (e.g. the local sandbox)
  SALESFORCE_CA_BUNDLE         CA file for TLS behind a proxy
  SALESFORCE_API_VERSION       REST API version  [default: 62.0]
  HUBSPOT_ACCESS_TOKEN         private app token
  HUBSPOT_BASE_URL             [default: https://api.hubapi.com]
  WRITEBACK_SETTINGS           settings file  [default: writeback.yml]
  WRITEBACK_DUCKDB_PATH        DuckDB warehouse file  [default: .data/warehouse.duckdb]
  WRITEBACK_WAREHOUSE_URL      any other warehouse, as a SQLAlchemy URL (snowflake://...)
  WRITEBACK_SYNC_SCHEMA        schema of the dbt sync models  [default: syncs]
  WRITEBACK_DUCKDB_MEMORY_LIMIT  DuckDB's memory cap for the diff  [default: 512MB]
  WRITEBACK_STATE_DIR          the per-org API budget ledgers  [default: .data/state]

\b
Exit codes:
  0  every record accounted for, none failed
  1  some records failed (retried on the next run), or the run stopped early
     (daily API allocation spent, the CRM could not be reached)
  2  configuration error (settings, credentials, a log-in the CRM refuses):
     checked before the first CRM call, so nothing was written

\b
Example:
  export SALESFORCE_INSTANCE_URL=https://acme.my.salesforce.com
  export SALESFORCE_ACCESS_TOKEN=...
  writeback doctor                        # what a first run needs; writes nothing
  writeback setup                         # create the Warmly fields (once)
  writeback plan --workflow website_visitor
  writeback sync                          # all three workflows
  writeback report --days 7

Run `writeback COMMAND --help` for a command's options.
"""

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


class _InOrder(click.Group):
    """Commands listed in the order a user meets them, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _call(module: str, name: str, options: dict[str, Any], *extra: Any) -> int:
    """Import the command's body only now, and run it on the options as a Namespace."""
    import importlib

    run: Callable[..., int] = getattr(importlib.import_module(module), name)
    return run(argparse.Namespace(**options), *extra)


@click.group(cls=_InOrder, context_settings=CONTEXT, help=HELP, epilog=EPILOG)
@click.version_option(package_name="crm-writeback", prog_name="writeback", message="%(prog)s %(version)s")
def cli() -> None:
    pass


# -- options shared by the commands that talk to a CRM ---------------------------------------

def _crm_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--crm", type=click.Choice(CRMS), default=None, show_default=False,
                        help="override `crm` from the settings file")(f)


def _settings_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--settings", default=None, show_default=False, metavar="FILE", help=SETTINGS_HELP)(f)


def _json_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--json", "json", is_flag=True, default=False, show_default=False,
                        help=f"print {what} as one JSON object on stdout")


def _sync_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--reconcile", "--full-refresh", "full_refresh", is_flag=True, default=False,
                     show_default=False,
                     help="compare every record with the CRM, not only those the warehouse changed: restore fields "
                          "edited in the CRM (drift, reported per field) and create again records deleted there")(f)
    f = _json_option("the counts")(f)
    f = _settings_option(f)
    f = _crm_option(f)
    return click.option("--workflow", type=click.Choice(WORKFLOWS), default=None, show_default=False,
                        help="one workflow  [default: all three]")(f)


# -- the commands ---------------------------------------------------------------------------

@cli.command(short_help="dry run: what would be created / updated / skipped / failed; writes nothing")
@_sync_options
def plan(**options: Any) -> int:
    """Dry run: what a sync would create, update, skip or fail, field by field. Makes no write call."""
    return _call("dagster_pipeline.commands", "run_plan_or_sync", options, "plan")


@cli.command(short_help="write the changes to the CRM")
@_sync_options
def sync(**options: Any) -> int:
    """Write the changes to the CRM, workflow by workflow, and log one outcome per record.

    Progress (reads, writes, Bulk jobs, with elapsed time and time left) is drawn on a terminal only.
    """
    return _call("dagster_pipeline.commands", "run_plan_or_sync", options, "sync")


@cli.command(short_help="create the Warmly custom fields the sync needs (idempotent)")
@_crm_option
@_settings_option
@_json_option("what was created")
@click.option("--dry-run", is_flag=True, default=False, show_default=False, help="only say what would be created")
# Accepted as it always was, so scripts that pass it keep working; hidden, because the fields
# are per CRM object and every workflow needs the same ones: it cannot narrow anything.
@click.option("--workflow", type=click.Choice(WORKFLOWS), default=None, hidden=True)
def setup(**options: Any) -> int:
    """Create the Warmly custom fields (and the sync key) on each CRM object; in Salesforce, grant the
    integration user read and edit on them. Every workflow needs the same fields. Safe to run again."""
    if options.get("workflow"):
        click.echo("note: setup creates the fields every workflow needs; --workflow changes nothing", err=True)
    return _call("dagster_pipeline.commands", "run_setup_command", options)


@cli.command(short_help="check everything a first run needs; writes nothing")
@_crm_option
@_settings_option
@_json_option("the checklist")
def doctor(**options: Any) -> int:
    """Check everything a first run needs (log-in, API version, permissions, fields, scopes), writing
    nothing. Exit 0 all good, 1 something to fix, 2 configuration error."""
    return _call("dagster_pipeline.commands", "run_doctor_command", options)


@cli.command(short_help="summarise the sync log kept in the warehouse")
@click.option("--runs", type=click.IntRange(min=1), default=3, help="how many of the latest runs")
@click.option("--failures", type=click.IntRange(min=0), default=10, help="failed records to list")
@_json_option("the summary")
def log(**options: Any) -> int:
    """Summarise the sync log: per run, workflow, object, action and reason, newest runs first."""
    return _call("dagster_pipeline.commands", "run_log_command", options)


@cli.command(short_help="records synced per day, workflow, object and action, from the sync log")
@click.option("--days", type=int, default=7, help="how many days, ending today (UTC)")
@_json_option("the rows")
def report(**options: Any) -> int:
    """Records synced per day × workflow × object × action over the last days, with the top failure
    reasons, and runs that created far more than usual."""
    return _call("dagster_pipeline.monitor_commands", "run_report_command", options)


@cli.command(short_help="compare the workflows' segments rule by rule; say where they disagree")
@click.option("--project-file", default=None, show_default=False, metavar="FILE",
              help="the dbt project file  [default: dbt_project/dbt_project.yml]")
@_json_option("the comparison")
def segments(**options: Any) -> int:
    """The workflows' segments side by side, rule by rule. Exit 1 where they disagree without a
    declared reason."""
    return _call("dagster_pipeline.monitor_commands", "run_segments_command", options)


@cli.group(cls=_InOrder, short_help="the ramp guard of a workflow whose segment is new")
def ramp() -> None:
    """The ramp guard of a workflow whose segment is new (see README "Rolling out a workflow")."""


@ramp.command(short_help="end the workflow's ramp now: its next runs create without a cap")
@click.option("--workflow", type=click.Choice(WORKFLOWS), required=True, help="the workflow whose ramp ends")
@_crm_option
@_settings_option
@_json_option("the ramp")
def end(**options: Any) -> int:
    """End the workflow's ramp now: its next runs create without a cap, until its segment changes."""
    return _call("dagster_pipeline.commands", "run_ramp_end_command", options)


@cli.command(short_help="run the whole product on the embedded DuckDB warehouse and sandbox CRMs")
@click.option("--crm", type=click.Choice(CRMS), default="salesforce", help="the sandbox CRM to write to")
@click.option("--data-dir", default=None, show_default=False, metavar="DIR",
              help="where the demo keeps everything  [default: .data/]")
def demo(**options: Any) -> int:
    """dbt build on sample data, the sandbox CRMs, doctor, setup, every workflow synced through
    Dagster, and a summary. Run it twice: the second run writes nothing."""
    return _call("dagster_pipeline.demo", "main", options)


@cli.command(short_help="the Dagster UI on the demo's data, with the sandbox CRMs running")
@click.option("--crm", type=click.Choice(CRMS), default="salesforce", help="the sandbox CRM to write to")
@click.option("--data-dir", default=None, show_default=False, metavar="DIR",
              help="the demo's data directory  [default: .data/]")
@click.option("--port", type=int, default=3000, help="the Dagster UI's port")
def dev(**options: Any) -> int:
    """The Dagster UI on the demo's data, with the sandbox CRMs running (`make dev`)."""
    return _call("dagster_pipeline.demo", "dev", options)


@cli.command(short_help="run the sandbox Salesforce and HubSpot APIs in the foreground")
@click.option("--data-dir", default=".data/sandbox", metavar="DIR", help="where the sandbox keeps its state")
@click.option("--salesforce-port", type=int, default=0, help="0 picks a free port")
@click.option("--hubspot-port", type=int, default=0, help="0 picks a free port")
@click.option("--token", default=None, show_default=False,
              help="access token the sandboxes accept  [default: a random one]")
@click.option("--host", default="127.0.0.1", help="loopback address to bind")
def sandbox(**options: Any) -> int:
    """Local Salesforce and HubSpot APIs for trying writeback without a real org; their URLs and
    token are printed on start."""
    return _call("connectors.sandbox.server", "main", options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 ok, 1 failed, 2 usage or configuration error)."""
    try:
        code = cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="writeback",
                        standalone_mode=False)
    except click.ClickException as exc:  # a usage error: exit 2, as argparse and every CLI do
        exc.show()
        return exc.exit_code
    except click.Abort:  # Ctrl-C
        sys.stderr.write("Aborted.\n")
        return 1
    except Exception as exc:  # a bug, not a failure we name: show it, without any credential in it
        import traceback

        from connectors.credentials import redact_environment

        sys.stderr.write(redact_environment("".join(traceback.format_exception(exc))))
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
