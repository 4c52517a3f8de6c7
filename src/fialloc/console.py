"""The ``fialloc`` console script.

The command line imports numpy, pandas, cvxpy and the compiled core, which takes a second or
more; Ctrl-C in that second must end the program as quietly as Ctrl-C during a command (exit
130, one line), not with a traceback from inside an import.

The process is a command's own, so it sets the cyclic garbage collector's pace for a short
batch job (:data:`GC_THRESHOLDS`).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

#: The exit code of a program ended by SIGINT (128 + 2), as shells report it.
INTERRUPTED = 130

#: The collector's thresholds (generation 0, 1, 2) for a command's process. At the
#: interpreter's default (700, 10, 10) a ``fialloc run`` on the demo triggers about 750
#: collections, most while the libraries import, five of them full ones over every object
#: loaded: 0.6 s of CPU. A first generation of 10,000 container objects makes that about 50
#: collections, none full (0.2 s), and the same peak memory: what refcounting does not free
#: is rare and small. A library caller's process keeps its own settings.
GC_THRESHOLDS = (10_000, 10, 10)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the command line and run it; return the exit code (130 when interrupted)."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        from fialloc.cli import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return INTERRUPTED
    return run_cli(argv)
