"""Where the pipeline's parallel maps run: in this process, or on a Dask cluster.

The pipeline's heavy maps (chunks of scenario paths, stress scenarios, frontier points) go
through one small interface, :class:`Executor`: ``map(fn, items, shared=...)`` returns
``[fn(item, shared) for item in items]`` in order. :class:`InProcess` is a plain loop (the
default); :class:`DaskExecutor` sends the tasks to a Dask ``distributed`` cluster, a local one
with worker processes or an existing scheduler (Kubernetes, YARN, AWS Fargate through
dask-cloudprovider...), via :func:`open_executor`. Tasks are pure functions of their item and
the shared inputs, so results do not depend on where they ran.

On a cluster the shared inputs travel once: they are scattered to every worker
(``broadcast=True``) and each task receives the worker's copy. A task whose worker is lost is
run again elsewhere, and a task that raises is retried; a map either returns one result per
item, in order, or raises :class:`DistributedError` naming the task that failed (a task's
``ValueError``, bad input, is raised as it is, as it would be in-process). Dask is an
optional dependency (``pip install fialloc[dask]``), imported only when a cluster is used.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Protocol, TypeVar

from fialloc.errors import DistributedError

__all__ = [
    "DaskExecutor",
    "DistributedError",
    "Executor",
    "InProcess",
    "open_executor",
    "task_threads",
]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` on every item, optionally with inputs shared by all tasks."""

    def map(self, fn: Callable[..., R], items: Sequence[T], *, shared: Any = None) -> list[R]:
        """Return ``[fn(item) for item in items]``, or ``fn(item, shared)`` if `shared` is given.

        Results are in the order of `items`, one per item.
        """
        ...


def _call(fn: Callable[..., R], item: Any, shared: Any = None) -> R:
    return fn(item) if shared is None else fn(item, shared)


class InProcess:
    """Run every task here, one after the other (the default executor)."""

    def map(self, fn: Callable[..., R], items: Sequence[T], *, shared: Any = None) -> list[R]:
        """Return ``[fn(item, shared) for item in items]`` (``fn(item)`` without `shared`)."""
        return [_call(fn, item, shared) for item in items]

    def __repr__(self) -> str:
        return "InProcess()"


class DaskExecutor:
    """Run the tasks on a Dask ``distributed`` cluster.

    Parameters
    ----------
    client : distributed.Client
        Connected to the cluster's scheduler.
    retries : int
        How many times a task that raises is run again before the map fails. A task whose
        worker dies is rescheduled by the scheduler on another worker regardless (up to its
        ``distributed.scheduler.allowed-failures`` setting, after which the map fails).
    """

    def __init__(self, client: Any, retries: int = 2) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            msg = f"DaskExecutor: `retries` must be a non-negative integer, got {retries!r}"
            raise ValueError(msg)
        self.client = client
        self.retries = retries

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r}, retries={self.retries})"

    def map(self, fn: Callable[..., R], items: Sequence[T], *, shared: Any = None) -> list[R]:
        """Run ``fn(item, shared)`` for every item on the cluster; results in item order.

        Raises
        ------
        ValueError
            A task's own ValueError (bad input), unchanged, as it would be in-process.
        DistributedError
            If a task still fails after its retries or its worker keeps dying (the message
            names the function, the task's position and item, and the cause), or a result is
            missing.
        """
        from distributed import as_completed

        todo = list(items)
        if not todo:
            return []
        name = _name(fn)
        run = uuid.uuid4().hex[:8]
        extra: tuple[Any, ...] = ()
        if shared is not None:
            # In a list, so a shared tuple or dict is scattered as one object.
            [handle] = self.client.scatter([shared], broadcast=True, hash=False)
            extra = (handle,)
        futures = [
            self.client.submit(
                _call, fn, item, *extra, key=f"{name}-{run}-{i}", retries=self.retries, pure=False
            )
            for i, item in enumerate(todo)
        ]
        position = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                if future.status != "finished":
                    i = position[future.key]
                    error, cause = _cause(future)
                    if isinstance(error, ValueError):
                        raise error  # bad input: the same error as in-process
                    msg = (
                        f"distributed map of {name}: task {i + 1} of {len(todo)} "
                        f"(item {_short(todo[i])}) failed for good (retried up to "
                        f"{self.retries} times): {cause}"
                    )
                    raise DistributedError(msg) from error
            results = self.client.gather(futures)
        finally:
            self.client.cancel(futures)
            if extra:
                self.client.cancel(list(extra))
        if len(results) != len(todo):
            msg = f"distributed map of {name}: {len(results)} results for {len(todo)} tasks"
            raise DistributedError(msg)
        return list(results)


def task_threads() -> int | None:
    """Threads a compiled kernel may use inside a task: 1 on a Dask worker, None (all) here.

    A Dask worker already runs one task per worker thread, so kernels that took every core
    as well would oversubscribe the machine.
    """
    if "distributed" not in sys.modules:  # not imported: not on a worker
        return None
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return None
    return 1


def _name(fn: Callable[..., Any]) -> str:
    while isinstance(fn, partial):
        fn = fn.func
    return str(getattr(fn, "__name__", type(fn).__name__))


def _cause(future: Any) -> tuple[BaseException | None, str]:
    lost = (
        f"the task was {future.status}: the workers holding it or the shared inputs it "
        "needed were lost"
    )
    try:
        exc = future.exception()
    except Exception as err:  # a cancelled or lost future has no exception to fetch
        return None, f"{lost} ({type(err).__name__}: {err})"
    if exc is None:
        return None, lost
    return exc, f"{type(exc).__name__}: {exc}"


def _short(item: Any, limit: int = 80) -> str:
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def open_executor(
    workers: int | None = None, scheduler: str | None = None, connect_timeout: float = 30.0
) -> Iterator[Executor]:
    """Open where the maps run, and close it afterwards.

    Parameters
    ----------
    workers : int, optional
        Start a local Dask cluster with this many worker processes (one thread each).
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://host:8786``.
    connect_timeout : float
        Seconds to keep trying to reach `scheduler`.

    Without either, yields :class:`InProcess`.

    Raises
    ------
    ValueError
        If both are given, `workers` is not a positive integer, `scheduler` is empty, or Dask
        is not installed.
    OSError
        If the scheduler cannot be reached.
    """
    if workers is not None and scheduler is not None:
        msg = "open_executor: give `workers` (a local cluster) or `scheduler`, not both"
        raise ValueError(msg)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024
    ):
        msg = f"open_executor: `workers` must be an integer from 1 to 1024, got {workers!r}"
        raise ValueError(msg)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        msg = f"open_executor: `scheduler` must be an address like tcp://host:8786: {scheduler!r}"
        raise ValueError(msg)
    if workers is None and scheduler is None:
        yield InProcess()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        msg = "open_executor: a cluster needs Dask; install it with `pip install fialloc[dask]`"
        raise ValueError(msg) from None
    if scheduler is not None:
        try:
            client = Client(scheduler.strip(), timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            msg = f"open_executor: cannot reach the Dask scheduler at {scheduler}: {exc}"
            raise OSError(msg) from exc
        with client:
            yield DaskExecutor(client)
        return
    import dask

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which turns off glibc's adaptive
    # mmap threshold: every large temporary array is then mapped afresh and page-faulted in,
    # and a chunk of paths takes about twice as long. Workers here start without it.
    environ = dask.config.get("distributed.nanny.pre-spawn-environ", {})
    environ = {k: v for k, v in environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    # The scheduler's HTTP server (dashboard, metrics) takes a free port of its own: the
    # default 8787 fails the start when another cluster on the host binds it at the same time.
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield DaskExecutor(client)
