"""``cekura-gate schema``: print the policy file's JSON Schema."""

from __future__ import annotations

from importlib import resources

from gate.cli.settings import Environment, SchemaSettings
from gate.errors import ExitCode


def schema_text() -> str:
    return resources.files("gate.policy").joinpath("policy.schema.json").read_text(encoding="utf-8")


def print_schema(settings: SchemaSettings, env: Environment) -> int:
    print(schema_text(), end="")
    return ExitCode.PASSED
