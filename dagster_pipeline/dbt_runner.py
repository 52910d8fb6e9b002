"""Run the dbt project as a subprocess, the same way from the CLI, the demo, the tests and Dagster.

``run_dbt(["build"])`` runs the venv's ``dbt`` with ``--project-dir``/``--profiles-dir`` set to
``dbt_project/`` and ``WRITEBACK_DUCKDB_PATH`` absolute, so it works from any working directory,
and raises :class:`connectors.errors.DbtError` with the tail of dbt's output when dbt fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors.errors import DbtError
from connectors.warehouse import DEFAULT_DUCKDB_PATH, DUCKDB_PATH_ENV

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

_TAIL_LINES = 40


def dbt_executable() -> str:
    """The dbt next to the running Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise DbtError(["dbt"], returncode=None, output_tail="dbt is not installed in this environment")
    return found


def resolve_duckdb_path(duckdb_path: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file dbt should write: the argument, else ``WRITEBACK_DUCKDB_PATH``, else the default."""
    chosen = duckdb_path or os.environ.get(DUCKDB_PATH_ENV) or DEFAULT_DUCKDB_PATH
    return Path(chosen).expanduser().resolve()


def run_dbt(
    args: Sequence[str],
    duckdb_path: str | os.PathLike[str] | None = None,
    vars: Mapping[str, Any] | None = None,
    *,
    target_path: str | os.PathLike[str] | None = None,
    echo: bool = False,
) -> None:
    """Run ``dbt <args>`` against ``dbt_project/``.

    ``vars`` become ``--vars`` (JSON); ``target_path`` keeps compiled files and run results apart
    from other runs (tests use it to run dbt concurrently with someone else's dbt); ``echo``
    streams dbt's output to stdout as it comes. Raises :class:`DbtError` with the last lines of
    dbt's output when dbt exits non-zero.
    """
    path = resolve_duckdb_path(duckdb_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        dbt_executable(),
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
    ]
    if vars:
        command += ["--vars", json.dumps(dict(vars), default=str)]
    if target_path is not None:
        target = Path(target_path).resolve()
        command += ["--target-path", str(target), "--log-path", str(target / "logs")]
    env = {
        **os.environ,
        DUCKDB_PATH_ENV: str(path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # One log line per event, no colours: readable in a terminal, a CI log and an exception.
        "DBT_USE_COLORS": "false",
    }
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(
        command,
        cwd=DBT_PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip("\n"))
            if echo:
                print(line, end="", flush=True)
        returncode = process.wait()
    if returncode != 0:
        raise DbtError(list(args), returncode=returncode, output_tail="\n".join(tail))
