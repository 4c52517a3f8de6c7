"""The four desks on the demo book, after pricing (issue goal: well under one second)."""

import pytest

import fialloc.data as data
from fialloc.desks import DeskContext, run_desks


@pytest.mark.benchmark(group="desks")
def test_four_desks_on_the_demo_book(benchmark):
    portfolio = data.demo()
    ctx = DeskContext(portfolio)
    _ = ctx.securities, ctx.managers, ctx.liabilities, ctx.excess_returns  # pricing done once

    results = benchmark(run_desks, ctx)
    assert {f.subject for f in results["credit"].findings_of("credit_beta")} == set(
        data.demo_truth().bbb_beta_managers
    )
