"""The console script sets the garbage collector's thresholds for its own process only."""

from __future__ import annotations

import subprocess
import sys

from fialloc.console import GC_THRESHOLDS

_PROBE = """
import gc, sys
from fialloc.console import main
before = gc.get_threshold()
try:
    main(["--help"])
except SystemExit:
    pass
print(before, gc.get_threshold())
"""


def test_the_console_script_sets_the_thresholds_and_importing_it_does_not() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = done.stdout.strip().splitlines()[-1].split(") (")
    assert "(" + after == str(GC_THRESHOLDS)
    assert before + ")" != str(GC_THRESHOLDS)  # the import alone leaves the default
