"""Fitting the verifier that turns a reader's answers into calibrated probabilities, choosing its
thresholds, and storing them with the reader (``scripts/calibrate_reader.py``,
``scripts/calibrate_follow_ups.py``).

    rows = reader_rows("qa/models/reader-minilm", "dev-v1.1.json")
    calibration = calibrate_reader(rows)
    write_reader_calibration("qa/models/reader-minilm", calibration, reader_command("qa/models/reader-minilm"))

Reader rows come in two sets of held-out pairs made from SQuAD v1.1 dev (never from the training data):

- given passages (reader mode, as ``qa eval --mode reader``): every dev question with its paragraph,
  and SQuAD 2.0-style unanswerable pairs of every kind in ``qa.training.negatives``;
- retrieved passages (as ``qa.answer()``): dev questions over a corpus of all the dev articles, each
  asked three ways: as is; with every passage holding its answer withheld; and with a swapped
  name/number/date, its answer withheld likewise.

The logistic models (``qa.verification.fit``) are fitted on the even-numbered dev articles and
reported on the odd-numbered ones; the thresholds are chosen on the even ones too.

Follow-up rows are the follow-up turns of conversational sets asked end to end with the history
(``follow_up_rows``); their threshold maximises the share of turns handled right on the
conversations with even CRC32 ids and is reported on the odd ones (``calibrate_follow_ups``).
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from qa.evaluation import (
    RIGHT_F1,
    contains_answer,
    conversation_corpus,
    inside,
    load_conversations,
    load_questions,
    score_prediction,
    squad_corpus,
)
from qa.evaluation.metrics import RULES, abstention_threshold, best_candidate, sweep_threshold
from qa.files import write_atomic
from qa.pipeline import QA
from qa.reader import READER_CONFIG
from qa.schema import Answer, Passage
from qa.squad import squad_examples
from qa.training.negatives import make_negatives
from qa.training.pairs import SHARES, articles_of
from qa.verification import Signals, Verifier, checked, fit, logistic, predict, reliability

SEED = 2026  # not a training seed: these pairs differ from any the reader was trained on
CARD_HEADING = "## Calibration"
HEADER = ("| set | answerable / unanswerable | threshold | answerable F1 (always answering) | answerable withheld "
          "| unanswerable abstained (by kind) | ECE |\n|---|---|---|---|---|---|---|")
# how calibrate_reader chooses the thresholds unless told otherwise
RULE, MIN_ABSTAIN, RETRIEVED_RULE, RETRIEVED_MIN_ABSTAIN = "f1", 0.65, "f1", 0.75


# -- reader rows ----------------------------------------------------------------------------------


def read_rows(qa: QA, items: list[dict[str, Any]], retrieved: bool, batch: int, desc: str) -> list[dict[str, Any]]:
    """Read each item's passages; one row per item with its best candidate, signals and label."""
    rows = []
    for begin in tqdm(range(0, len(items), batch), desc=desc, unit_scale=batch):
        chunk = items[begin : begin + batch]
        answers = qa.read_many([(it["question"], it["passages"]) for it in chunk], min_score=0.0,
                               retrieved=retrieved)
        rows += [reader_row(it, a) for it, a in zip(chunk, answers)]
    return rows


