"""The Lambda handler: one event per Step Functions operation, HTTP events and bad events."""

import base64
import dataclasses
import importlib
import io
import json
import shutil

import numpy as np
import pytest
from fake_agents import install

from fialloc.service import aws, lambda_handler

# The package exports the handler under its module's name; reach the module itself.
handler_module = importlib.import_module("fialloc.service.lambda_handler")
DEMO = {"source": "demo"}

# The demo book of requests and of data.write_demo is the session's
# (conftest.commands_share_the_demo).
pytestmark = pytest.mark.usefixtures("commands_share_the_demo")


@pytest.fixture
def agents(monkeypatch):
    return install(monkeypatch)


def problems(result):
    return {p["path"]: p["problem"] for p in result["body"]["problems"]}


def test_analyze_manager_portfolio(demo_portfolio):
    result = lambda_handler(
        {"operation": "analyze_manager_portfolio", "portfolio": DEMO, "manager_id": "M06"}, None
    )
    assert result["statusCode"] == 200
    body = result["body"]
    portfolio = demo_portfolio
    held = portfolio.holdings[portfolio.holdings["manager_id"] == "M06"]
    holdings = {h["security_id"]: h for h in body["holdings"]}
    assert set(holdings) == set(held["security_id"])
    assert sum(h["share"] for h in holdings.values()) == pytest.approx(1.0)
    assert sum(h["face"] for h in holdings.values()) == pytest.approx(held["par"].sum())
    manager = body["manager"]
    assert manager["market_value"] == pytest.approx(
        sum(h["holding_value"] for h in holdings.values())
    )
    # The sleeve's duration is the value-weighted duration of its holdings.
    durations = np.array([h["effective_duration"] for h in holdings.values()])
    shares = np.array([h["share"] for h in holdings.values()])
    assert manager["effective_duration"] == pytest.approx(float(durations @ shares))
    # The demo plants M06 as a BBB-beta manager: the credit desk says so, about M06 only.
    credit = body["desks"]["credit"]
    assert [f["code"] for f in credit["findings"]] == ["credit_beta"]
    assert {f["subject"] for d in body["desks"].values() for f in d["findings"]} == {"M06"}
    assert [row["manager_id"] for row in credit["tables"]["manager_skill"]] == ["M06"]
    json.dumps(body, allow_nan=False)


def test_process_liability_data(demo_portfolio):
    result = lambda_handler({"operation": "process_liability_data", "portfolio": DEMO}, None)
    assert result["statusCode"] == 200
    body = result["body"]
    portfolio = demo_portfolio
    assert body["analytics"]["market_value"] == pytest.approx(36e9, rel=1e-6)
    krd = sum(v for k, v in body["analytics"].items() if k.startswith("krd_"))
    assert krd == pytest.approx(body["analytics"]["effective_duration"], rel=0.02)
    flows = body["cash_flows_by_year"]
    assert sum(f["amount"] for f in flows) == pytest.approx(
        portfolio.liability_flows["amount"].sum()
    )
    assert [f["year"] for f in flows] == list(range(1, len(flows) + 1))
    gaps = body["key_rate_gaps"]
    assert len(gaps) == 9
    assert all(g["gap"] == pytest.approx(g["asset_krd"] - g["liability_krd"]) for g in gaps)


@pytest.mark.parametrize(
    ("operation", "scenarios"),
    [("multi_manager_allocation_engine", False), ("scenario_based_allocation_engine", True)],
)
def test_allocation_engines(agents, operation, scenarios):
    event = {"operation": operation, "portfolio": DEMO, "parameters": {"n_paths": 20}}
    result = lambda_handler(event, None)
    assert result["statusCode"] == 200
    assert len(result["body"]["allocation_recommendations"]) == 27
    (call,) = agents[1]
    assert call[0] == "run_workflow"
    assert call[1]["scenarios"] is scenarios
    assert call[1]["n_paths"] == 20


@pytest.mark.parametrize(
    ("event", "path", "words"),
    [
        (None, "", "JSON object, got null"),
        ({"portfolio": DEMO}, "operation", "missing; expected one of analyze_manager_portfolio"),
        ({"operation": "allocation", "portfolio": DEMO}, "operation", "unknown operation"),
        ({"operation": ["allocation"], "portfolio": DEMO}, "operation", "unknown operation"),
        ({"operation": "analyze_manager_portfolio", "portfolio": DEMO}, "manager_id", "required"),
        (
            {"operation": "analyze_manager_portfolio", "portfolio": DEMO, "manager_id": "M99"},
            "manager_id",
            "no manager 'M99'",
        ),
        (
            {"operation": "process_liability_data", "portfolio": {"source": "demo", "seed": 1.5}},
            "portfolio.seed",
            "integer",
        ),
        (
            {
                "operation": "process_liability_data",
                "portfolio": DEMO,
                "parameters": {"model": "offline"},
            },
            "parameters.model",
            "Extra inputs",
        ),
        (
            {"operation": "multi_manager_allocation_engine", "entrypoint": "allocation"},
            "entrypoint",
            "Extra inputs",
        ),
    ],
)
def test_bad_events_get_400(agents, event, path, words):
    result = lambda_handler(event, None)
    assert result["statusCode"] == 400
    assert words in problems(result)[path]
    assert agents[1] == []


def http_event(body, **extra):
    return {"requestContext": {"http": {"method": "POST"}}, "body": body, **extra}


