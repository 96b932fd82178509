"""The policy's JSON Schema (`cekura-gate schema`) and its agreement with the loader.

The schema is what editors check a policy against, so it must accept every policy the gate
accepts and reject every policy the gate rejects, except for what a schema cannot say; those
cases live in ``tests/data/policies/invalid-loader-only`` (see ``test_policy.py``).
"""

import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.commands import schema_text
from gate.errors import PolicyError
from gate.policy import LEGACY_PRIORITIES, MODERN_PRIORITIES, RULE_NAMES, Level
from gate.yamlload import load_yaml
from tests.conftest import EXAMPLES, policy_from, run_cli
from tests.test_policy import INVALID, LOADER_ONLY, VALID, cases, documents

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA: dict[str, Any] = json.loads(schema_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
RULE_SCHEMAS = SCHEMA["properties"]["rules"]["properties"]


def schema_errors(text: str) -> list[str]:
    """What the schema says about a policy, read with YAML 1.2 scalars as editors read it."""
    return [error.message for error in VALIDATOR.iter_errors(load_yaml(text))]


# --------------------------------------------------------------------------- cekura-gate schema


def test_schema_command_prints_a_draft_2020_12_schema():
    result = run_cli("schema")
    assert (result.code, result.stderr) == (0, "")
    printed = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed["$schema"] == DRAFT_2020_12


def test_schema_command_prints_the_schema_the_tests_check():
    assert json.loads(run_cli("schema").stdout) == SCHEMA


# --------------------------------------------------------------------------- agreement on files


@pytest.mark.parametrize(
    "path", [*cases(VALID), pytest.param(EXAMPLES / "gate.yaml", id="examples/gate")]
)
def test_valid_policy_matches_schema_and_loader(path):
    text = path.read_text(encoding="utf-8")
    assert schema_errors(text) == []
    assert policy_from(text).version == 1


@pytest.mark.parametrize("path", cases(INVALID, ("loader-xfail", "schema-xfail")))
def test_invalid_policy_is_rejected_by_loader_and_schema(path):
    text = path.read_text(encoding="utf-8")
    with pytest.raises(PolicyError):
        policy_from(text)
    assert schema_errors(text) != []


@pytest.mark.parametrize("path", cases(LOADER_ONLY))
def test_loader_only_case_is_beyond_the_schema(path):
    """A case the schema does reject belongs in ``invalid/``, where both must reject it."""
    text = path.read_text(encoding="utf-8")
    try:
        data = load_yaml(text)
    except yaml.YAMLError:
        return  # not YAML at all: nothing for a schema to look at
    assert VALIDATOR.is_valid(data)


# --------------------------------------------------------------------------- same vocabulary


def test_schema_names_the_loaders_rules():
    assert list(RULE_SCHEMAS) == list(RULE_NAMES)


def test_schema_names_the_loaders_levels():
    assert SCHEMA["$defs"]["level"]["enum"] == [level.value for level in Level]


def test_schema_names_the_loaders_priorities():
    vocabularies = RULE_SCHEMAS["critical_categories"]["properties"]["max"]["oneOf"]
    keys = [tuple(vocabulary["properties"]) for vocabulary in vocabularies]
    assert keys == [MODERN_PRIORITIES, LEGACY_PRIORITIES]


# --------------------------------------------------------------------------- agreement on data

NOT_NULL = st.one_of(
    st.booleans(),
    st.integers(-3, 2000),
    st.floats(allow_nan=False),
    st.sampled_from(["", " ", "90s", "0s", "1h30m", "fast", "warn", "off", "error"]),
    st.sampled_from(["critical", "high", "not_a_bug", "Latency", "min", "max"]),
)
DURATION_TEXT = st.one_of(
    st.text(alphabet="0123456789.hmsHMS \t", max_size=10),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", "0h", "1h", "12H"]),
        st.sampled_from(["", "0m", "5m", "90M"]),
        st.sampled_from(["", "0s", "1s", "2.5s", "10S"]),
    ),
)
HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def loader_accepts(text: str) -> bool:
    try:
        policy_from(text)
    except PolicyError:
        return False
    return True


@HYPOTHESIS
@given(documents(NOT_NULL))
def test_schema_accepts_what_the_loader_accepts(document):
    text = yaml.safe_dump(document)
    if loader_accepts(text):
        assert schema_errors(text) == []


@HYPOTHESIS
@given(st.one_of(DURATION_TEXT, st.integers(-5, 10**6), st.floats(allow_nan=False)))
def test_schema_accepts_every_duration_the_loader_accepts(duration):
    text = yaml.safe_dump(
        {"version": 1, "wait": {"timeout": duration}, "rules": {"runs": {"min_total": 1}}}
    )
    if loader_accepts(text):
        assert schema_errors(text) == []