def reader_row(item: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """The row of one item: its best candidate (answered or withheld), EM/F1, reader score and signals,
    and under ``candidates`` every candidate the verifier scored (the best first), each with its
    prediction, EM/F1 and signals: a model can be fitted on all of them and its choice replayed."""
    candidate = best_candidate(answer)
    exact, f1 = score_prediction(candidate, item["answers"]) if item["answers"] else (0.0, 0.0)
    scored = [(answer.text, answer.signals)] if answer.text is not None else []
    scored += [(c.text, c.signals) for c in answer.alternatives]
    candidates = []
    for text, checks in scored:
        if checks:
            em, cf1 = score_prediction(text, item["answers"]) if item["answers"] else (0.0, 0.0)
            candidates.append({"prediction": text, "exact": em, "f1": cf1, "signals": checks})
    return {"id": item["id"], "kind": item["kind"], "article": item["article"], "answers": item["answers"],
            "prediction": candidate, "exact": exact, "f1": f1, "reader_score": answer.reader_score,
            "signals": answer.signals or None, "candidates": candidates}


def given_items(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every example with its own paragraph, plus unanswerable pairs of every kind (``SHARES``)."""
    negatives = make_negatives(examples, SHARES, SEED)
    items = []
    for ex in examples + negatives:
        items.append({"id": ex["id"], "kind": ex.get("kind", "answerable"), "article": ex["article"],
                      "question": ex["question"], "answers": [a["text"] for a in ex["answers"]],
                      "passages": [Passage(str(ex["article"]), "", 0, 0, 0, ex["context"])]})
    return items


def retrieved_items(qa: QA, examples: list[dict[str, Any]], limit: int, top: int) -> list[dict[str, Any]]:
    """Each sampled question as is, with its answer withheld, and swapped with its answer withheld."""
    rng = random.Random(SEED)
    sample = sorted(rng.sample(range(len(examples)), min(limit, len(examples))))
    chosen = [examples[i] for i in sample]
    swapped = {ex["id"].rsplit("-", 1)[0]: ex for ex in make_negatives(chosen, {"swap": 1.0}, SEED)}
    retriever = qa.retriever
    items = []
    for ex in tqdm(chosen, desc="retrieving"):
        answers = [a["text"] for a in ex["answers"]]
        found = retriever.retrieve(ex["question"], top * 3)
        base = {"article": ex["article"], "answers": answers}
        items.append({**base, "id": ex["id"], "kind": "answerable", "question": ex["question"],
                      "passages": found[:top]})
        without = [p for p in found if not contains_answer(p.text, answers)][:top]
        if without and rng.random() < 0.5:
            items.append({**base, "id": ex["id"] + "-withheld", "kind": "withheld", "question": ex["question"],
                          "answers": [], "passages": without})
        if ex["id"] in swapped and rng.random() < 0.5:
            question = swapped[ex["id"]]["question"]
            others = [p for p in retriever.retrieve(question, top * 3) if not contains_answer(p.text, answers)]
            if others:
                items.append({**base, "id": ex["id"] + "-swap", "kind": "swap", "question": question,
                              "answers": [], "passages": others[:top]})
    return items


def reader_rows(model: str | Path, dev: str | Path, articles: int | None = None, retrieved: int = 1600,
                batch: int = 32) -> dict[str, list[dict[str, Any]]]:
    """Read the given-paragraph items and the retrieved-passage items of ``dev`` (its first ``articles``
    articles) with the reader in ``model``: {"given": rows, "retrieved": rows}."""
    examples = squad_examples(dev)
    if articles:
        examples = [ex for ex in examples if ex["article"] < articles]
    qa = QA(reader=str(model))
    given = read_rows(qa, given_items(examples), False, batch, "given paragraphs")
    corpus, index = squad_corpus(dev, load_questions(dev), None)
    e2e = QA(corpus=corpus, index=index, reader=qa.reader)
    e2e.index(progress=True)
    items = retrieved_items(e2e, examples, retrieved, e2e.settings.top_passages)
    return {"given": given, "retrieved": read_rows(e2e, items, True, batch, "retrieved passages")}


# -- fitting the reader's verifier ------------------------------------------------------------------


def is_right(r: dict[str, Any]) -> bool:
    """An answer is right as ``qa eval`` counts it (``QuestionResult.right``): F1 >= 0.5 against a gold answer."""
    return bool(r["answers"]) and r["f1"] >= RIGHT_F1


def reader_figures(rows: list[dict[str, Any]], scores: list[float], threshold: float) -> dict[str, Any]:
    """Figures at ``threshold``: answerable F1/EM (abstaining scores 0), abstention per kind, calibration."""
    pos = [(r, s) for r, s in zip(rows, scores) if r["answers"]]
    neg = [(r, s) for r, s in zip(rows, scores) if not r["answers"]]
    ece, table = reliability(scores, [is_right(r) for r in rows])
    kinds = sorted({r["kind"] for r, _ in neg})
    total = [r["f1"] if s >= threshold else 0.0 for r, s in pos] + [float(s < threshold) for _, s in neg]
    return {
        "threshold": threshold,
        "rows": len(rows), "answerable": len(pos), "unanswerable": len(neg),
        "answerable_f1": 100 * sum(r["f1"] for r, s in pos if s >= threshold) / max(1, len(pos)),
        "answerable_em": 100 * sum(r["exact"] for r, s in pos if s >= threshold) / max(1, len(pos)),
        "answerable_f1_always": 100 * sum(r["f1"] for r, _ in pos) / max(1, len(pos)),
        "answerable_withheld": 100 * sum(s < threshold for _, s in pos) / max(1, len(pos)),
        "abstention": 100 * sum(s < threshold for _, s in neg) / max(1, len(neg)),
        "abstention_by_kind": {k: 100 * sum(s < threshold for r, s in neg if r["kind"] == k)
                               / max(1, sum(r["kind"] == k for r, _ in neg)) for k in kinds},
        "overall_f1": 100 * sum(total) / max(1, len(total)),
        "ece": ece, "reliability": table,
    }


def verifier_threshold(rows: list[dict[str, Any]], scores: list[float], rule: str, min_abstain: float) -> float:
    """The threshold: best overall F1 ("f1"), or the lowest reaching ``min_abstain`` abstention ("abstain")."""
    neg = [s for r, s in zip(rows, scores) if not r["answers"]]
    if rule == "abstain":
        return round(abstention_threshold(neg, min_abstain), 4) if neg else 0.5
    return sweep_threshold(scores, [r["f1"] if r["answers"] else 0.0 for r in rows],
                           [0.0 if r["answers"] else 1.0 for r in rows])[0]


def replayed(rows: list[dict[str, Any]], model: dict[str, Any]) -> tuple[list[dict[str, Any]], list[float]]:
    """Each row as ``model`` would have answered it: the candidate it finds likeliest right among those the
    row holds (``reader_row``'s ``candidates``; a row without them keeps its own), and that probability."""
    chosen, scores = [], []
    for r in rows:
        options = r.get("candidates") or [r]
        probabilities = [checked(model, c["signals"]) for c in options]
        best = max(range(len(options)), key=probabilities.__getitem__)
        c = options[best]
        chosen.append({**r, "prediction": c["prediction"], "exact": c["exact"], "f1": c["f1"],
                       "signals": c["signals"]})
        scores.append(probabilities[best])
    return chosen, scores


def runner_ups(rows: list[dict[str, Any]], model: dict[str, Any]) -> tuple[list[float], list[bool]]:
    """The probabilities ``model`` gives the candidates it ranks below its choice in each row, and whether
    each is right."""
    scores, right = [], []
    for r in rows:
        ranked = sorted(((checked(model, c["signals"]), c) for c in r.get("candidates") or []), key=lambda x: -x[0])
        for p, c in ranked[1:]:
            scores.append(p)
            right.append(bool(r["answers"]) and c["f1"] >= RIGHT_F1)
    return scores, right


def calibrate_alternatives(
    rows: list[dict[str, Any]], model: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The rescaling of runner-ups' probabilities (``Verifier.alternative``): a logistic fit of their
    rightness on their log-odds, on the even articles' rows; reported on the odd ones, before and after.
    (None, None) for rows saved without their candidates."""
    usable = [r for r in rows if r["signals"]]
    scores, right = runner_ups(articles_of(usable, "even"), model)
    if not scores or len(set(right)) < 2:  # rows saved without their candidates, or nothing to tell apart
        return None, None
    intercept, slope = _log_odds_fit(scores, right)
    scale = {"intercept": intercept, "slope": slope}
    held, held_right = runner_ups(articles_of(usable, "odd"), model)
    verifier = Verifier({"alternatives": scale})
    rescaled = [verifier.alternative(p) for p in held]
    sure = [y for p, y in zip(held, held_right) if p >= 0.5]
    sure_after = [y for p, y in zip(rescaled, held_right) if p >= 0.5]
    report = {"runner_ups": len(held), "right": sum(held_right) / max(1, len(held)),
              "ece_before": reliability(held, held_right)[0], "ece_after": reliability(rescaled, held_right)[0],
              "at_least_0.5_before": len(sure), "right_of_those_before": sum(sure) / max(1, len(sure)),
              "at_least_0.5_after": len(sure_after), "right_of_those_after": sum(sure_after) / max(1, len(sure_after))}
    return scale, report


def _log_odds_fit(scores: list[float], right: list[bool]) -> tuple[float, float]:
    """Intercept and slope of a logistic fit of ``right`` on the scores' log-odds."""
    import numpy as np

    p = np.clip(np.array(scores, dtype=float), 1e-9, 1 - 1e-9)
    b, a = logistic(np.log(p / (1 - p))[:, None], np.array(right, dtype=float), l2=0.0)
    return float(b), float(a)


def _logit_scale(model: dict[str, Any], scores: list[float], right: list[bool]) -> dict[str, Any]:
    """``model`` with its log-odds rescaled (a x z + b, a > 0 keeps every ranking) so that the scores
    it gives the answers it chooses are calibrated on ``right``: a model fitted on every candidate
    ranks them, and the likeliest of several is likelier to look right than to be right."""
    b, a = _log_odds_fit(scores, right)
    if a <= 0:  # no ranking left to keep: leave the model as fitted
        return model
    return {**model, "coef": [a * c for c in model["coef"]], "intercept": a * float(model["intercept"]) + b}


def calibrate(rows: list[dict[str, Any]], rule: str, min_abstain: float,
              candidates: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit on even articles, choose the threshold there, report on odd articles: (model, report).

    With ``candidates`` (rows saved with every candidate) the model is fitted on all the candidates of
    the even articles, as it will rank them, then rescaled to be calibrated on the answers it chooses
    there; either way each row is answered as the fitted model would choose (``replayed``)."""
    usable = [r for r in rows if r["signals"]]
    fit_rows, held = articles_of(usable, "even"), articles_of(usable, "odd")
    if candidates:
        every = [(r, c) for r in fit_rows for c in r.get("candidates") or [r]]
        model = fit([Signals.of(c["signals"]) for _, c in every],
                    [bool(r["answers"]) and c["f1"] >= RIGHT_F1 for r, c in every])
        chosen, scores = replayed(fit_rows, model)
        model = _logit_scale(model, scores, [is_right(r) for r in chosen])
    else:
        model = fit([Signals.of(r["signals"]) for r in fit_rows], [is_right(r) for r in fit_rows])
    fit_rows, fit_scores = replayed(fit_rows, model)
    threshold = verifier_threshold(fit_rows, fit_scores, rule, min_abstain)
    held, held_scores = replayed(held, model)
    raw = [r["reader_score"] for r in held]
    report = {
        "fitted_on": reader_figures(fit_rows, fit_scores, threshold),
        "held_out": reader_figures(held, held_scores, threshold),
        "held_out_at_0.5": reader_figures(held, held_scores, 0.5),
        "held_out_reader_score_ece": reliability(raw, [is_right(r) for r in held])[0],
        "kinds": dict(Counter(r["kind"] for r in usable)),
    }
    return {**model, "threshold": threshold}, report


@dataclass(frozen=True)
class ReaderCalibration:
    """The fitted models (each with its ``threshold``) for given and retrieved passages, and the report."""

    given: dict[str, Any]
    retrieved: dict[str, Any]
    report: dict[str, Any]  # {"given": ..., "retrieved": ..., "alternatives": ...}
    alternatives: dict[str, Any] | None = None  # the runner-ups' rescaling (``calibrate_alternatives``)


def calibrate_reader(rows: dict[str, list[dict[str, Any]]], rule: str = RULE, min_abstain: float = MIN_ABSTAIN,
                     retrieved_rule: str = RETRIEVED_RULE,
                     retrieved_min_abstain: float = RETRIEVED_MIN_ABSTAIN,
                     candidates: bool = False) -> ReaderCalibration:
    """Fit the given-passage and retrieved-passage models from ``reader_rows``' rows (``candidates``: on
    every candidate, as ``calibrate``)."""
    given_model, given_report = calibrate(rows["given"], rule, min_abstain, candidates)
    retrieved_model, retrieved_report = calibrate(rows["retrieved"], retrieved_rule, retrieved_min_abstain,
                                                  candidates)
    alternatives, alternatives_report = calibrate_alternatives(rows["retrieved"], retrieved_model)
    return ReaderCalibration(given_model, retrieved_model, {"given": given_report, "retrieved": retrieved_report,
                                                            "alternatives": alternatives_report}, alternatives)


def format_reader_calibration(report: dict[str, Any]) -> str:
    """One line per set and part (fitted on, held out), for the terminal."""
    lines = []
    for mode in ("given", "retrieved"):
        for part in ("fitted_on", "held_out", "held_out_at_0.5"):
            r = report[mode][part]
            lines.append(f"{mode:9} {part:15} t={r['threshold']:.3f} F1 {r['answerable_f1']:.1f} "
                         f"(always {r['answerable_f1_always']:.1f}) withheld {r['answerable_withheld']:.1f}% "
                         f"abstain {r['abstention']:.1f}% ECE {r['ece']:.3f} "
                         + " ".join(f"{k}:{v:.0f}" for k, v in r["abstention_by_kind"].items()))
        lines.append(f"{mode:9} reader-score ECE on held-out: {report[mode]['held_out_reader_score_ece']:.3f}")
    if report.get("alternatives"):
        lines.append(format_alternatives(report["alternatives"]))
    return "\n".join(lines)


def format_alternatives(r: dict[str, Any]) -> str:
    return (f"runner-ups, held out: {r['runner_ups']} ({100 * r['right']:.0f}% right); ECE {r['ece_before']:.3f} -> "
            f"{r['ece_after']:.3f}; scored >= 0.5: {r['at_least_0.5_before']} ({100 * r['right_of_those_before']:.0f}% "
            f"right) -> {r['at_least_0.5_after']} ({100 * r['right_of_those_after']:.0f}% right)")


def reader_command(model: str | Path, rule: str = RULE, min_abstain: float = MIN_ABSTAIN,
                   retrieved_rule: str = RETRIEVED_RULE) -> str:
    """The ``scripts/calibrate_reader.py`` command that writes this calibration, for the model card."""
    defaults = {"rule": RULE, "min-abstain": MIN_ABSTAIN, "retrieved-rule": RETRIEVED_RULE}
    options = "".join(f" --{k} {v}" for k, v in (("rule", rule), ("min-abstain", min_abstain),
                                                  ("retrieved-rule", retrieved_rule)) if v != defaults[k])
    return (f"python scripts/calibrate_reader.py --model {model} \\\n"
            f"    --dev ../shared/data/squad/dev-v1.1.json --write{options}")


def card_section(report: dict[str, Any], command: str) -> str:
    """The model card's "Calibration" section: the held-out and fitted figures, and the command."""
    def line(name: str, r: dict[str, Any]) -> str:
        kinds = ", ".join(f"{k} {v:.0f}%" for k, v in r["abstention_by_kind"].items())
        return (f"| {name} | {r['answerable']:,} / {r['unanswerable']:,} | {r['threshold']:.3f} | "
                f"{r['answerable_f1']:.1f} ({r['answerable_f1_always']:.1f}) | {r['answerable_withheld']:.1f}% | "
                f"{r['abstention']:.1f}% ({kinds}) | {r['ece']:.3f} |")

    rows = []
    for mode, name in (("given", "given paragraph (reader mode)"), ("retrieved", "retrieved passages")):
        if mode in report:
            rows.append(line(f"{name}, held-out odd articles", report[mode]["held_out"]))
            rows.append(line(f"{name}, fitted on even articles", report[mode]["fitted_on"]))
    return f"""{CARD_HEADING}

`Answer.score` is the probability that the answer is right (F1 >= 0.5 against a gold answer), from a
logistic model over the reader's scores and the verifier's checks (`qa/verification.py`), fitted on
pairs made from the even-numbered SQuAD v1.1 dev articles and reported here on the odd-numbered
ones. Thresholds (`min_score` for a given paragraph, `min_score_retrieved` for `qa.answer()`) are
probabilities chosen on the even articles.

{HEADER}
{chr(10).join(rows)}

```bash
{command}
```
"""


def reader_config(folder: str | Path) -> dict[str, Any]:
    """A model folder's ``qa_reader.json``; empty when it has none."""
    path = Path(folder) / READER_CONFIG
    return json.loads(path.read_text()) if path.exists() else {}


def write_alternatives(folder: str | Path, scale: dict[str, Any], report: dict[str, Any]) -> Path:
    """Store only the runner-ups' rescaling (and its report) in the folder's ``qa_reader.json``."""
    folder = Path(folder)
    config = reader_config(folder)
    calibration = config.setdefault("calibration", {})
    calibration["alternatives"] = scale
    calibration.setdefault("report", {})["alternatives"] = report
    write_atomic(folder / READER_CONFIG, json.dumps(config, indent=2) + "\n")
    return folder / READER_CONFIG


def write_reader_calibration(folder: str | Path, calibration: ReaderCalibration, command: str) -> Path:
    """Store the models, thresholds and report in the folder's ``qa_reader.json``, and the "Calibration"
    section in its card (README.md) when it has one; other fitted models (a follow-up model) and the
    card's other sections stay. Returns the config file."""
    folder = Path(folder)
    config = reader_config(folder)
    config["calibration"] = {**config.get("calibration", {}), "given": calibration.given,
                             "retrieved": calibration.retrieved, "report": calibration.report}
    if calibration.alternatives:
        config["calibration"]["alternatives"] = calibration.alternatives
    config["min_score"] = calibration.given["threshold"]
    config["min_score_retrieved"] = calibration.retrieved["threshold"]
    write_atomic(folder / READER_CONFIG, json.dumps(config, indent=2) + "\n")  # the shipped reader reads it
    card = folder / "README.md"
    if card.exists():
        text, _, section = card.read_text().partition("\n" + CARD_HEADING + "\n")
        # sub-sections of the calibration written by other scripts ("### Follow-up questions") stay
        found = re.search(r"^### ", section, re.MULTILINE)
        kept = "\n" + section[found.start():] if found else ""
        card.write_text(text.rstrip("\n") + "\n\n" + card_section(calibration.report, command) + kept)
    return folder / READER_CONFIG


# -- follow-up questions ----------------------------------------------------------------------------


def follow_up_rows(path: Path, model: str, limit: int | None) -> list[dict[str, Any]]:
    """The follow-up turns of a conversation file (its first ``limit`` conversations) that used the
    history, asked end to end over the file's stories: candidate, score, signals and label."""
    every = load_conversations(path)
    conversations = every[:limit]
    corpus, index = conversation_corpus(path, every)
    qa = QA(corpus=corpus, index=index, reader=model)
    qa.index(progress=True)
    rows = []
    for c in tqdm(conversations, desc=path.name, unit="conv"):
        history: list[Answer] = []
        for n, (q, scored) in enumerate(zip(c.turns, c.scored)):
            answer = qa.answer(q.question, history=history)
            history.append(answer)
            follow_up = qa.interpret(q.question, history[:-1])
            if n == 0 or not scored or not answer.signals or not (
                    follow_up.completed or follow_up.context or follow_up.articles):
                continue
            candidate = best_candidate(answer)
            _, f1 = score_prediction(candidate, q.answers)
            right = q.answerable and (f1 >= RIGHT_F1 or inside(candidate, q.answers))
            rows.append({"file": path.name, "conversation": c.id, "turn": n, "query": answer.query,
                         "candidate": candidate, "answers": q.answers, "answerable": q.answerable, "right": right,
                         "f1": f1, "score": answer.score, "signals": answer.signals})
    return rows


def best_threshold(rows: list[dict[str, Any]], scores: list[float], wrong_cost: float = 0.0) -> tuple[float, float]:
    """The threshold maximising the share of turns handled right (a right answer, or abstaining on an
    unanswerable turn) less ``wrong_cost`` for every wrong answer shown, and that value."""
    threshold, total = sweep_threshold(scores, [1.0 if r["answerable"] and r["right"] else -wrong_cost for r in rows],
                                       [0.0 if r["answerable"] else 1.0 for r in rows])
    return threshold, total / max(1, len(rows))


def follow_up_figures(rows: list[dict[str, Any]], scores: list[float], threshold: float) -> dict[str, Any]:
    """Figures at ``threshold``: share answered, precision, share handled right, answerable F1, ECE."""
    answered = [(s, r) for s, r in zip(scores, rows) if s >= threshold]
    ece, _ = reliability(scores, [r["right"] for r in rows])
    has = [(s, r) for s, r in zip(scores, rows) if r["answerable"]]
    return {
        "turns": len(rows), "answerable": len(has),
        "answered": round(len(answered) / max(1, len(rows)), 4),
        "precision": round(sum(r["right"] for _, r in answered) / max(1, len(answered)), 4),
        "handled_right": round((sum(r["right"] for _, r in answered) + sum(
            1 for s, r in zip(scores, rows) if not r["answerable"] and s < threshold)) / max(1, len(rows)), 4),
        "answerable_f1": round(sum(r["f1"] for s, r in has if s >= threshold) / max(1, len(has)), 4),
        "unanswerable_abstained": round(sum(1 for s, r in zip(scores, rows) if not r["answerable"] and s < threshold)
                                        / max(1, len(rows) - len(has)), 4),
        "ece": round(ece, 4),
    }


@dataclass(frozen=True)
class FollowUpCalibration:
    """The follow-up threshold, the follow-up model when one was fitted, and the report."""

    threshold: float
    model: dict[str, Any] | None
    report: dict[str, Any]


def calibrate_follow_ups(rows: list[dict[str, Any]], shipped: float, wrong_cost: float = 0.0,
                         fit_model: bool = False) -> FollowUpCalibration:
    """Choose the threshold on the conversations with even CRC32 ids and report it on the odd ones,
    beside ``shipped`` (the reader's threshold for retrieved passages); with ``fit_model`` also fit
    the verifier's logistic model on the follow-ups alone, whose threshold is then the one chosen."""
    parity = [zlib.crc32(f"{r['file']}/{r['conversation']}".encode()) % 2 for r in rows]
    even = [r for r, p in zip(rows, parity) if p == 0]
    odd = [r for r, p in zip(rows, parity) if p == 1]
    threshold, _ = best_threshold(even, [r["score"] for r in even], wrong_cost)
    report: dict[str, Any] = {
        "files": sorted({r["file"] for r in rows}), "threshold": round(threshold, 4), "shipped_threshold": shipped,
        "wrong_cost": wrong_cost,
        "fitted_on": follow_up_figures(even, [r["score"] for r in even], threshold),
        "held_out": follow_up_figures(odd, [r["score"] for r in odd], threshold),
        "held_out_at_shipped_threshold": follow_up_figures(odd, [r["score"] for r in odd], shipped),
        "held_out_by_file": {f: follow_up_figures([r for r in odd if r["file"] == f],
                                                  [r["score"] for r in odd if r["file"] == f], threshold)
                             for f in sorted({r["file"] for r in odd})},
    }
    model = None
    if fit_model:
        def signals(r: dict[str, Any]) -> Signals:
            return Signals.of(r["signals"])

        model = fit([signals(r) for r in even], [r["right"] for r in even])
        fitted = [predict(model, signals(r)) for r in even]
        model_threshold, _ = best_threshold(even, fitted, wrong_cost)
        model["threshold"] = round(model_threshold, 4)
        report["follow_up_model_held_out"] = follow_up_figures(odd, [predict(model, signals(r)) for r in odd],
                                                               model_threshold)
        threshold = model_threshold
    return FollowUpCalibration(threshold, model, report)


def write_follow_up_calibration(folder: str | Path, calibration: FollowUpCalibration) -> Path:
    """Store ``min_score_follow_up``, the report and (when fitted) the model as ``calibration["follow_up"]``
    in the folder's ``qa_reader.json``; returns that file."""
    path = Path(folder) / READER_CONFIG
    config = json.loads(path.read_text())
    config["min_score_follow_up"] = round(calibration.threshold, 4)
    config["follow_up_report"] = calibration.report
    if calibration.model is not None:
        config.setdefault("calibration", {})["follow_up"] = calibration.model
    write_atomic(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return path


__all__ = [
    "CARD_HEADING", "RULES", "SEED", "FollowUpCalibration", "ReaderCalibration", "best_threshold", "calibrate",
    "calibrate_alternatives", "calibrate_follow_ups", "calibrate_reader", "card_section", "follow_up_figures",
    "follow_up_rows", "format_alternatives", "format_reader_calibration", "given_items", "is_right", "read_rows",
    "reader_command", "reader_config", "reader_figures", "reader_row", "reader_rows", "replayed", "retrieved_items",
    "runner_ups", "verifier_threshold",
    "write_alternatives",
    "write_follow_up_calibration",
    "write_reader_calibration",
]
