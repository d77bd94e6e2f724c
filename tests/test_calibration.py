"""qa.training.calibration (scripts/calibrate_reader.py): fitting the verifier from saved rows and storing
it with a reader."""

from __future__ import annotations

import json
import random
from pathlib import Path

from qa.training.calibration import (
    calibrate_reader,
    format_reader_calibration,
    reader_command,
    write_reader_calibration,
)
from qa.verification import Signals, Verifier


def rows(mode_kinds: list[str], n: int, seed: int) -> list[dict]:
    """Answerable rows whose reader score tracks correctness, and unanswerable rows of the given kinds
    whose questions name something the passage lacks."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        answerable = i % 2 == 0
        good = answerable and rng.random() < 0.8
        s = dict.fromkeys(Signals.names(), 0.0)
        s["span_logit"] = rng.gauss(2.0 if good else -0.5, 1.0)
        s["any_name_missing"] = float(not answerable and rng.random() < 0.6)
        out.append({"id": f"q{i}", "kind": "answerable" if answerable else rng.choice(mode_kinds),
                    "article": (i // 2) % 10, "answers": ["x"] if answerable else [],
                    "prediction": "x" if good else "y", "exact": float(good), "f1": float(good),
                    "reader_score": 0.5, "signals": s})
    return out


def test_refit_from_rows_writes_models_thresholds_and_card(tmp_path: Path) -> None:
    saved = {"given": rows(["swap", "cut"], 2000, 0), "retrieved": rows(["withheld"], 800, 1)}
    model = tmp_path / "reader"
    model.mkdir()
    (model / "qa_reader.json").write_text(json.dumps({"min_score": 0.01, "scores": {"kept": True},
                                                      "calibration": {"follow_up": {"kept": 1}}}))
    (model / "README.md").write_text("# reader\n\n## Scores\nF1 80.\n\n## Calibration\nold table\n\n"
                                     "### Follow-up questions\nthreshold 0.16\n")
    for _ in range(2):  # twice: the card keeps one calibration section
        calibration = calibrate_reader(json.loads(json.dumps(saved)))  # as read back from --save's file
        write_reader_calibration(model, calibration, reader_command(model))
    printed = format_reader_calibration(calibration.report)
    assert "held_out" in printed and "ECE" in printed
    config = json.loads((model / "qa_reader.json").read_text())
    assert config["scores"] == {"kept": True}
    assert 0.0 < config["min_score"] < 1.0 and 0.0 < config["min_score_retrieved"] < 1.0
    assert config["min_score"] == config["calibration"]["given"]["threshold"]
    held = config["calibration"]["report"]["given"]["held_out"]
    assert held["ece"] < 0.1 and set(held["abstention_by_kind"]) == {"swap", "cut"}
    # the stored model scores a swapped-name answer lower than the same answer with its names found
    verifier = Verifier(config["calibration"])
    fine = dict.fromkeys(Signals.names(), 0.0) | {"span_logit": 2.0}
    assert verifier.probability(Signals(**(fine | {"any_name_missing": 1.0})), 0.9, retrieved=False) < \
        verifier.probability(Signals(**fine), 0.9, retrieved=False)
    card = (model / "README.md").read_text()
    assert card.count("## Calibration") == 1 and card.startswith("# reader\n\n## Scores\nF1 80.")
    assert "| given paragraph (reader mode), held-out odd articles |" in card
    assert "old table" not in card and card.count("### Follow-up questions\nthreshold 0.16") == 1
    assert card.index("### Follow-up") > card.index("| given paragraph")
    assert config["calibration"]["follow_up"] == {"kept": 1}
