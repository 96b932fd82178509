"""``check`` from a file judges with the cyclic garbage collector paused (gate.cli.gating.
collector_paused): the collector is off while the result is loaded and judged, what was built
is frozen, and judging and reporting create no reference cycles, so the pause keeps no memory
the collector would have freed."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import generate
from gate.cli import gating
from gate.cli.inputs import baseline_from_file, load_policy, load_result
from gate.cli.main import main
from gate.reporters import REPORTERS
from gate.rules.evaluate import evaluate
from tests.conftest import ROOT

EVERY_RULE = str(ROOT / "bench" / "every_rule.yaml")


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector as the test found it: on, and nothing frozen."""
    assert gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable()


def write(folder: Path, runs: int) -> tuple[str, str]:
    """A generated result and baseline of ``runs`` runs."""
    result = generate.write(folder / f"result-{runs}.json", generate.result(runs))
    baseline = generate.write(folder / f"baseline-{runs}.json", generate.baseline(runs))
    return str(result), str(baseline)


def test_check_judges_with_the_collector_paused_then_freezes_what_it_built(
    collector, tmp_path, monkeypatch, capsys
):
    seen = []

    def evaluate_watched(*args, **kwargs):
        seen.append(gc.isenabled())
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(gating, "evaluate", evaluate_watched)
    frozen = gc.get_freeze_count()
    result, baseline = write(tmp_path, 300)
    report = tmp_path / "verdict.json"
    argv = ["check", "--result-file", result, "--baseline-file", baseline]
    code = main([*argv, "--policy", EVERY_RULE, "--json", str(report)])
    assert code in (0, 1), capsys.readouterr().err
    assert seen == [False]
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen
    assert json.loads(report.read_text())["verdict"] in ("pass", "fail")


def test_a_failure_while_paused_turns_the_collector_back_on_and_freezes_nothing(collector):
    frozen = gc.get_freeze_count()
    with pytest.raises(ValueError), gating.collector_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def unreachable_after_judging(folder: Path, runs: int) -> int:
    """What a collection finds once a verdict on ``runs`` runs, judged and reported with
    the collector off, is dropped: everything else was freed by reference counting."""
    result, baseline = write(folder, runs)
    policy = load_policy(EVERY_RULE)
    gc.collect()
    gc.disable()
    verdict = evaluate(
        policy, load_result(result, None), baseline=baseline_from_file(baseline).result
    )
    texts = [render(verdict) for render in REPORTERS.values()]
    assert all(texts)
    del verdict, texts
    found = gc.collect()
    gc.enable()
    return found


def test_judging_and_reporting_create_no_reference_cycles(collector, tmp_path):
    # The few objects found are the JSON encoder's own closures, the same for any result:
    # nothing that grows with the runs is left for the collector.
    assert unreachable_after_judging(tmp_path, 30) == unreachable_after_judging(tmp_path, 300)
    assert unreachable_after_judging(tmp_path, 300) < 50
