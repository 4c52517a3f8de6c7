"""Which language model writes the agents' analyses: a setting, offline by default.

``offline`` is the deterministic analyst of :mod:`fialloc.agents.offline` (no network, no
model weights). The other providers are strands-agents model classes, each behind an optional
extra of fialloc (``pip install fialloc[anthropic]``...) and imported only when chosen, so a
missing extra is an error of that run (which then falls back to the offline analyst), never of
``import fialloc``.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from strands.models import Model

__all__ = ["PROVIDERS", "ModelConfig", "make_model"]

Provider = Literal["offline", "bedrock", "anthropic", "openai", "ollama", "litellm", "llamacpp"]

#: Every provider :class:`ModelConfig` accepts.
PROVIDERS: tuple[str, ...] = (
    "offline",
    "bedrock",
    "anthropic",
    "openai",
    "ollama",
    "litellm",
    "llamacpp",
)

#: Where a provider's server listens when no ``base_url`` is given (servers run locally).
_DEFAULT_URLS = {"ollama": "http://127.0.0.1:11434", "llamacpp": "http://127.0.0.1:8080"}


class ModelConfig(BaseModel):
    """The model the agents use.

    Attributes
    ----------
    provider : str
        ``offline`` (default), ``bedrock``, ``anthropic``, ``openai`` (any OpenAI-compatible
        server, with ``base_url``), ``ollama``, ``litellm`` or ``llamacpp``.
    model_id : str, optional
        The provider's model name (a Bedrock model id, ``llama3.1``...).
    base_url : str, optional
        Server address for ``openai``, ``ollama``, ``litellm`` and ``llamacpp``.
    temperature : float
        Sampling temperature, 0 to 2 (0: the most repeatable answers).
    max_tokens : int
        Most tokens one model reply may have.
    region : str, optional
        AWS region for ``bedrock``.
    api_key_env : str, optional
        Name of the environment variable holding the provider's API key (keys are never part
        of the configuration itself).
    timeout : float
        Seconds to wait for a local server (``llamacpp``) before the request fails.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider = "offline"
    model_id: str | None = None
    base_url: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=2048, ge=1, le=200_000)
    region: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(default=60.0, gt=0.0, le=3600.0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            msg = f"base_url must start with http:// or https://, got {value!r}"
            raise ValueError(msg)
        return value

    @classmethod
    def parse(cls, text: str) -> ModelConfig:
        """Read ``provider[:model_id][@base_url]`` (the CLI's ``--model``).

        Examples: ``offline``, ``bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0``,
        ``ollama:llama3.1@http://127.0.0.1:11434``, ``openai:gpt-4o-mini``,
        ``llamacpp@http://127.0.0.1:8080``.

        Raises
        ------
        ValueError
            If the provider is unknown or the address is not an http(s) URL.
        """
        if not isinstance(text, str) or not text.strip():
            msg = f"ModelConfig.parse: expected 'provider[:model][@url]', got {text!r}"
            raise ValueError(msg)
        spec, url = text.strip(), None
        head, at, tail = spec.rpartition("@")
        if at and "://" in tail:
            spec, url = head, tail
        provider, _, model_id = spec.partition(":")
        provider = provider.strip().lower()
        if provider not in PROVIDERS:
            msg = f"ModelConfig.parse: unknown provider {provider!r} in {text!r}; use {PROVIDERS}"
            raise ValueError(msg)
        try:
            return cls.model_validate(
                {"provider": provider, "model_id": model_id.strip() or None, "base_url": url}
            )
        except ValueError as exc:
            msg = f"ModelConfig.parse: {text!r}: {exc}"
            raise ValueError(msg) from exc

    @property
    def label(self) -> str:
        """What wrote an analysis: ``offline`` or ``provider:model_id``."""
        if self.provider == "offline":
            return "offline"
        return f"{self.provider}:{self.model_id or 'default'}"


def _api_key(config: ModelConfig) -> dict[str, str]:
    if config.api_key_env is None:
        return {}
    key = os.environ.get(config.api_key_env)
    if not key:
        msg = f"environment variable {config.api_key_env} (the API key) is not set"
        raise ValueError(msg)
    return {"api_key": key}


def make_model(config: ModelConfig) -> Model:
    """Build the strands model a provider configuration names (``offline`` excluded).

    The provider's module is imported here, so a missing extra raises ``ImportError`` naming
    the extra to install. Construction makes no network call except Bedrock's credential
    lookup.

    Raises
    ------
    ValueError
        For ``offline`` (the offline analyst is built per desk, see
        :class:`fialloc.agents.offline.OfflineAnalyst`) or a missing model id.
    ImportError
        If the provider's optional dependency is not installed.
    """
    p = config.provider
    if p == "offline":
        msg = "make_model: the offline analyst is built per desk, not by make_model"
        raise ValueError(msg)
    if config.model_id is None and p not in ("bedrock", "llamacpp"):
        msg = f"make_model: provider {p!r} needs a model id ('{p}:<model>')"
        raise ValueError(msg)
    params: dict[str, Any] = {"temperature": config.temperature, "max_tokens": config.max_tokens}
    client: dict[str, Any] = _api_key(config)
    if config.base_url:
        client["api_base" if p == "litellm" else "base_url"] = config.base_url
    try:
        if p == "bedrock":
            from strands.models.bedrock import BedrockModel

            if config.model_id is None:  # strands' default Bedrock model
                return BedrockModel(region_name=config.region, **params)
            return BedrockModel(region_name=config.region, model_id=config.model_id, **params)
        if p == "anthropic":
            from strands.models.anthropic import AnthropicModel

            return AnthropicModel(
                client_args=client,
                model_id=str(config.model_id),
                max_tokens=config.max_tokens,
                params={"temperature": config.temperature},
            )
        if p == "openai":
            from strands.models.openai import OpenAIModel

            return OpenAIModel(client_args=client, model_id=str(config.model_id), params=params)
        if p == "ollama":
            from strands.models.ollama import OllamaModel

            host = config.base_url or _DEFAULT_URLS["ollama"]
            return OllamaModel(host, model_id=str(config.model_id), **params)
        if p == "litellm":
            # litellm fetches its price list from the internet on import unless told not to.
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            from strands.models.litellm import LiteLLMModel

            return LiteLLMModel(client_args=client, model_id=str(config.model_id), params=params)
        from strands.models.llamacpp import LlamaCppModel

        return LlamaCppModel(
            base_url=config.base_url or _DEFAULT_URLS["llamacpp"],
            timeout=config.timeout,
            model_id=config.model_id or "default",
            params=params,
        )
    except ModuleNotFoundError as exc:
        msg = f"provider {p!r} needs its extra: pip install 'fialloc[{p}]' ({exc})"
        raise ImportError(msg) from exc
