"""The AgentCore app: in process (Starlette TestClient) and as a real server on loopback."""

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn
from fake_agents import install
from starlette.testclient import TestClient

import fialloc.service
from fialloc.cli import main
from fialloc.service import ServiceSettings, build_app

ALLOCATION = {
    "entrypoint": "allocation",
    "portfolio": {"source": "demo"},
    "parameters": {"n_paths": 20, "horizons": 3},
}
MALFORMED = {
    "entrypoint": "allocation",
    "portfolio": {"source": "demo", "seed": "seven"},
    "parameters": {"n_paths": 10, "phases": 0, "extra": True},
}
MALFORMED_PATHS = {"portfolio.seed", "parameters.n_paths", "parameters.phases", "parameters.extra"}
LIMIT = 4096  # bytes; the oversized request is a valid one padded past it
OVERSIZED = {**ALLOCATION, "portfolio": {"source": "demo", "pad": "x" * LIMIT}}
SETTINGS = ServiceSettings(max_body_bytes=LIMIT)


@pytest.fixture
def agents(monkeypatch):
    return install(monkeypatch)


@pytest.fixture
def client(agents):
    with TestClient(build_app(SETTINGS)) as c:
        yield c


def check_allocation(status, body):
    assert status == 200
    strategy = body["integrated_strategy"]
    assert strategy["assets"] == pytest.approx(40e9, rel=0.01)
    assert len(body["allocation_recommendations"]) == 27
    weights = [r["recommended_weight"] for r in body["allocation_recommendations"]]
    # The weights and the overlay's STRIPS (bought with cash) add up to the assets.
    strips = strategy.get("overlay_strips", 0.0) / strategy["assets"]
    assert sum(weights) + strips == pytest.approx(1.0, abs=1e-6)
    assert body["implementation_plan"]["phases"]
    assert {"duration", "credit", "curve", "liquidity"} <= set(body["detailed_results"])
    assert body["detailed_results"]["parameters"]["n_paths"] == 20


def check_malformed(status, body):
    assert status == 400
    assert {p["path"] for p in body["problems"]} == MALFORMED_PATHS


def check_oversized(status, body):
    assert status == 413
    assert body["error"] == "request too large"
    assert f"limit of {LIMIT:,}" in body["problems"][0]["problem"]


def test_ping(client):
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.json()["status"] == "Healthy"


def test_allocation_in_process(client):
    response = client.post("/invocations", json=ALLOCATION)
    assert response.headers["content-type"] == "application/json"
    check_allocation(response.status_code, response.json())


def test_single_agent_in_process(client, agents):
    request = {"entrypoint": "agent", "agent": "credit", "portfolio": {"source": "demo"}}
    response = client.post("/invocations", json=request)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "credit"
    assert any(f["subject"] == "M06" for f in body["desk"]["findings"])
    assert agents[1] == [("run_agent", {"name": "credit", "model": None})]


def test_malformed_in_process(client, agents):
    response = client.post("/invocations", json=MALFORMED)
    check_malformed(response.status_code, response.json())
    assert agents[1] == []


def test_not_json_in_process(client):
    response = client.post("/invocations", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON"


def test_deeply_nested_json_in_process(client, agents):
    response = client.post("/invocations", content=b"[" * 2000 + b"]" * 2000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["problems"][0]["problem"]
    assert client.get("/ping").status_code == 200


def test_oversized_in_process(client, agents):
    response = client.post("/invocations", json=OVERSIZED)
    check_oversized(response.status_code, response.json())
    # Streamed without a Content-Length, the body is counted as it arrives.
    chunks = (b"x" * 1000 for _ in range(10))
    response = client.post("/invocations", content=chunks)
    check_oversized(response.status_code, response.json())
    assert "10,000 bytes" in response.json()["problems"][0]["problem"]
    # Far over the limit: refused on its declared length without reading the body.
    response = client.post("/invocations", content=b"x" * (50 * LIMIT))
    check_oversized(response.status_code, response.json())
    assert f"{50 * LIMIT:,} bytes" in response.json()["problems"][0]["problem"]
    assert agents[1] == []


def test_slow_run_gets_504_and_the_server_stays_responsive(agents, monkeypatch):
    module, _ = agents
    release = threading.Event()

    def stuck(portfolio, **kwargs):
        release.wait(10)

    monkeypatch.setattr(module, "run_workflow", stuck)
    settings = ServiceSettings(time_limit=0.3, max_concurrent=1, queue_wait=0.2)
    with TestClient(build_app(settings)) as c:
        response = c.post("/invocations", json=ALLOCATION)
        assert response.status_code == 504
        assert "time limit of 0.3 s" in response.json()["error"]
        # The stuck run holds the only slot: the next request waits its 0.2 s in the queue
        # and is turned away with a retry delay; ping answers.
        busy = c.post("/invocations", json=ALLOCATION)
        assert busy.status_code == 503
        assert int(busy.headers["retry-after"]) >= 1
        assert c.get("/ping").status_code == 200
        release.set()


def test_body_at_the_limit_passes():
    request = json.dumps({**ALLOCATION, "entrypoint": "none"}).encode()
    padded = request[:-1] + b" " * (LIMIT - len(request)) + b"}"
    assert len(padded) == LIMIT
    with TestClient(build_app(SETTINGS)) as c:
        response = c.post("/invocations", content=padded)
    assert response.status_code == 400
    assert response.json()["problems"][0]["path"] == "entrypoint"


def test_module_app_has_the_default_limits():
    settings = fialloc.service.app.state.settings
    assert settings.max_body_bytes == 10 * 2**20
    assert fialloc.service.app.state.runner.time_limit == settings.time_limit


def test_serve_refuses_bad_addresses():
    with pytest.raises(ValueError, match=r"port in 1\.\.65535"):
        fialloc.service.serve("127.0.0.1", 0)
    with pytest.raises(ValueError, match="need a host"):
        fialloc.service.serve("", 8080)


def test_cli_serve_calls_the_service(monkeypatch):
    calls = []
    monkeypatch.setattr(fialloc.service, "serve", lambda host, port: calls.append((host, port)))
    assert main(["serve"]) == 0
    assert main(["serve", "--host", "0.0.0.0", "--port", "9001"]) == 0
    assert calls == [("127.0.0.1", 8080), ("0.0.0.0", 9001)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(agents):
    """The app served by uvicorn on a free loopback port, in a thread; stopped afterwards."""
    port = free_port()
    config = uvicorn.Config(build_app(SETTINGS), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert thread.is_alive(), "server did not start"
        assert time.monotonic() < deadline, "server did not start in time"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


def http(method, url, body=None):
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_real_server_on_loopback(server):
    status, body = http("GET", f"{server}/ping")
    assert status == 200
    assert body["status"] == "Healthy"
    check_allocation(*http("POST", f"{server}/invocations", ALLOCATION))
    check_malformed(*http("POST", f"{server}/invocations", MALFORMED))
    check_oversized(*http("POST", f"{server}/invocations", OVERSIZED))
    assert http("GET", f"{server}/ping")[0] == 200
