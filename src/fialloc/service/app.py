"""The Bedrock AgentCore app: ``GET /ping`` and ``POST /invocations`` for every engine.

One entrypoint routes on the request's ``entrypoint`` field: ``allocation`` (the
multi-manager allocation engine), ``scenario_allocation`` (its scenario-based variant) and
``agent`` (one specialist agent, named by ``agent``). Request bodies over the size limit are
refused with 413 before they are parsed; invalid requests get 400 with every problem by
field path; a run over the time limit gets 504 and a busy service 503. A body that is not
JSON at all gets AgentCore's own 400 (``{"error": "Invalid JSON", "details": ...}``).
"""

from __future__ import annotations

import json
from typing import Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fialloc.service.engine import respond
from fialloc.service.requests import APP_REQUESTS
from fialloc.service.runner import Runner
from fialloc.service.settings import ServiceSettings

__all__ = ["BodyLimit", "app", "build_app", "serve"]


class BodyLimit:
    """ASGI middleware refusing (413) request bodies over `max_bytes` before anything parses them.

    The body is read as it streams in, so a missing or false ``Content-Length`` does not get
    past the limit; at most `max_bytes` are kept in memory. The rest of an oversized body is
    read and dropped, up to :attr:`DRAIN` times the limit, so that a client that is still
    sending receives the 413 rather than a reset connection; beyond that (or when the
    declared length is beyond that) the connection is answered and closed at once.
    """

    #: How many times the limit an oversized body is read (and dropped) before answering.
    DRAIN = 5

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body read, or answer 413 if the body is too large."""
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        drain = self.DRAIN * self.max_bytes
        if declared is not None and not declared.isdigit():
            await self._refuse(scope, receive, send, f"unknown ({declared!r} declared)")
            return
        if declared is not None and int(declared) > drain:
            await self._refuse(scope, receive, send, f"{int(declared):,}")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.max_bytes:
                chunks.append(chunk)
            elif size > drain:
                break
            more = message.get("more_body", False)
        if size > self.max_bytes:
            await self._refuse(scope, receive, send, f"{size:,}" + ("+" if more else ""))
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        problem = f"a body of {size} bytes is over this service's limit of {self.max_bytes:,}"
        response = JSONResponse(
            {"error": "request too large", "problems": [{"path": "", "problem": problem}]},
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


async def _too_deep(request: Request, exc: Exception) -> Response:
    # The app parses the body before any handler of ours runs; JSON nested deeper than
    # Python's recursion limit surfaces here rather than as its "Invalid JSON" answer.
    problem = {"path": "", "problem": f"JSON nested too deeply to parse ({exc})"}
    return _json(400, {"error": "invalid request", "problems": [problem]})


def _json(status: int, body: dict[str, Any]) -> Response:
    # allow_nan=False: a non-finite number must never reach a client as invalid JSON.
    text = json.dumps(body, allow_nan=False, separators=(",", ":"))
    return Response(text, status_code=status, media_type="application/json")


def build_app(settings: ServiceSettings | None = None) -> BedrockAgentCoreApp:
    """Build the AgentCore app with its limits.

    Parameters
    ----------
    settings : ServiceSettings, optional
        Limits, time limit and data root; read from the environment when left out (see
        :meth:`ServiceSettings.from_env`).

    Returns
    -------
    BedrockAgentCoreApp
        A Starlette app serving ``GET /ping`` and ``POST /invocations``.
    """
    config = ServiceSettings.from_env() if settings is None else settings
    runner = Runner(config.max_concurrent, config.time_limit, config.queue_size, config.queue_wait)
    agentcore = BedrockAgentCoreApp(
        middleware=[Middleware(BodyLimit, max_bytes=config.max_body_bytes)]
    )

    @agentcore.entrypoint
    def invoke(payload: Any) -> Response:
        status, body = respond(payload, APP_REQUESTS, "entrypoint", config, runner)
        try:
            response = _json(status, body)
            if "retry_after" in body:
                response.headers["Retry-After"] = str(body["retry_after"])
            return response
        except ValueError as exc:  # a non-finite number in a result is a bug, reported as one
            msg = f"internal error: the result is not valid JSON: {exc}"
            return _json(500, {"error": msg, "problems": []})

    agentcore.add_exception_handler(RecursionError, _too_deep)
    agentcore.state.settings = config
    agentcore.state.runner = runner
    return agentcore


#: The service app, with its settings from the environment.
app = build_app()


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve :data:`app` with uvicorn until interrupted.

    Parameters
    ----------
    host : str
        Interface to listen on; loopback by default (``0.0.0.0`` inside a container).
    port : int
        TCP port; AgentCore expects 8080.
    """
    if not host or not 0 < port < 65536:
        msg = f"serve: need a host and a port in 1..65535, got {host!r} and {port}"
        raise ValueError(msg)
    app.run(port=port, host=host)
