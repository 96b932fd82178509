"""Deterministic, realistic result payloads of any size for the benchmarks: a result, and a
baseline to compare it with (another completed result of the same agent)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

SCENARIOS = [
    "Book an appointment",
    "Reschedule",
    "Cancel",
    "Greeting and triage",
    "Billing question",
    "Emergency disclaimer",
    "Transfer to a human",
]
PERSONALITIES = ["Direct Communicator", "Highly Interruptive American Man", "Elderly caller"]
CATEGORIES = [
    "Agent failed to verify customer identity",
    "Incorrect pricing information",
    "Mispronounced street name",
    "Long silence",
    "Interrupted the caller",
]
LINES = [
    "Hello, how can I help you today?",
    "I'd like to book an appointment for tomorrow.",
    "Sure, what time works best for you?",
    "Around six in the evening, please.",
    "Let me check the calendar for you.",
    "Six PM is available. Shall I book it?",
    "Yes please, and send me a confirmation.",
    "Done. Is there anything else?",
]


def transcript(rng: random.Random, lines: int) -> str:
    parts = []
    for index in range(lines):
        role = "Testing Agent" if index % 2 == 0 else "Main Agent"
        parts.append(f"[{index // 6:02d}:{index * 7 % 60:02d}] {role}: {rng.choice(LINES)}")
    return "\n".join(parts)


def metrics(rng: random.Random, passed: bool) -> list[dict[str, Any]]:
    binary_pass = passed or rng.random() < 0.5
    return [
        {
            "id": 2,
            "name": "Call Pickup",
            "eval_type": "binary",
            "passed": True,
            "type": "binary_workflow_adherence",
            "score": 5,
            "explanation": ["Picked up."],
        },
        {
            "id": 7,
            "name": "workflow-adherence-check",
            "eval_type": "binary",
            "passed": binary_pass,
            "type": "binary_workflow_adherence",
            "score": 5 if binary_pass else 0,
            "explanation": ["Followed the workflow." if binary_pass else "Skipped a step."],
        },
        {
            "id": 33,
            "name": "Latency",
            "type": "numeric",
            "score": rng.uniform(900, 2600),
            "explanation": "",
            "function_name": "get_latency",
        },
        {
            "id": 34,
            "name": "Talk Ratio",
            "type": "numeric",
            "score": rng.uniform(0.3, 0.7),
            "explanation": "",
        },
        {
            "id": 2950,
            "name": "Pronunciation Analysis",
            "type": "continuous_qualitative",
            "score": rng.randint(50, 100),
            "explanation": ["Mostly clear."],
        },
        {
            "id": 41,
            "name": "Customer Sentiment",
            "type": "enum",
            "score": None,
            "enum": "satisfied" if passed else "frustrated",
            "value": "satisfied" if passed else "frustrated",
            "explanation": ["Tone."],
        },
    ]


def findings(rng: random.Random) -> list[dict[str, Any]]:
    count = rng.choice([0, 0, 0, 1, 1, 2])
    priorities = ["critical", "non-critical", "non-critical", "not_a_bug"]
    return [
        {
            "category_id": 3000 + i,
            "category": rng.choice(CATEGORIES),
            "deviation": round(rng.random(), 2),
            "wrongly_marked": rng.random() < 0.1,
            "feedback": "",
            "priority": rng.choice(priorities),
        }
        for i in range(count)
    ]


def run(rng: random.Random, run_id: int, transcript_lines: int) -> dict[str, Any]:
    passed = rng.random() < 0.9
    scenario = rng.randrange(len(SCENARIOS))
    return {
        "id": run_id,
        "scenario": scenario + 1,
        "scenario_name": SCENARIOS[scenario],
        "personality_name": rng.choice(PERSONALITIES),
        "status": "completed",
        "success": passed,
        "expected_outcome": {
            "score": 100 if passed else 0,
            "explanation": ["✅ Booked." if passed else "❌ Not booked."],
        },
        "evaluation": {"metrics": metrics(rng, passed)},
        "critical_categories": findings(rng),
        "transcript": transcript(rng, transcript_lines),
        "outbound_number": "",
        "inbound_number": "+11234567890",
        "duration": f"{rng.randint(0, 3):02d}:{rng.randint(0, 59):02d}",
        "timestamp": "2026-11-01T10:00:00Z",
        "executed_at": "2026-11-01T10:00:05Z",
        "error_message": "",
        "metadata": {"ended_reason": "Testing agent-ended-call"},
        "call_id": f"call_{run_id}",
    }


def result(
    runs: int, *, seed: int = 7, transcript_lines: int = 16, result_id: int = 4242
) -> dict[str, Any]:
    """A completed result with ``runs`` runs, counters that agree, and an overall evaluation."""
    rng = random.Random(seed)
    entries = {str(1000 + i): run(rng, 1000 + i, transcript_lines) for i in range(runs)}
    successful = sum(1 for entry in entries.values() if entry["success"])
    rate = 100.0 * successful / runs if runs else None
    return {
        "id": result_id,
        "name": "benchmark",
        "agent": 1,
        "agent_name": "Support Agent",
        "status": "completed",
        "success_rate": rate,
        "met_expected_outcome_count": successful,
        "total_expected_outcome_count": runs,
        "total_runs_count": runs,
        "completed_runs_count": runs,
        "success_runs_count": successful,
        "failed_runs_count": runs - successful,
        "runs": entries,
        "overall_evaluation": {
            "success_rate": rate,
            "numeric_metrics": [
                {
                    "name": "Latency",
                    "type": "numeric",
                    "value": 1750.0,
                    "percentiles": {"p50": 1750.0},
                }
            ],
            "extra_metrics": [
                {
                    "name": "Expected Outcome",
                    "type": "continuous_qualitative",
                    "value": rate,
                },
                {
                    "name": "Average Ringing Duration",
                    "type": "numeric",
                    "value": 2.1,
                    "percentiles": {"p50": 2.1},
                },
            ],
        },
    }


def baseline(runs: int) -> dict[str, Any]:
    """The result a change is compared with: the same agent and scenarios, other runs."""
    return result(runs, seed=11, result_id=4241)


def write(path: Path, payload: dict[str, Any]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    return path
