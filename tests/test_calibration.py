"""qa.training.calibration (scripts/calibrate_reader.py): fitting the verifier from saved rows and storing
it with a reader."""

from __future__ import annotations

import json
import random
from pathlib import Path

from qa.training.calibration import (
    calibrate_alternatives,
    calibrate_reader,
    format_reader_calibration,
    reader_command,
    replayed,
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


def test_fitting_on_every_candidate_replays_the_choice_and_stays_calibrated() -> None:
    """Rows saved with every candidate: the answer each row gave (its first candidate, the reader's
    favourite) is right when its span score is high; a second candidate whose question words sit in its
    sentence is often right where the first is not. Fitted on answers alone the model never sees the
    second kind; fitted on every candidate it chooses them, and the choices' scores stay calibrated."""
    rng = random.Random(3)

    def signals(span: float, words: float) -> dict:
        return dict.fromkeys(Signals.names(), 0.0) | {"span_logit": span, "words_in_sentence": words}

    saved = []
    for i in range(3000):
        first_right = rng.random() < 0.4
        second_right = not first_right and rng.random() < 0.7
        first = {"prediction": "a", "exact": float(first_right), "f1": float(first_right),
                 "signals": signals(rng.gauss(1.5 if first_right else 0.5, 1.0), rng.random() * 0.5)}
        second = {"prediction": "b", "exact": float(second_right), "f1": float(second_right),
                  "signals": signals(rng.gauss(0.0, 1.0), 0.5 + rng.random() * 0.5 if second_right else
                                     rng.random() * 0.5)}
        saved.append({"id": f"q{i}", "kind": "answerable", "article": i % 20, "answers": ["x"],
                      "prediction": "a", "exact": first["exact"], "f1": first["f1"], "reader_score": 0.5,
                      "signals": first["signals"], "candidates": [first, second]})
    rows_as_read = json.loads(json.dumps({"given": saved, "retrieved": saved}))
    answers = calibrate_reader(rows_as_read)
    every = calibrate_reader(rows_as_read, candidates=True)
    held_answers = answers.report["given"]["held_out"]
    held_every = every.report["given"]["held_out"]
    assert held_every["answerable_f1_always"] > held_answers["answerable_f1_always"] + 20
    assert held_every["ece"] < 0.08  # 1,500 held-out rows, 10 bins: the model fitted on answers alone has 0.058
    # the choice is replayed, not read from the rows: a row's own answer is no longer always the first
    chosen, scores = replayed(saved, every.given)
    assert {r["prediction"] for r in chosen} == {"a", "b"} and all(0.0 < s < 1.0 for s in scores)


def test_runner_ups_are_rescaled_to_how_often_they_are_right() -> None:
    """A model that scores every candidate by its span score alone: the runners-up it ranks below its choice
    look nearly as sure as the choice but are seldom right. Their rescaling, fitted on even articles, makes
    the odd articles' runner-up scores calibrated and leaves the score of a chosen answer alone."""
    rng = random.Random(5)
    model = {"features": ["span_logit"], "mean": [0.0], "scale": [1.0], "coef": [1.0], "intercept": 0.0}

    def candidate(span: float, right: bool) -> dict:
        return {"prediction": "a" if right else "b", "exact": float(right), "f1": float(right),
                "signals": dict.fromkeys(Signals.names(), 0.0) | {"span_logit": span}}

    saved = []
    for i in range(2000):
        spans = sorted((rng.gauss(1.0, 0.5) for _ in range(3)), reverse=True)
        first = candidate(spans[0], rng.random() < 0.7)
        others = [candidate(x, rng.random() < 0.1) for x in spans[1:]]
        saved.append({"id": f"q{i}", "kind": "answerable", "article": i % 20, "answers": ["x"], "prediction": "a",
                      "exact": first["exact"], "f1": first["f1"], "reader_score": 0.5, "signals": first["signals"],
                      "candidates": [first, *others]})
    scale, report = calibrate_alternatives(saved, model)
    assert scale is not None and report is not None
    assert report["right"] < 0.15 and report["ece_before"] > 0.3 and report["ece_after"] < 0.05
    assert report["at_least_0.5_after"] < report["at_least_0.5_before"] / 10
    verifier = Verifier({"alternatives": scale})
    assert verifier.alternative(0.7) < 0.2 and verifier.alternative(0.3) < verifier.alternative(0.7)
    assert Verifier({}).alternative(0.7) == 0.7  # a reader without the rescaling keeps its scores
    assert calibrate_alternatives([{**r, "candidates": []} for r in saved], model) == (None, None)
