"""Request schema, limits, portfolio sources and the engine dispatch of fialloc.service."""

import json
import shutil
import threading
import time

import pytest
from fake_agents import install

from fialloc import data
from fialloc.desks.result import json_value
from fialloc.mc_estimators import DEFAULT_PATHS
from fialloc.service import engine
from fialloc.service.engine import respond
from fialloc.service.requests import (
    APP_REQUESTS,
    AllocationRequest,
    RequestError,
    field_path,
    parse_request,
)
from fialloc.service.runner import Runner
from fialloc.service.settings import ServiceSettings

SETTINGS = ServiceSettings()

# The demo book of requests and of data.write_demo is the session's
# (conftest.commands_share_the_demo).
pytestmark = pytest.mark.usefixtures("commands_share_the_demo")


@pytest.fixture
def agents(monkeypatch):
    return install(monkeypatch)


def app_respond(payload, settings=SETTINGS):
    return respond(payload, APP_REQUESTS, "entrypoint", settings)


def paths(body):
    return {p["path"]: p["problem"] for p in body["problems"]}


def inline_demo(tables):
    """The demo's tables as an inline portfolio of JSON records (a new one each call)."""
    return {
        "source": "inline",
        "valuation_date": data.DEMO_VALUATION.isoformat(),
        "tables": {
            name: [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]
            for name, frame in tables.items()
        },
    }


def test_parse_fills_defaults():
    request = parse_request(
        {"entrypoint": "allocation", "portfolio": {"source": "demo"}}, APP_REQUESTS, "entrypoint"
    )
    assert isinstance(request, AllocationRequest)
    assert request.portfolio.seed == 7
    assert request.parameters.n_paths == DEFAULT_PATHS
    assert request.parameters.mandate is None
    assert not request.scenarios


def test_every_problem_is_listed_by_field_path(agents):
    status, body = app_respond(
        {
            "entrypoint": "allocation",
            "portfolio": {"source": "demo", "seed": -1, "colour": "red"},
            "parameters": {
                "n_paths": 5,
                "covariance": "guess",
                "bogus": 1,
                "mandate": {"max_allocation": 2, "foo": 1},
                "model": "nope:x",
            },
        }
    )
    assert status == 400
    assert body["error"] == "invalid request"
    found = paths(body)
    assert set(found) == {
        "portfolio.seed",
        "portfolio.colour",
        "parameters.n_paths",
        "parameters.covariance",
        "parameters.bogus",
        "parameters.mandate.max_allocation",
        "parameters.mandate.foo",
        "parameters.model",
    }
    assert "greater than or equal to 20" in found["parameters.n_paths"]
    assert "nope" in found["parameters.model"]


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        ([1, 2], "", "JSON object, got an array"),
        ("allocate", "", "got a string"),
        ({"portfolio": {"source": "demo"}}, "entrypoint", "missing"),
        ({"entrypoint": "rebalance"}, "entrypoint", "unknown entrypoint 'rebalance'"),
        ({"entrypoint": "allocation"}, "portfolio", "Field required"),
        ({"entrypoint": "allocation", "portfolio": {"source": "ftp"}}, "portfolio", "'ftp'"),
        (
            {"entrypoint": "agent", "agent": "astrologer", "portfolio": {"source": "demo"}},
            "agent",
            "unknown agent 'astrologer'",
        ),
        (
            {"entrypoint": "allocation", "portfolio": {"source": "inline", "tables": {"x": []}}},
            "portfolio.valuation_date",
            "Field required",
        ),
    ],
)
def test_malformed_requests_get_400(agents, payload, path, words):
    status, body = app_respond(payload)
    assert status == 400
    assert words in paths(body)[path]


def test_field_path_drops_the_source_tag_and_indexes_lists():
    assert field_path(("portfolio", "inline", "tables", "securities", 3, "coupon")) == (
        "portfolio.tables.securities[3].coupon"
    )
    assert field_path(("parameters", "n_paths")) == "parameters.n_paths"
    assert field_path(()) == ""


def test_inline_portfolio_problems_name_table_row_and_column(agents, demo_tables_and_truth):
    portfolio = inline_demo(demo_tables_and_truth[0])
    portfolio["tables"]["securities"][3]["coupon"] = "abc"
    portfolio["tables"]["holdings"][5]["par"] = -1.0
    request = {"entrypoint": "agent", "agent": "duration", "portfolio": portfolio}
    status, body = app_respond(request)
    assert status == 400
    assert body["error"] == "invalid portfolio"
    found = paths(body)
    assert "portfolio.tables.securities[3].coupon" in found
    assert "-1" in found["portfolio.tables.holdings[5].par"]


