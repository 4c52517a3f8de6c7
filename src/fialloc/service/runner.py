"""Run requests with a time limit, a bound on how many compute at once, and a bounded queue.

A request waits for a free worker up to ``queue_wait`` seconds, with at most ``queue_size``
requests waiting; beyond either it gets a 503 at once with a ``Retry-After`` estimate (the
recent average run time times the requests ahead), so a burst is served in turn without
client retries and an overload is refused rather than queued without bound. A request over
its time limit (counted from when it starts computing) gets a 504 at once; its computation
cannot be interrupted (the numeric core holds no cancellation points), so it keeps its worker
until it finishes and its result is dropped. Either way ``/ping`` keeps answering.

Sizing: with ``W`` workers and runs of ``t`` seconds, ``queue_size`` requests are served
within ``queue_size / W * t`` seconds; set ``queue_wait`` above that and the clients' own
timeouts above ``queue_wait + time_limit``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import ParamSpec, TypeVar

from fialloc.service.requests import RequestError

__all__ = ["Runner"]

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    """A bounded pool of worker threads with a bounded wait queue and a per-request time limit.

    Parameters
    ----------
    workers : int
        Requests computed at once.
    time_limit : float
        Seconds to wait for a request's result once it computes.
    queue_size : int
        Requests that may wait for a worker at once (0: none wait).
    queue_wait : float
        Seconds a request may wait for a worker.
    """

    def __init__(
        self, workers: int, time_limit: float, queue_size: int = 0, queue_wait: float = 0.0
    ) -> None:
        if workers < 1 or not time_limit > 0 or queue_size < 0 or not queue_wait >= 0:
            msg = (
                f"Runner: need workers >= 1, time_limit > 0, queue_size >= 0 and queue_wait "
                f">= 0, got {workers}, {time_limit}, {queue_size} and {queue_wait}"
            )
            raise ValueError(msg)
        self.workers = workers
        self.time_limit = time_limit
        self.queue_size = queue_size
        self.queue_wait = queue_wait
        self._slots = threading.BoundedSemaphore(workers)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="fialloc-request")
        self._lock = threading.Lock()
        self._waiting = 0
        self._mean_seconds = 5.0  # a first guess of a run's time, refined by each finished run

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the average run time per request ahead."""
        with self._lock:
            ahead = self._waiting + self.workers
            return max(1, math.ceil(self._mean_seconds * ahead / self.workers))

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn(*args, **kwargs)`` on a worker and return its result.

        Raises
        ------
        RequestError
            503 (with ``retry_after``) if the queue is full or no worker frees up within
            ``queue_wait``; 504 if the result is not ready within the time limit.
        """
        if not self._slots.acquire(blocking=False):
            with self._lock:
                full = self._waiting >= self.queue_size
                if not full:
                    self._waiting += 1
            if full:
                self._busy(f"{self.queue_size} more waiting")
            try:
                got = self._slots.acquire(timeout=self.queue_wait) if self.queue_wait else False
            finally:
                with self._lock:
                    self._waiting -= 1
            if not got:
                self._busy(f"no worker free within {self.queue_wait:g} s")
        started = time.monotonic()
        future: Future[T] = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self._finished(started))
        try:
            return future.result(timeout=self.time_limit)
        except FutureTimeout:
            msg = (
                f"the request did not finish within the service's time limit of "
                f"{self.time_limit:g} s; its result will be discarded"
            )
            raise RequestError(504, msg) from None

    def _finished(self, started: float) -> None:
        with self._lock:
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.monotonic() - started)
        self._slots.release()

    def _busy(self, why: str) -> None:
        msg = f"the service is busy with {self.workers} request(s) and {why}; retry later"
        raise RequestError(503, msg, retry_after=self.retry_after())

    def shutdown(self) -> None:
        """Stop taking work and wait for the running requests to finish."""
        self._pool.shutdown(wait=True)