def test_http_events_carry_the_request_as_a_string(agents):
    request = {"operation": "process_liability_data", "portfolio": DEMO}
    result = lambda_handler(http_event(json.dumps(request)), None)
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == "application/json"
    assert json.loads(result["body"])["analytics"]["market_value"] == pytest.approx(36e9, rel=1e-6)
    encoded = base64.b64encode(json.dumps(request).encode()).decode()
    result = lambda_handler(http_event(encoded, isBase64Encoded=True), None)
    assert result["statusCode"] == 200
    result = lambda_handler(http_event("{oops"), None)
    assert result["statusCode"] == 400
    assert "not valid JSON" in json.loads(result["body"])["problems"][0]["problem"]
    result = lambda_handler(http_event("%%%", isBase64Encoded=True), None)
    assert result["statusCode"] == 400
    result = lambda_handler(http_event("[" * 100_000 + "]" * 100_000), None)
    assert result["statusCode"] == 400


def test_http_body_over_the_limit_is_413(agents, monkeypatch):
    settings = dataclasses.replace(handler_module.SETTINGS, max_body_bytes=100)
    monkeypatch.setattr(handler_module, "SETTINGS", settings)
    request = {"operation": "process_liability_data", "portfolio": DEMO, "pad": "x" * 100}
    result = lambda_handler(http_event(json.dumps(request)), None)
    assert result["statusCode"] == 413
    assert "limit of 100" in json.loads(result["body"])["problems"][0]["problem"]


@pytest.fixture
def s3(monkeypatch):
    """A real boto3 S3 client whose calls are answered by botocore's Stubber (no network)."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    settings = dataclasses.replace(
        handler_module.SETTINGS,
        results_bucket="fialloc-results",
        data_root="s3://fialloc-results/inputs",
        max_input_bytes=10 * 2**20,
    )
    monkeypatch.setattr(handler_module, "SETTINGS", settings)
    monkeypatch.setattr(aws, "s3_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_results_are_stored_when_a_key_is_given(s3):
    from botocore.stub import ANY

    key = "runs/r1/liabilities.json"
    s3.add_response(
        "put_object",
        {},
        {"Bucket": "fialloc-results", "Key": key, "Body": ANY, "ContentType": "application/json"},
    )
    event = {"operation": "process_liability_data", "portfolio": DEMO, "result_key": key}
    result = lambda_handler(event, None)
    assert result["statusCode"] == 200
    assert result["body"]["stored"] == f"s3://fialloc-results/{key}"
    assert result["body"]["bytes"] > 1000


def test_a_failed_store_is_500(s3):
    s3.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
    event = {"operation": "process_liability_data", "portfolio": DEMO, "result_key": "runs/x.json"}
    result = lambda_handler(event, None)
    assert result["statusCode"] == 500
    assert "AccessDenied" in result["body"]["error"]


@pytest.mark.parametrize("key", ["../escape.json", "runs//x", ".hidden", "a b"])
def test_bad_result_keys_are_refused(s3, key):
    event = {"operation": "process_liability_data", "portfolio": DEMO, "result_key": key}
    result = lambda_handler(event, None)
    assert result["statusCode"] == 400
    assert "result_key" in problems(result)


def test_result_key_needs_a_bucket():
    event = {"operation": "process_liability_data", "portfolio": DEMO, "result_key": "runs/x"}
    result = lambda_handler(event, None)
    assert result["statusCode"] == 400
    assert "FIALLOC_RESULTS_BUCKET" in problems(result)["result_key"]


def stub_book(s3, directory, prefix):
    """Answer the listing of `prefix` with the files of `directory`, then each download."""
    files = sorted(p for p in directory.iterdir() if p.is_file())
    contents = [{"Key": prefix + p.name, "Size": p.stat().st_size} for p in files]
    s3.add_response(
        "list_objects_v2",
        {"Contents": contents, "IsTruncated": False},
        {"Bucket": "fialloc-results", "Prefix": prefix, "Delimiter": "/"},
    )
    return [p for p in files if p.name in aws.INPUT_FILES]


def test_portfolio_from_an_s3_data_root(s3, tmp_path, demo_dir):
    from botocore.response import StreamingBody

    shutil.copytree(demo_dir, tmp_path, dirs_exist_ok=True)  # what data.write_demo writes
    (tmp_path / "notes.txt").write_text("not an input: never downloaded")
    for path in stub_book(s3, tmp_path, "inputs/books/2026-09/"):
        content = path.read_bytes()
        s3.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(content), len(content))},
            {"Bucket": "fialloc-results", "Key": f"inputs/books/2026-09/{path.name}"},
        )
    event = {
        "operation": "process_liability_data",
        "portfolio": {"source": "location", "location": "books/2026-09"},
    }
    result = lambda_handler(event, None)
    assert result["statusCode"] == 200
    demo = lambda_handler({"operation": "process_liability_data", "portfolio": DEMO}, None)
    assert result["body"]["analytics"] == pytest.approx(demo["body"]["analytics"], rel=1e-12)


def test_s3_data_location_over_the_size_limit_is_413(s3, tmp_path, monkeypatch, demo_dir):
    shutil.copytree(demo_dir, tmp_path, dirs_exist_ok=True)  # what data.write_demo writes
    settings = dataclasses.replace(handler_module.SETTINGS, max_input_bytes=1000)
    monkeypatch.setattr(handler_module, "SETTINGS", settings)
    stub_book(s3, tmp_path, "inputs/big/")
    event = {
        "operation": "process_liability_data",
        "portfolio": {"source": "location", "location": "big"},
    }
    result = lambda_handler(event, None)
    assert result["statusCode"] == 413
    assert "limit of 1,000" in problems(result)["portfolio.location"]


@pytest.mark.parametrize("location", ["../secrets", "books/../../x", ".hidden", "a//b"])
def test_s3_data_location_must_be_a_key_path(s3, location):
    event = {
        "operation": "process_liability_data",
        "portfolio": {"source": "location", "location": location},
    }
    result = lambda_handler(event, None)
    assert result["statusCode"] == 400
    assert "not a key path" in problems(result)["portfolio.location"]
