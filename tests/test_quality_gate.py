"""Quality gate: the real extractor over the gold set must stay at or above the recorded floors.

The floors live in data/gold/thresholds.json and are raised to the measured level when extraction
improves, so a rule change that loses precision or recall fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signals.evaluate import evaluate_extraction

GOLD_DIR = Path(__file__).resolve().parents[1] / "data" / "gold"


@pytest.fixture(scope="module")
def report():
    return evaluate_extraction(GOLD_DIR / "sample.jsonl")


@pytest.mark.parametrize("metric", ["precision", "recall", "f1"])
def test_extraction_meets_floor(report, metric):
    floors = json.loads((GOLD_DIR / "thresholds.json").read_text(encoding="utf-8"))
    measured = getattr(report, metric)
    assert measured >= floors[metric], (
        f"{metric} {measured:.3f} fell below the floor {floors[metric]:.3f}; "
        f"see `signals eval` output for false positives/negatives"
    )
