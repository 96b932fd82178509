"""The policy's JSON Schema (`cekura-gate schema`) and its agreement with the loader.

The schema is what editors check a policy against, so it must accept every policy the gate
accepts and reject every policy the gate rejects, except for what a schema cannot say; those
cases live in ``tests/data/policies/invalid-loader-only`` (see ``test_policy.py``).
"""

import dataclasses
import importlib.util
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.cli.schema import schema_text
from gate.errors import PolicyError
from gate.policy.contract import LEGACY_PRIORITIES, MODERN_PRIORITIES, RULE_NAMES, WAIVER_KEYS
from gate.policy.kinds import Choice, Kind
from gate.policy.model import RUN_KEYS, Level, Rules, RunSettings
from gate.policy.schema import schema_text as generated_schema_text
from gate.policy.yamlload import load_yaml
from tests.conftest import EXAMPLES, ROOT, policy_from, run_cli
from tests.unit.policy.test_load import INVALID, LOADER_ONLY, VALID, cases, documents

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA: dict[str, Any] = json.loads(schema_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
RULE_SCHEMAS = SCHEMA["properties"]["rules"]["properties"]
# A value of each kind that a run: key can take (a choice takes its last word).
RUN_SAMPLES: dict[str, Any] = {
    "Count": 3,
    "IdList": [1, 2],
    "Text": "nightly",
    "TextList": ["a"],
    "TextMap": {"Authorization": "Bearer abc"},
    "Section": {"infrastructure": 1, "max_calls": 10},  # run.rerun
}


def run_sample(kind: Kind) -> Any:
    return kind.values[-1] if isinstance(kind, Choice) else RUN_SAMPLES[type(kind).__name__]


def load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


policy_schema_script = load_script("policy_schema")


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


# --------------------------------------------------------------------------- one source


def test_shipped_schema_is_what_the_contract_generates():
    """``policy.schema.json`` is generated; after a change to the contract, run make schema."""
    assert schema_text() == generated_schema_text()


def test_schema_check_script_passes_on_the_shipped_schema(capsys):
    assert policy_schema_script.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_schema_check_script_names_a_stale_schema(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "policy.schema.json"
    stale.write_text(generated_schema_text().replace("Lowest", "Least"), encoding="utf-8")
    monkeypatch.setattr(policy_schema_script, "SHIPPED", stale)
    monkeypatch.setattr(policy_schema_script, "ROOT", tmp_path)
    assert policy_schema_script.main(["--check"]) == 1
    assert capsys.readouterr().err == "policy.schema.json is stale; run: make schema\n"
    assert policy_schema_script.main(["--write"]) == 0
    assert stale.read_text(encoding="utf-8") == generated_schema_text()


def test_rules_model_has_a_field_per_rule_the_contract_names():
    assert [field.name for field in dataclasses.fields(Rules)] == list(RULE_NAMES)


@pytest.mark.parametrize("spec", dataclasses.fields(RunSettings), ids=RUN_KEYS)
def test_every_run_key_takes_a_value_of_its_kind_in_loader_and_schema(spec):
    """The run: keys are RunSettings' fields; loader and schema both read the field's kind."""
    selector = {"project_id": 1} if spec.name == "folder_path" else {"tags": ["smoke"]}
    run = {**selector, spec.name: run_sample(spec.metadata["kind"])}
    text = yaml.safe_dump({"version": 1, "rules": {"runs": {"min_total": 1}}, "run": run})
    settings = policy_from(text).run
    assert settings is not None and getattr(settings, spec.name) not in (None, ())
    assert schema_errors(text) == []


# --------------------------------------------------------------------------- agreement on files


@pytest.mark.parametrize(
    "path",
    [
        *cases(VALID),
        pytest.param(EXAMPLES / "gate.yaml", id="examples/gate"),
        pytest.param(EXAMPLES / "regression.yaml", id="examples/regression"),
    ],
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


def test_schema_names_the_loaders_priorities_for_new_categories():
    forms = RULE_SCHEMAS["critical_categories"]["properties"]["no_new_categories"]["oneOf"]
    assert [form.get("items", form) for form in forms] == [{"$ref": "#/$defs/priority"}] * 2
    assert SCHEMA["$defs"]["priority"]["enum"] == [*MODERN_PRIORITIES, *LEGACY_PRIORITIES]


@pytest.mark.parametrize(
    "body",
    [
        *(RULE_SCHEMAS[name] for name in RULE_NAMES if name not in ("metrics", "scenarios")),
        RULE_SCHEMAS["metrics"]["items"],
        SCHEMA["$defs"]["scenario_rule"],
        SCHEMA["$defs"]["scenario_group"],
    ],
    ids=[
        *(name for name in RULE_NAMES if name not in ("metrics", "scenarios")),
        "metrics[]",
        "scenario_rule",
        "scenario_group",
    ],
)
def test_every_rule_body_takes_the_waiver_keys(body):
    assert set(WAIVER_KEYS) <= set(body["properties"])
    assert body["dependentSchemas"] == {"until": {"$ref": "#/$defs/waived"}}


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


# Baselines, waivers, relative bounds, metric kinds and scenario rules: arbitrary values for the
# right keys. Whatever the loader accepts the schema must accept, and whatever the schema accepts
# the loader may only reject for a reason a schema cannot state.
LOADER_ONLY_REASONS = re.compile(
    r"gate\.yaml: ("
    r".*: min(_percent)? \(.*\) is greater than max(_percent)? \(.*\)"
    r"|.*\.min_passes: \d+ passes cannot happen in (1 run|\d+ runs) \(frequency\)"
    r"|rules: every rule is off; .*"
    r"|.*: expected a finite number, got .*"
    r"|.*\.until: expected a date such as 2026-12-31, got '\s*\d{4}-\d\d-\d\d\s*'"
    r"|.*\.match: expected a non-empty string, got \d+\.0"  # JSON cannot tell 7.0 from 7
    r")"
)


def maybe(*good: Any) -> st.SearchStrategy[Any]:
    """Mostly one of ``good``, now and then anything (a document is valid only if all of it is)."""
    return st.integers(0, 7).flatmap(lambda n: NOT_NULL if n == 7 else st.sampled_from(good))


PERCENT = maybe(0, 5, 50.5, 100)
COUNT = maybe(1, 2, 3.0)
WAIVER = {
    "level": maybe("warn", "off", "error"),
    "until": maybe("2026-12-31", " 2027-01-01 ", "2026-12-31", "2026-02-30"),
    "reason": maybe("flaky provider"),
}


def rule_body(needs: tuple[str, ...], **keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``keys`` and the waiver keys, any of them; usually including one of ``needs``."""
    every = {**keys, **WAIVER}

    def with_key(key: str) -> st.SearchStrategy[dict[str, Any]]:
        rest = {name: value for name, value in every.items() if name != key}
        return st.fixed_dictionaries({key: every[key]}, optional=rest)

    anything = st.fixed_dictionaries({}, optional=every)
    needed = st.sampled_from(needs).flatmap(with_key)
    return st.integers(0, 3).flatmap(lambda n: anything if n == 3 else needed)


def new_feature_documents() -> st.SearchStrategy[Any]:
    number = maybe(0, 1.5, -2, 1800)
    relative = maybe(0, 10, 250.5)
    bounds = rule_body(
        ("min", "max", "max_increase_percent", "max_decrease_percent"),
        min=number,
        max=number,
        max_increase_percent=relative,
        max_decrease_percent=relative,
    ).map(lambda body: {key: body[key] for key in body if key not in WAIVER})
    metric = rule_body(
        ("p50", "mean", "pass_percent", "enum"),
        p50=bounds,
        mean=bounds | NOT_NULL,
        pass_percent=st.fixed_dictionaries({}, optional={"min": PERCENT, "max_drop": PERCENT}),
        enum=st.fixed_dictionaries(
            {"value": maybe("frustrated")},
            optional={"max_percent": PERCENT, "min_percent": PERCENT},
        ),
    ).map(lambda body: {"name": "Latency", **body})
    scenario = rule_body(
        ("min_passes", "min_pass_percent", "required"),
        min_passes=COUNT,
        min_pass_percent=PERCENT,
        frequency=COUNT,
        required=maybe(True, False),
    )
    scenario = st.builds(
        lambda match, body: {**match, **body},
        st.fixed_dictionaries({"match": maybe("Book *", 7, 7.0, 0, " ")}) | st.just({}),
        scenario,
    )
    scenarios = st.lists(scenario, max_size=2)
    priorities = st.sampled_from(["critical", "non-critical", "high", "low", "hgh"])
    rules = st.fixed_dictionaries(
        {},
        optional={
            "success_rate": rule_body(("min", "max_drop"), min=PERCENT, max_drop=PERCENT),
            "critical_categories": rule_body(
                ("max", "no_new_categories"),
                max=st.dictionaries(priorities, st.integers(0, 3), min_size=1, max_size=2)
                | st.just({}),
                no_new_categories=st.lists(priorities, max_size=2) | priorities | NOT_NULL,
                ignore=st.just(["not_a_bug"]),
            ),
            "metrics": st.lists(metric, min_size=1, max_size=2),
            "scenarios": scenarios
            | scenario
            | rule_body(
                ("no_new_failures", "each"),
                no_new_failures=maybe(True, False),
                each=scenarios,
            ),
        },
    )
    baseline = st.dictionaries(
        st.sampled_from(["result_id", "file", "id"]), maybe(1234, "main.json"), max_size=2
    )
    return st.fixed_dictionaries(
        {"version": st.just(1), "rules": rules}, optional={"baseline": baseline}
    )


@HYPOTHESIS
@given(new_feature_documents())
def test_schema_and_loader_agree_on_baselines_waivers_and_scenarios(document):
    text = yaml.safe_dump(document)
    errors = schema_errors(text)
    try:
        policy_from(text)
    except PolicyError as exc:
        if not errors:
            assert LOADER_ONLY_REASONS.fullmatch(str(exc)), str(exc)
    else:
        assert errors == []
