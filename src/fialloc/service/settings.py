"""The service's limits and settings, and the checks of a request against them.

Every limit can be set from the environment (``FIALLOC_MAX_BODY_BYTES``, ``FIALLOC_MAX_PATHS``,
...; see :meth:`ServiceSettings.from_env`) so a deployment sizes them to its machines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from fialloc.service.requests import (
    AgentParameters,
    InlineSource,
    MandateParameters,
    RequestError,
    RequestProblem,
    RunParameters,
)

__all__ = ["ServiceSettings", "check_portfolio_size", "check_request"]


@dataclass(frozen=True)
class ServiceSettings:
    """Limits and settings of one service instance.

    Attributes
    ----------
    max_body_bytes : int
        Largest request body (bytes); a larger one is refused (413) before it is parsed.
    max_paths : int
        Most G2++ paths one request may ask for.
    max_rows : int
        Most rows in any one inline table.
    max_securities, max_managers : int
        Most securities and managers in one portfolio (however it was sent).
    time_limit : float
        Seconds a request may run before the service answers 504 (the app only; Lambda has
        its own timeout).
    max_concurrent : int
        Requests computed at once.
    queue_size : int
        Requests that may wait for a worker (the app only); more get 503 with Retry-After.
    queue_wait : float
        Seconds a request may wait for a worker before a 503 with Retry-After (the app only).
    data_root : str or None
        Where ``{"source": "location"}`` portfolios are read under: a local directory or an
        ``s3://bucket/prefix`` URI; None refuses them.
    max_input_bytes : int
        Most bytes of input files one request may have downloaded from an S3 data root.
    model_providers : tuple of str
        Model providers a request may name (``"offline"``, ``"bedrock"``, ...): a request
        must not point the service at arbitrary hosts unless the deployment allows it.
    results_bucket : str or None
        S3 bucket the Lambda handler stores results in when an event gives a ``result_key``.
    default_model : str or None
        Model setting for requests that name none (e.g. ``"bedrock:<model-id>"``); None
        runs the offline analyst.
    """

    max_body_bytes: int = 10 * 2**20
    max_paths: int = 20_000
    max_rows: int = 200_000
    max_securities: int = 20_000
    max_managers: int = 500
    time_limit: float = 600.0
    max_concurrent: int = 2
    queue_size: int = 32
    queue_wait: float = 300.0
    data_root: str | None = None
    max_input_bytes: int = 256 * 2**20
    model_providers: tuple[str, ...] = ("offline", "bedrock")
    results_bucket: str | None = None
    default_model: str | None = None

    def __post_init__(self) -> None:
        numbers = {f.name: getattr(self, f.name) for f in fields(self)}
        # A queue may be turned off (0); every other limit must be positive.
        bad = [
            name
            for name, value in numbers.items()
            if isinstance(value, (int, float))
            and not (value > 0 or (name.startswith("queue_") and value == 0))
        ]
        if bad:
            msg = f"ServiceSettings: {', '.join(bad)} must be positive"
            raise ValueError(msg)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read the settings from ``FIALLOC_<FIELD>`` variables (e.g. ``FIALLOC_MAX_PATHS``).

        ``FIALLOC_MODEL_PROVIDERS`` is a comma-separated list; unset variables keep the
        defaults.

        Raises
        ------
        ValueError
            Naming the variable whose value is not a positive number.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f"FIALLOC_{f.name.upper()}"
            text = env.get(name)
            if text is None:
                continue
            if f.name in ("data_root", "results_bucket", "default_model"):
                values[f.name] = text
            elif f.name == "model_providers":
                values[f.name] = tuple(p.strip() for p in text.split(",") if p.strip())
            else:
                kind = float if f.name in ("time_limit", "queue_wait") else int
                try:
                    values[f.name] = kind(text)
                except ValueError:
                    msg = f"{name} must be a number, got {text!r}"
                    raise ValueError(msg) from None
        return cls(**values)  # type: ignore[arg-type]  # each value was converted per field


def check_request(
    portfolio: object, parameters: MandateParameters, settings: ServiceSettings
) -> None:
    """Refuse a request whose size or model the service does not take.

    Parameters
    ----------
    portfolio : object
        The request's portfolio source; inline tables are counted here, before any parsing.
    parameters : MandateParameters
        The request's parameters (paths and model are checked where there are any).
    settings : ServiceSettings
        The limits.

    Raises
    ------
    RequestError
        413 listing every limit exceeded; 400 if the model's provider is not enabled.
    """
    over: list[RequestProblem] = []
    if isinstance(parameters, RunParameters) and parameters.n_paths > settings.max_paths:
        over.append(
            RequestProblem(
                "parameters.n_paths",
                f"{parameters.n_paths:,} paths is over this service's limit of "
                f"{settings.max_paths:,}",
            )
        )
    if isinstance(portfolio, InlineSource):
        for name, rows in portfolio.tables.items():
            limit = {"securities": settings.max_securities, "managers": settings.max_managers}
            cap = min(settings.max_rows, limit.get(name, settings.max_rows))
            if len(rows) > cap:
                over.append(
                    RequestProblem(
                        f"portfolio.tables.{name}",
                        f"{len(rows):,} rows is over this service's limit of {cap:,}",
                    )
                )
    if over:
        raise RequestError(413, "request too large", over)
    if isinstance(parameters, AgentParameters) and parameters.model is not None:
        from fialloc.agents import ModelConfig

        provider = ModelConfig.parse(parameters.model).provider
        if provider not in settings.model_providers:
            problem = RequestProblem(
                "parameters.model",
                f"provider {provider!r} is not enabled on this service; enabled: "
                f"{', '.join(settings.model_providers)}",
            )
            raise RequestError(400, "invalid request", [problem])


def check_portfolio_size(securities: int, managers: int, settings: ServiceSettings) -> None:
    """Refuse (413) a loaded portfolio with more securities or managers than allowed."""
    over = [
        RequestProblem("portfolio", f"{count:,} {what} is over this service's limit of {cap:,}")
        for count, cap, what in (
            (securities, settings.max_securities, "securities"),
            (managers, settings.max_managers, "managers"),
        )
        if count > cap
    ]
    if over:
        raise RequestError(413, "request too large", over)
