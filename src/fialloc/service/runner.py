"""Run requests with a time limit and a bound on how many compute at once.

A request over its time limit gets a 504 at once; its computation cannot be interrupted (the
numeric core holds no cancellation points), so it keeps its slot until it finishes and its
result is dropped. When every slot is taken a new request gets a 503 rather than waiting in
an unbounded queue. Either way the server stays responsive and ``/ping`` keeps answering.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import ParamSpec, TypeVar

from fialloc.service.requests import RequestError

__all__ = ["Runner"]

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    """A bounded pool of worker threads with a per-request time limit.

    Parameters
    ----------
    workers : int
        Requests computed at once.
    time_limit : float
        Seconds to wait for a request's result.
    """

    def __init__(self, workers: int, time_limit: float) -> None:
        if workers < 1 or not time_limit > 0:
            msg = f"Runner: need workers >= 1 and time_limit > 0, got {workers} and {time_limit}"
            raise ValueError(msg)
        self.workers = workers
        self.time_limit = time_limit
        self._slots = threading.BoundedSemaphore(workers)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="fialloc-request")

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn(*args, **kwargs)`` on a worker and return its result.

        Raises
        ------
        RequestError
            503 if every worker is busy; 504 if the result is not ready within the limit.
        """
        if not self._slots.acquire(blocking=False):
            msg = f"the service is busy with {self.workers} request(s); retry later"
            raise RequestError(503, msg)
        future: Future[T] = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self._slots.release())
        try:
            return future.result(timeout=self.time_limit)
        except FutureTimeout:
            msg = (
                f"the request did not finish within the service's time limit of "
                f"{self.time_limit:g} s; its result will be discarded"
            )
            raise RequestError(504, msg) from None

    def shutdown(self) -> None:
        """Stop taking work and wait for the running requests to finish."""
        self._pool.shutdown(wait=True)
