"""The AWS Lambda handler: the Step Functions workflow's operations, routed on ``operation``.

``analyze_manager_portfolio`` (one manager's analytics, run once per manager by the
workflow's Map state), ``process_liability_data`` (the liabilities' analytics and key-rate
gaps), ``multi_manager_allocation_engine`` and ``scenario_based_allocation_engine``. An event
is the request itself (a direct or Step Functions invocation) or an HTTP event whose ``body``
holds it (API Gateway, function URL). The answer is ``{"statusCode": ..., "body": ...}``:
the body is a JSON object for direct invocations, a JSON string for HTTP events. An event
with a ``result_key`` has its result stored as JSON at that key of the results bucket
(``FIALLOC_RESULTS_BUCKET``) and answers with where it is, since Step Functions passes at
most 256 KB between states.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fialloc.service import aws
from fialloc.service.engine import respond
from fialloc.service.requests import LAMBDA_REQUESTS
from fialloc.service.settings import ServiceSettings

__all__ = ["lambda_handler"]

#: The handler's limits, read once per Lambda container from its environment.
SETTINGS = ServiceSettings.from_env()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Handle one Lambda invocation.

    Parameters
    ----------
    event : dict
        The request (with its ``operation``), or an HTTP event carrying it as ``body``.
    context : object
        The Lambda context (unused: Lambda enforces its own timeout).

    Returns
    -------
    dict
        ``statusCode`` (200, or 400/413/422 for a refused request, 500 for a bug) and
        ``body`` (the result, or ``{"error", "problems"}`` listing every problem).
    """
    if not _is_http(event):
        key = event.get("result_key") if isinstance(event, dict) else None
        if key is not None and SETTINGS.results_bucket is None:
            problem = "this function stores no results (its FIALLOC_RESULTS_BUCKET is not set)"
            status, body = _refused(400, "invalid request", "result_key", problem)
        else:
            status, body = respond(event, LAMBDA_REQUESTS, "operation", SETTINGS)
            if status == 200 and key is not None:
                status, body = _store(body, str(key))
        return {"statusCode": status, "body": body}
    status, body = _http(event)
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def _is_http(event: Any) -> bool:
    return isinstance(event, dict) and ("requestContext" in event or "httpMethod" in event)


def _http(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        return _refused(400, "invalid request", "body", "expected the request as a JSON string")
    if len(raw) > SETTINGS.max_body_bytes:
        problem = f"a body of {len(raw):,} bytes is over this service's limit of "
        return _refused(413, "request too large", "", problem + f"{SETTINGS.max_body_bytes:,}")
    try:
        text = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw
        payload = json.loads(text)
    except (binascii.Error, ValueError, RecursionError) as exc:
        return _refused(400, "invalid request", "body", f"not valid JSON: {exc}")
    return respond(payload, LAMBDA_REQUESTS, "operation", SETTINGS)


def _store(body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    """Put a result in the results bucket; return the answer that says where it is."""
    text = json.dumps(body, separators=(",", ":")).encode()
    bucket = str(SETTINGS.results_bucket)
    try:
        aws.put_json(bucket, key, text)
    except Exception as exc:  # boto3's errors share no base class with the stdlib's
        return 500, {"error": f"could not store the result: {exc}", "problems": []}
    return 200, {"stored": f"s3://{bucket}/{key}", "bytes": len(text)}


def _refused(status: int, error: str, path: str, problem: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "problems": [{"path": path, "problem": problem}]}
