"""How the commands print: consoles that keep a line whole when piped, counts with separators.

Rich sizes its output to the terminal, and to 80 columns when stdout is a file or a pipe: a
long line (a copy-paste command the demo prints, a failed record's message) would then come
out cut in two, and a table squeezed. Piped, these consoles are wide enough for any line and
tables take their natural width; on a terminal, text is left to the terminal to wrap (so a
command copied from it is still one line) and tables get at least ``min_width`` columns.
"""

from __future__ import annotations

import sys

from rich.console import Console

#: Wide enough for any line we print: piped output is never wrapped.
PIPED_WIDTH = 10_000


def stdout_console(min_width: int = 0) -> Console:
    if sys.stdout.isatty():
        terminal = Console(soft_wrap=True)
        return Console(soft_wrap=True, width=max(terminal.width, min_width)) if min_width else terminal
    return Console(soft_wrap=True, width=PIPED_WIDTH)


def stderr_console() -> Console:
    """One message, one line: a configuration error names its key and can be grepped from a log."""
    return Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else PIPED_WIDTH)


def n(count: int | float) -> str:
    """A count as people read it: 20,000, not 20000."""
    return f"{count:,}" if isinstance(count, int) else f"{count:,.0f}"