def test_inline_portfolio_runs_like_the_demo(agents, demo_tables_and_truth):
    _, calls = agents
    status, body = app_respond(
        {
            "entrypoint": "agent",
            "agent": "duration",
            "portfolio": inline_demo(demo_tables_and_truth[0]),
        }
    )
    _, demo_body = app_respond(
        {"entrypoint": "agent", "agent": "duration", "portfolio": {"source": "demo"}}
    )
    assert status == 200
    assert body["desk"]["summary"] == demo_body["desk"]["summary"]
    assert [c[1]["name"] for c in calls] == ["duration", "duration"]


def test_size_limits_give_413_listing_each_limit(agents, demo_tables_and_truth):
    settings = ServiceSettings(max_paths=500, max_securities=100)
    status, body = app_respond(
        {
            "entrypoint": "allocation",
            "portfolio": inline_demo(demo_tables_and_truth[0]),
            "parameters": {"n_paths": 501},
        },
        settings,
    )
    assert status == 413
    found = paths(body)
    assert "500" in found["parameters.n_paths"]
    assert "621 rows" in found["portfolio.tables.securities"]
    # A demo or a data location is counted once loaded.
    status, body = app_respond(
        {"entrypoint": "agent", "agent": "credit", "portfolio": {"source": "demo"}}, settings
    )
    assert status == 413
    assert "621 securities" in paths(body)["portfolio"]


def test_model_providers_not_enabled_are_refused(agents):
    request = {
        "entrypoint": "agent",
        "agent": "credit",
        "portfolio": {"source": "demo"},
        "parameters": {"model": "ollama:llama3@http://169.254.169.254:80"},
    }
    status, body = app_respond(request)
    assert status == 400
    assert "'ollama' is not enabled" in paths(body)["parameters.model"]
    _, calls = agents
    assert calls == []


def test_allocation_goes_through_the_workflow(agents):
    _, calls = agents
    params = {"n_paths": 20, "scenario_seed": 3, "horizons": 3, "phases": 2}
    status, body = app_respond(
        {"entrypoint": "allocation", "portfolio": {"source": "demo"}, "parameters": params}
    )
    assert status == 200
    assert set(body) >= {
        "integrated_strategy",
        "allocation_recommendations",
        "implementation_plan",
        "detailed_results",
        "timings",
        "model",
    }
    assert len(body["allocation_recommendations"]) == 27
    json.dumps(body, allow_nan=False)
    ((name, kwargs),) = calls
    assert name == "run_workflow"
    assert kwargs["scenarios"] is False
    assert kwargs["model"] is None
    assert {k: kwargs[k] for k in params} == params
    status, _ = app_respond(
        {"entrypoint": "scenario_allocation", "portfolio": {"source": "demo"}, "parameters": params}
    )
    assert status == 200
    assert calls[1][1]["scenarios"] is True


def test_mandate_overrides_merge_with_the_portfolio_mandate(agents, demo_portfolio):
    module, _ = agents
    seen = []
    original = module.run_agent

    def spy(name, portfolio, model=None):
        seen.append(portfolio.mandate)
        return original(name, portfolio, model)

    module.run_agent = spy  # restored by the fixture's monkeypatch
    request = {
        "entrypoint": "agent",
        "agent": "credit",
        "portfolio": {"source": "demo"},
        "parameters": {"mandate": {"max_allocation": 0.15, "objective": {"yield_target": 0.5}}},
    }
    assert app_respond(request)[0] == 200
    (mandate,) = seen
    assert mandate.max_allocation == 0.15
    assert mandate.objective.yield_target == 0.5
    assert mandate.objective.liability_matching == 0.35
    assert demo_portfolio.mandate.max_allocation == 0.20
    request["parameters"]["mandate"] = {"min_allocation": 0.3}
    status, body = app_respond(request)
    assert status == 400
    assert "above max_allocation" in paths(body)["parameters.mandate"]
    request["parameters"]["mandate"] = {"exit_managers": ["M03", "M99"]}
    status, body = app_respond(request)
    assert status == 400
    assert (
        "unknown manager 'M99'; the managers are M01"
        in paths(body)["parameters.mandate.exit_managers"]
    )


