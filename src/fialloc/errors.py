"""fialloc's errors: every error fialloc defines derives from :class:`FiallocError`.

``except fialloc.errors.FiallocError`` catches anything fialloc refuses or cannot do, and each
class also derives from the built-in exception of its kind, so code that catches
``ValueError`` or ``RuntimeError`` keeps working:

- :class:`InputError` (a ``ValueError``): input files or tables failed validation; its
  ``problems`` list every problem (file, line, column, what was expected).
- :class:`UsageError` (a ``ValueError``): a command cannot run as asked (``fialloc`` exits 2).
- :class:`ConvergenceError` (a ``RuntimeError``): a solver of the numeric core or a
  calibration did not converge (the C++ core's failures arrive as a subclass of it).
- :class:`DistributedError` (a ``RuntimeError``): a task of a distributed map failed for
  good, or results are missing.
- :class:`NotEstimableError` (a ``ValueError``): a statistic cannot be estimated from the
  data given (too short a history, collinear factors); callers judging many managers turn it
  into that manager's "not estimable" with the reason and go on.
- :class:`fialloc.service.requests.RequestError` (a ``ValueError``): a service request is
  refused, with its HTTP status and every problem.

Invalid single arguments to a function (a NaN rate, unsorted tenors) raise a plain
``ValueError`` naming the argument, as numpy and pandas do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fialloc.formatting import count

if TYPE_CHECKING:
    from fialloc.data.schema import Problem

__all__ = [
    "ConvergenceError",
    "DistributedError",
    "FiallocError",
    "InputError",
    "NotEstimableError",
    "UsageError",
]


class FiallocError(Exception):
    """Base of every error fialloc defines."""


class InputError(FiallocError, ValueError):
    """Inputs failed validation; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems[:50])
        extra = len(self.problems) - 50
        more = f"\n  ... and {extra} more" if extra > 0 else ""
        super().__init__(f"{count(len(self.problems), 'problem')} in the inputs:\n{lines}{more}")


class UsageError(FiallocError, ValueError):
    """A command cannot run as asked (exit code 2, one line)."""


class ConvergenceError(FiallocError, RuntimeError):
    """A solver or a calibration did not converge."""


class DistributedError(FiallocError, RuntimeError):
    """A task of a distributed map failed for good (after its retries), or results are missing."""


class NotEstimableError(FiallocError, ValueError):
    """A statistic cannot be estimated from the data given; the message says why."""
