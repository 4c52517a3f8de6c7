"""The CloudFormation template in deploy/: cfn-lint passes, and it matches the service's code."""

import importlib
import re
from pathlib import Path

import pytest
import yaml

from fialloc.service.requests import LAMBDA_REQUESTS, LiabilityRequest
from fialloc.service.settings import ServiceSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATE = DEPLOY / "fialloc.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that reads CloudFormation's short tags (!Ref, !Sub...) as plain values."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        suffix: (
            loader.construct_scalar(node)
            if isinstance(node, yaml.ScalarNode)
            else loader.construct_sequence(node)
            if isinstance(node, yaml.SequenceNode)
            else loader.construct_mapping(node)
        )
    },
)


@pytest.fixture(scope="module")
def template():
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)


def test_cfn_lint_passes():
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")
    matches = api.lint_file(TEMPLATE)
    assert [str(m) for m in matches] == []


def test_cfn_lint_catches_a_broken_template(tmp_path):
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")
    broken = tmp_path / "broken.yaml"
    text = TEMPLATE.read_text().replace("AllocationFunction.Arn", "NoSuchFunction.Arn")
    broken.write_text(text)
    assert api.lint_file(broken)


def _states(definition):
    for name, state in definition["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"])


def test_workflow_calls_each_lambda_operation(template):
    definition = template["Resources"]["AllocationWorkflow"]["Properties"]["Definition"]
    operations = set()
    for _, state in _states(definition):
        payload = state.get("Parameters", {}).get("Payload", {})
        selector = state.get("ItemSelector", {})
        for source in (payload, selector):
            if "operation" in source:
                operations.add(source["operation"])
    assert operations == set(LAMBDA_REQUESTS)
    # The Map runs one analysis per manager, before the allocation.
    first = definition["States"][definition["StartAt"]]
    assert first["Type"] == "Map"
    assert first["ItemSelector"]["operation"] == "analyze_manager_portfolio"


def test_workflow_result_keys_are_valid(template):
    definition = template["Resources"]["AllocationWorkflow"]["Properties"]["Definition"]
    formats = []
    for _, state in _states(definition):
        for source in (
            state.get("ItemSelector", {}),
            state.get("Parameters", {}).get("Payload", {}),
        ):
            if "result_key.$" in source:
                formats.append(source["result_key.$"])
    assert len(formats) == 4
    for text in formats:
        quoted = re.search(r"'(.*)'", text)
        assert quoted is not None
        example = quoted.group(1).replace("{}", "run-42")
        LiabilityRequest(portfolio={"source": "demo"}, result_key=example)


def test_environment_names_service_settings(template):
    fields = {f"FIALLOC_{name.upper()}" for name in ServiceSettings.__dataclass_fields__}
    resources = template["Resources"]
    lambda_env = resources["AllocationFunction"]["Properties"]["Environment"]["Variables"]
    container = resources["ServiceTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    service_env = {e["Name"] for e in container["Environment"]}
    for names in (set(lambda_env), service_env):
        assert {n for n in names if n.startswith("FIALLOC_")} <= fields
    assert lambda_env["FIALLOC_RESULTS_BUCKET"] == {"Ref": "ResultsBucket"}
    assert container["PortMappings"][0]["ContainerPort"] == 8080


def test_dockerfile_runs_the_service_and_the_handler():
    text = (DEPLOY / "Dockerfile").read_text()
    assert 'CMD ["fialloc", "serve", "--host", "0.0.0.0", "--port", "8080"]' in text
    cmd = re.search(r'CMD \["(fialloc\.service\.lambda_handler\.\w+)"\]', text)
    assert cmd is not None
    handler = cmd.group(1)
    module, _, name = handler.rpartition(".")
    # As Lambda's runtime resolves it: import the module, then take the attribute.
    assert callable(getattr(importlib.import_module(module), name))