def test_default_model_applies_when_the_request_names_none(agents, monkeypatch):
    module, _ = agents
    seen = []

    class Result:
        def model_dump(self, mode):
            return {"mode": mode}

    def stub(name, portfolio, model=None):
        seen.append(model)
        return Result()

    monkeypatch.setattr(module, "run_agent", stub)
    settings = ServiceSettings(default_model="bedrock:anthropic.claude-test")
    request = {"entrypoint": "agent", "agent": "credit", "portfolio": {"source": "demo"}}
    assert app_respond(request, settings) == (200, {"mode": "json"})
    assert app_respond({**request, "parameters": {"model": "offline"}}, settings)[0] == 200
    assert [m.provider for m in seen] == ["bedrock", "offline"]
    assert seen[0].model_id == "anthropic.claude-test"


def test_engine_refusal_is_422(agents):
    status, body = app_respond(
        {
            "entrypoint": "allocation",
            "portfolio": {"source": "demo"},
            "parameters": {"n_paths": 20, "mandate": {"min_allocation": 0.1}},
        }
    )
    assert status == 422
    assert "mandate cannot be met" in body["error"]


def test_unexpected_failure_is_500_without_traceback(agents, monkeypatch):
    def broken(request, settings):
        raise KeyError("lost")  # noqa: EM101

    monkeypatch.setattr(engine, "execute", broken)
    status, body = app_respond({"entrypoint": "allocation", "portfolio": {"source": "demo"}})
    assert status == 500
    assert body == {"error": "internal error (KeyError): 'lost'", "problems": []}


def test_data_location_under_the_root_only(agents, tmp_path, demo_dir):
    shutil.copytree(demo_dir, tmp_path / "book")
    (tmp_path / "outside").mkdir()
    request = {"entrypoint": "agent", "agent": "liquidity"}
    status, body = app_respond({**request, "portfolio": {"source": "location", "location": "book"}})
    assert status == 400
    assert "FIALLOC_DATA_ROOT" in paths(body)["portfolio.location"]
    settings = ServiceSettings(data_root=str(tmp_path / "book" / ".."))
    for escape in ("../outside", "/etc", "book/../../outside"):
        status, body = app_respond(
            {**request, "portfolio": {"source": "location", "location": escape}},
            ServiceSettings(data_root=str(tmp_path / "book")),
        )
        assert status == 400
        assert "outside the service's data root" in paths(body)["portfolio.location"]
    status, body = app_respond(
        {**request, "portfolio": {"source": "location", "location": "book"}}, settings
    )
    assert status == 200
    assert body["name"] == "liquidity"
    (tmp_path / "book" / "managers.csv").unlink()
    status, body = app_respond(
        {**request, "portfolio": {"source": "location", "location": "book"}}, settings
    )
    assert status == 400
    (problem,) = paths(body).values()
    assert problem.startswith("managers.csv: required file is missing")
    assert str(tmp_path) not in json.dumps(body)


def test_settings_from_environment():
    settings = ServiceSettings.from_env(
        {
            "FIALLOC_MAX_PATHS": "5000",
            "FIALLOC_TIME_LIMIT": "2.5",
            "FIALLOC_DATA_ROOT": "/srv/books",
            "FIALLOC_MODEL_PROVIDERS": "offline, ollama",
        }
    )
    assert settings.max_paths == 5000
    assert settings.time_limit == 2.5
    assert settings.data_root == "/srv/books"
    assert settings.model_providers == ("offline", "ollama")
    assert settings.max_body_bytes == 10 * 2**20
    with pytest.raises(ValueError, match="FIALLOC_MAX_PATHS must be a number"):
        ServiceSettings.from_env({"FIALLOC_MAX_PATHS": "many"})
    with pytest.raises(ValueError, match="max_paths must be positive"):
        ServiceSettings.from_env({"FIALLOC_MAX_PATHS": "0"})


def test_a_burst_waits_in_the_queue_and_an_overload_gets_retry_after():
    runner = Runner(workers=1, time_limit=5.0, queue_size=3, queue_wait=5.0)
    release = threading.Event()
    results: list[object] = []

    def call(fn, *args):
        try:
            results.append(runner.run(fn, *args))
        except RequestError as exc:
            results.append(exc)

    first = threading.Thread(target=call, args=(release.wait, 5))
    first.start()
    time.sleep(0.05)
    waiting = [threading.Thread(target=call, args=(sum, [i, 1])) for i in range(3)]
    for t in waiting:
        t.start()
    time.sleep(0.1)
    with pytest.raises(RequestError) as full:  # three wait already: the fourth is refused
        runner.run(sum, [0])
    assert full.value.status == 503
    assert full.value.retry_after >= 1
    assert full.value.body()["retry_after"] == full.value.retry_after
    release.set()
    for t in [first, *waiting]:
        t.join(5)
    assert sorted(r for r in results if not isinstance(r, bool)) == [1, 2, 3]
    runner.shutdown()


