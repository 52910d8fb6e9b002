"""The base install is DuckDB only: a Snowflake URL without the `snowflake` extra says what to install.

The Snowflake connector and its SQLAlchemy dialect come with `crm-writeback[snowflake]`. The test
venv has them (fakesnow needs them), so a child Python is started in which the `snowflake` package
cannot be imported, as in a DuckDB-only install.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from connectors.warehouse import SNOWFLAKE_EXTRA_HINT

_WITHOUT_SNOWFLAKE = textwrap.dedent("""
    import sys
    sys.modules["snowflake"] = None  # what `import snowflake...` meets where the extra is not installed
    from connectors.errors import WarehouseError
    from connectors.warehouse import Warehouse
    Warehouse("duckdb:///:memory:").execute("select 1")  # DuckDB works without the extra
    try:
        Warehouse("snowflake://loader:hunter2@acme-xy12345/analytics/syncs?warehouse=wh")
    except WarehouseError as exc:
        print(exc)
""")


def test_a_snowflake_url_without_the_extra_names_the_pip_command_in_one_line() -> None:
    done = subprocess.run([sys.executable, "-c", _WITHOUT_SNOWFLAKE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.count("\n") == 0 and message.endswith(SNOWFLAKE_EXTRA_HINT)
    assert SNOWFLAKE_EXTRA_HINT == "pip install 'crm-writeback[snowflake]'"
    assert "acme-xy12345" in message and "hunter2" not in message  # the URL, never its password
