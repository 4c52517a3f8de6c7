"""The runs catalog: an embedded DuckDB database listing the stored runs of an output root.

For a local root the database is ``catalog.duckdb`` in the root; for an object store
(``s3://``, ``memory://``...) it is built in memory. Either way it is brought up to date from the
runs' manifests when opened, so a run written since still appears, and only complete runs
(with a manifest) ever do. A catalog file that cannot be read (truncated, overwritten) is set
aside and rebuilt from the manifests; a run whose manifest or results cannot be read is left
out and named in :attr:`Catalog.damaged`; folders of runs killed while being written are
removed once stale.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb
import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem

from fialloc.store import RunRecord, complete_runs, read_response, stale_temporaries

__all__ = ["CATALOG", "Catalog", "RunDiff"]

CATALOG: Final = "catalog.duckdb"

#: Headline columns kept per run (decimals, money, years), from the manifest's ``headline``.
HEADLINE: Final = (
    ("assets", "DOUBLE"),
    ("surplus", "DOUBLE"),
    ("yield_before", "DOUBLE"),
    ("yield_after", "DOUBLE"),
    ("tracking_error_before", "DOUBLE"),
    ("tracking_error_after", "DOUBLE"),
    ("shortfall_probability_before", "DOUBLE"),
    ("shortfall_probability_after", "DOUBLE"),
    ("max_key_rate_gap_before", "DOUBLE"),
    ("max_key_rate_gap_after", "DOUBLE"),
    ("turnover", "DOUBLE"),
)

_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, created VARCHAR, source VARCHAR, valuation_date VARCHAR,
    model VARCHAR, n_paths INTEGER, scenario_seed BIGINT, url VARCHAR,
    {", ".join(f"{name} {kind}" for name, kind in HEADLINE)}
);
CREATE TABLE IF NOT EXISTS weights (
    run_id VARCHAR, manager_id VARCHAR, name VARCHAR, current_weight DOUBLE,
    recommended_weight DOUBLE, PRIMARY KEY (run_id, manager_id)
);
"""


class RunDiff:
    """Two runs compared: per-manager recommended weights and headline risk.

    Attributes
    ----------
    weights : DataFrame
        Per manager: current and recommended weight in each run and the difference of the
        recommendations (b minus a; decimals).
    risk : DataFrame
        Per headline measure (yields, tracking errors, shortfall probabilities as decimals;
        key-rate gaps in years; money): the value in each run and the difference.
    """

    def __init__(self, a: str, b: str, weights: pd.DataFrame, risk: pd.DataFrame) -> None:
        self.a, self.b, self.weights, self.risk = a, b, weights, risk


