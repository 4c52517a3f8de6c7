"""The ``fialloc`` console script.

The command line imports numpy, pandas, cvxpy and the compiled core, which takes a second or
more; Ctrl-C in that second must end the program as quietly as Ctrl-C during a command (exit
130, one line), not with a traceback from inside an import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

#: The exit code of a program ended by SIGINT (128 + 2), as shells report it.
INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Load the command line and run it; return the exit code (130 when interrupted)."""
    try:
        from fialloc.cli import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return INTERRUPTED
    return run_cli(argv)
