"""Model setting: parsing, the provider factory (lazy imports, no network)."""

import pytest
from strands.models import Model

from fialloc.agents import ModelConfig
from fialloc.agents.models import make_model


@pytest.mark.parametrize(
    ("text", "provider", "model_id", "url"),
    [
        ("offline", "offline", None, None),
        (
            "bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0",
            "bedrock",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            None,
        ),
        ("ollama:llama3.1@http://127.0.0.1:11434", "ollama", "llama3.1", "http://127.0.0.1:11434"),
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini", None),
        ("llamacpp@http://127.0.0.1:8080", "llamacpp", None, "http://127.0.0.1:8080"),
        (" LiteLLM:openai/gpt-4o ", "litellm", "openai/gpt-4o", None),
    ],
)
def test_parse_reads_provider_model_and_address(text, provider, model_id, url):
    config = ModelConfig.parse(text)
    assert (config.provider, config.model_id, config.base_url) == (provider, model_id, url)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "expected 'provider"),
        ("gpt4", "unknown provider 'gpt4'"),
        ("ollama:llama3@ftp://host", "unknown provider|base_url"),
    ],
)
def test_parse_refuses_bad_text(text, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig.parse(text)


def test_config_is_validated():
    with pytest.raises(ValueError, match="temperature"):
        ModelConfig(provider="ollama", model_id="x", temperature=5.0)
    with pytest.raises(ValueError, match="base_url"):
        ModelConfig(provider="ollama", model_id="x", base_url="127.0.0.1:11434")
    with pytest.raises(ValueError, match="provider"):
        ModelConfig(provider="gpt")  # type: ignore[arg-type]


def test_labels_say_what_wrote_an_analysis():
    assert ModelConfig().label == "offline"
    assert ModelConfig.parse("ollama:llama3.1").label == "ollama:llama3.1"
    assert ModelConfig.parse("llamacpp").label == "llamacpp:default"


def test_factory_builds_strands_models_without_network():
    model = make_model(ModelConfig.parse("llamacpp:qwen@http://127.0.0.1:9"))
    assert isinstance(model, Model)
    assert model.get_config()["model_id"] == "qwen"
    bedrock = make_model(ModelConfig(provider="bedrock", model_id="m-1", region="eu-west-1"))
    assert bedrock.get_config()["model_id"] == "m-1"


def test_factory_refuses_offline_and_missing_ids():
    with pytest.raises(ValueError, match="offline analyst"):
        make_model(ModelConfig())
    with pytest.raises(ValueError, match="needs a model id"):
        make_model(ModelConfig(provider="ollama"))


def test_missing_api_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("FIALLOC_TEST_KEY", raising=False)
    with pytest.raises(ValueError, match="FIALLOC_TEST_KEY"):
        make_model(ModelConfig(provider="openai", model_id="m", api_key_env="FIALLOC_TEST_KEY"))
