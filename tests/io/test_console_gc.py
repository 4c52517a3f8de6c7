"""The console script: the collector's thresholds for its own process, and its quick exit."""

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


_SCRIPT = """
import atexit, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from fialloc.console import script
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
def work():
    time.sleep(0.5)
    print("thread finished", file=sys.stderr)
threading.Thread(target=work).start()
left_open = ThreadPoolExecutor(2)  # a library's pool never shut down: idle workers
left_open.submit(lambda: None).result()
sys.argv = ["fialloc", *sys.argv[1:]]
script()
"""


def test_the_installed_command_keeps_its_output_exit_code_and_exit_handlers(tmp_path) -> None:
    """`script` ends the process quickly but as a normal exit would, less the teardown: a
    running thread is waited for, an idle pool left open does not hang it."""
    ok = subprocess.run(
        [sys.executable, "-c", _SCRIPT, "runs", "--root", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"No runs in {tmp_path}"
    assert "exit handler ran" in ok.stderr
    assert "thread finished" in ok.stderr
    bad = subprocess.run(
        [sys.executable, "-c", _SCRIPT, "validate", str(tmp_path / "missing")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "is not a directory" in bad.stderr + bad.stdout
    assert "exit handler ran" in bad.stderr
