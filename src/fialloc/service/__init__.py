"""The service entrypoints: the Bedrock AgentCore app and the AWS Lambda handler.

:data:`app` serves ``GET /ping`` and ``POST /invocations`` (run it with :func:`serve` or
``fialloc serve``); :func:`lambda_handler` answers the Step Functions workflow's operations.
Requests follow the schema in :mod:`fialloc.service.requests`.
"""

from __future__ import annotations

from fialloc.service.app import app, build_app, serve
from fialloc.service.lambda_handler import lambda_handler
from fialloc.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "app", "build_app", "lambda_handler", "serve"]
