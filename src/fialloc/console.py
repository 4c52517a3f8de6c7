"""The ``fialloc`` console script.

The command line imports numpy, pandas, cvxpy and the compiled core, which takes a second or
more; Ctrl-C in that second must end the program as quietly as Ctrl-C during a command (exit
130, one line), not with a traceback from inside an import.

The process is a command's own, so it sets the cyclic garbage collector's pace for a short
batch job (:data:`GC_THRESHOLDS`), and the installed command (:func:`script`) ends it without
the interpreter's teardown of every module a run imported.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

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


def script() -> NoReturn:
    """Run the installed ``fialloc`` command (:func:`main`) and end its process.

    When a command returns, what it writes is written and closed. A normal exit would then
    stop the thread pools still open and join the remaining threads, run the exit handlers
    (logging, temporary directories) and tear down the interpreter: about 2,300 modules after
    a run, 0.45 s on the demo for nothing the user sees. This does the first two as the
    interpreter does, flushes the standard streams and ends the process with the command's
    exit code. An exception (``--help``'s ``SystemExit`` included) takes Python's normal exit.
    """
    code = main()
    # The interpreter's own exit sequence up to the teardown: stop the thread pools a library
    # left open and join the other threads (threading's shutdown), then the exit handlers.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