class Catalog:
    """The catalog of one output root; use as a context manager.

    Parameters
    ----------
    root : str
        The output root (local directory or fsspec URL).
    sync : bool
        Add the root's complete runs the catalog does not list yet (see :meth:`sync`).

    Attributes
    ----------
    damaged : list of str
        Runs left out because their manifest or results cannot be read, and a catalog file
        that was set aside, each with the reason.

    Raises
    ------
    OSError
        If the catalog is held by another process.
    """

    def __init__(self, root: str, *, sync: bool = True) -> None:
        self.root = str(root)
        self.damaged: list[str] = []
        fs, base = fsspec.core.url_to_fs(self.root)
        if isinstance(fs, LocalFileSystem):
            Path(base).mkdir(parents=True, exist_ok=True)
            self._db = self._open_local(Path(base) / CATALOG)
        else:
            self._db = duckdb.connect(":memory:")
        self._db.execute(_SCHEMA)
        if sync:
            self.sync()

    def _open_local(self, path: Path) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(path))
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                msg = f"{path}: cannot open the runs catalog (in use by another process): {exc}"
                raise OSError(msg) from None
        # Not a DuckDB file any more (overwritten, truncated, emptied): the manifests are the
        # record, so set it aside for inspection and rebuild.
        aside = path.with_name(f"{path.name}.damaged")
        path.replace(aside)
        for wal in path.parent.glob(f"{path.name}.wal"):
            wal.unlink()
        self.damaged.append(f"{path.name}: unreadable, moved to {aside.name} and rebuilt")
        return duckdb.connect(str(path))

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.close()

    def sync(self) -> None:
        """Add every complete run of the root that the catalog does not list yet.

        Runs that cannot be read are named in :attr:`damaged`; stale temporary folders of
        interrupted runs are removed.
        """
        stale_temporaries(self.root)
        known = {row[0] for row in self._db.execute("SELECT run_id FROM runs").fetchall()}
        for record in complete_runs(self.root, self.damaged):
            if record.run_id not in known:
                try:
                    self.add(record)
                except (OSError, ValueError) as exc:  # pydantic's ValidationError included
                    first = str(exc).splitlines()[0]
                    self.damaged.append(f"{record.run_id}: unreadable results ({first})")

    def add(self, record: RunRecord) -> None:
        """Add (or replace) one run's row and its managers' weights."""
        m = record.manifest
        head = m.get("headline", {})
        params = m.get("parameters", {})
        row: list[Any] = [
            record.run_id,
            m.get("created"),
            m.get("source"),
            head.get("valuation_date"),
            head.get("model"),
            params.get("n_paths"),
            params.get("scenario_seed"),
            record.url,
            *(head.get(name) for name, _ in HEADLINE),
        ]
        weights = [
            (record.run_id, r.manager_id, r.name, r.current_weight, r.recommended_weight)
            for r in read_response(record.url).allocation_recommendations
        ]
        self._db.execute("BEGIN TRANSACTION")
        self._db.execute("DELETE FROM runs WHERE run_id = ?", [record.run_id])
        self._db.execute("DELETE FROM weights WHERE run_id = ?", [record.run_id])
        self._db.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(row))})", row)
        if weights:
            self._db.executemany("INSERT INTO weights VALUES (?, ?, ?, ?, ?)", weights)
        self._db.execute("COMMIT")

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first: id, time, source, headline numbers before and after."""
        return self._db.execute("SELECT * FROM runs ORDER BY created, run_id").df()

    def resolve(self, reference: str) -> str:
        """Return the run id that a full id or a unique prefix names.

        Raises
        ------
        ValueError
            If no run or several runs match.
        """
        hits = [
            row[0]
            for row in self._db.execute(
                "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id",
                [reference],
            ).fetchall()
        ]
        if len(hits) != 1:
            what = "no run" if not hits else f"{len(hits)} runs ({', '.join(hits)})"
            msg = f"{reference}: {what} with that id in {self.root}"
            raise ValueError(msg)
        return str(hits[0])

    def diff(self, a: str, b: str) -> RunDiff:
        """Compare two runs (ids or unique prefixes): managers' weights and headline risk.

        Raises
        ------
        ValueError
            If either run is not in the catalog.
        """
        ra, rb = self.resolve(a), self.resolve(b)
        weights = self._db.execute(
            """
            SELECT coalesce(x.manager_id, y.manager_id) AS manager_id,
                   coalesce(x.name, y.name) AS name,
                   x.current_weight AS current_a, x.recommended_weight AS recommended_a,
                   y.current_weight AS current_b, y.recommended_weight AS recommended_b,
                   coalesce(y.recommended_weight, 0) - coalesce(x.recommended_weight, 0)
                       AS recommended_change
            FROM (SELECT * FROM weights WHERE run_id = ?) x
            FULL OUTER JOIN (SELECT * FROM weights WHERE run_id = ?) y
                ON x.manager_id = y.manager_id
            ORDER BY manager_id
            """,
            [ra, rb],
        ).df()
        heads = self._db.execute(
            f"SELECT run_id, {', '.join(n for n, _ in HEADLINE)} FROM runs WHERE run_id IN (?, ?)",
            [ra, rb],
        ).df()
        heads = heads.set_index("run_id").T
        risk = pd.DataFrame({"a": heads[ra], "b": heads[rb]}).astype(float)
        risk["change"] = risk["b"] - risk["a"]
        return RunDiff(ra, rb, weights.set_index("manager_id"), risk.rename_axis("measure"))