def test_a_request_waits_no_longer_than_the_queue_allows():
    runner = Runner(workers=1, time_limit=5.0, queue_size=2, queue_wait=0.1)
    release = threading.Event()
    holder = threading.Thread(target=lambda: runner.run(release.wait, 5))
    holder.start()
    time.sleep(0.05)
    with pytest.raises(RequestError, match=r"no worker free within 0\.1 s") as late:
        runner.run(sum, [0])
    assert late.value.status == 503
    release.set()
    holder.join(5)
    runner.shutdown()


def test_the_app_sends_retry_after_with_a_503(monkeypatch):
    from starlette.testclient import TestClient

    from fialloc.service.app import build_app

    app = build_app(ServiceSettings(max_concurrent=1, queue_size=0))

    def busy(*args, **kwargs):
        raise RequestError(503, "busy", retry_after=7)

    monkeypatch.setattr(app.state.runner, "run", busy)
    with TestClient(app) as client:
        answer = client.post(
            "/invocations", json={"entrypoint": "allocation", "portfolio": {"source": "demo"}}
        )
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "7"
    assert answer.json()["retry_after"] == 7


def test_runner_answers_busy_and_late_requests():
    runner = Runner(workers=1, time_limit=0.2)
    release = threading.Event()
    with pytest.raises(RequestError) as late:
        runner.run(release.wait, 5)
    assert late.value.status == 504
    assert "time limit of 0.2 s" in late.value.message
    # The abandoned computation still holds the only slot.
    with pytest.raises(RequestError) as busy:
        runner.run(time.sleep, 0)
    assert busy.value.status == 503
    release.set()
    deadline = time.monotonic() + 5
    while True:
        try:
            assert runner.run(sum, [1, 2]) == 3
            break
        except RequestError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    runner.shutdown()
    with pytest.raises(ValueError, match="workers >= 1"):
        Runner(0, 1.0)


def test_inline_tables_are_exactly_the_data_schemas():
    from typing import get_args

    from fialloc.data import SCHEMAS
    from fialloc.service.requests import TableName

    assert set(get_args(TableName)) == set(SCHEMAS)


@pytest.mark.parametrize("entrypoint", [["allocation"], {"a": 1}, 3])
def test_an_entrypoint_of_another_type_is_a_400(entrypoint):
    status, body = app_respond({"entrypoint": entrypoint, "portfolio": {"source": "demo"}})
    assert status == 400
    assert "unknown entrypoint" in paths(body)["entrypoint"]


@pytest.mark.parametrize("location", ["bo\x00ok", "a" * 1024, "a/" * 300 + "b"])
def test_an_unusable_location_is_a_400_that_never_shows_the_root(
    agents, tmp_path, location, demo_dir
):
    shutil.copytree(demo_dir, tmp_path / "book")
    request = {"entrypoint": "agent", "agent": "liquidity"}
    status, body = app_respond(
        {**request, "portfolio": {"source": "location", "location": location}},
        ServiceSettings(data_root=str(tmp_path)),
    )
    assert status == 400
    assert str(tmp_path) not in json.dumps(body)
    assert "portfolio.location" in paths(body)


def test_a_file_linked_from_outside_the_root_is_refused_unread(agents, tmp_path, demo_dir):
    root = tmp_path / "root"
    shutil.copytree(demo_dir, root / "book")
    secret = tmp_path / "secret.csv"
    secret.write_text("manager_id,name\nTOP-SECRET,value\n")
    (root / "book" / "managers.csv").unlink()
    (root / "book" / "managers.csv").symlink_to(secret)
    request = {"entrypoint": "agent", "agent": "liquidity"}
    status, body = app_respond(
        {**request, "portfolio": {"source": "location", "location": "book"}},
        ServiceSettings(data_root=str(root)),
    )
    assert status == 400
    assert "managers.csv" in paths(body)["portfolio.location"]
    assert "links to outside" in paths(body)["portfolio.location"]
    assert "TOP-SECRET" not in json.dumps(body)
    assert str(tmp_path) not in json.dumps(body)
