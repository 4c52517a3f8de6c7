import inspect

import pytest

import fialloc.errors as errors
from fialloc import _core
from fialloc.data.schema import Problem
from fialloc.service.requests import RequestError


def test_every_error_fialloc_defines_is_a_fialloc_error():
    defined = [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    ]
    assert len(defined) == 6
    for cls in [*defined, _core.ConvergenceError, RequestError]:
        assert issubclass(cls, errors.FiallocError), cls


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InputError, ValueError),
        (errors.UsageError, ValueError),
        (errors.NotEstimableError, ValueError),
        (RequestError, ValueError),
        (errors.ConvergenceError, RuntimeError),
        (_core.ConvergenceError, RuntimeError),
        (errors.DistributedError, RuntimeError),
    ],
)
def test_each_error_is_also_the_builtin_of_its_kind(cls, builtin):
    assert issubclass(cls, builtin)


def test_the_core_raises_its_convergence_error_as_a_fialloc_error():
    assert _core.ConvergenceError.__module__ == "fialloc._core"
    msg = "did not converge"
    with pytest.raises(errors.FiallocError, match=msg):
        raise _core.ConvergenceError(msg)


def test_input_error_counts_in_words():
    one = errors.InputError([Problem("managers.csv", None, None, "required file is missing")])
    assert str(one).startswith("1 problem in the inputs")
    many = errors.InputError([Problem("a.csv", i, None, f"bad {i}") for i in range(60)])
    assert str(many).startswith("60 problems in the inputs")
    assert str(many).endswith("... and 10 more")
