"""What the command-line tests share: the one run folder a command wrote."""

from pathlib import Path


def only_run(root: Path) -> Path:
    """Return the only run folder under `root` (failing unless there is exactly one)."""
    runs = [p for p in root.iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]
