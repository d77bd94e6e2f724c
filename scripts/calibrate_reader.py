"""Fit the verifier that turns a reader's answers into calibrated probabilities, and store it with the reader.

    python scripts/calibrate_reader.py --model qa/models/reader-minilm \
        --dev ../shared/data/squad/dev-v1.1.json --save runs/calibration-rows.json

Two sets of held-out pairs are made from SQuAD v1.1 dev (never from the training data):

- given passages (reader mode, as ``qa eval --mode reader``): every dev question with its paragraph,
  and SQuAD 2.0-style unanswerable pairs of every kind in ``qa.training.negatives`` (other/hard
  paragraph, answer cut out, swapped name/number/date, antonym, negation, unstated condition);
- retrieved passages (as ``qa.answer()``): dev questions over a corpus of all 48 dev articles, each
  asked three ways: as is; with every passage holding its answer withheld from what the reader sees
  (the articles don't say: same topic, no answer); and with a swapped name/number/date, its answer
  withheld likewise.

The logistic models (``qa.verification.fit``) are fitted on the even-numbered dev articles and
reported on the odd-numbered ones; the thresholds are chosen on the even ones too. ``--write``
stores models, thresholds and the held-out report in the model folder's ``qa_reader.json`` and a
"Calibration" section of its card. ``--save FILE`` keeps every row (signals and labels), and
``--rows FILE`` refits from them in seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from qa.evaluation import RIGHT_F1, contains_answer, load_questions, score_prediction, squad_corpus
from qa.pipeline import QA
from qa.reader import READER_CONFIG
from qa.schema import Answer, Passage
from qa.training import load_squad_examples, make_negatives
from qa.verification import Signals, fit, predict, reliability

# unanswerable pairs per dev question, by kind: about one per answerable question in all, like SQuAD 2.0 dev
GIVEN_SHARES = {"other": 0.15, "hard": 0.2, "cut": 0.2, "swap": 0.4, "antonym": 0.6, "negation": 0.08,
                "condition": 0.15}
SEED = 2026  # not a training seed: these pairs differ from any the reader was trained on
CARD_HEADING = "## Calibration"
HEADER = ("| set | answerable / unanswerable | threshold | answerable F1 (always answering) | answerable withheld "
          "| unanswerable abstained (by kind) | ECE |\n|---|---|---|---|---|---|---|")


def read_rows(qa: QA, items: list[dict[str, Any]], retrieved: bool, batch: int, desc: str) -> list[dict[str, Any]]:
    """Read each item's passages; one row per item with its best candidate, signals and label."""
    rows = []
    for begin in tqdm(range(0, len(items), batch), desc=desc, unit_scale=batch):
        chunk = items[begin : begin + batch]
        answers = qa.read_many([(it["question"], it["passages"]) for it in chunk], min_score=0.0,
                               retrieved=retrieved)
        rows += [row(it, a) for it, a in zip(chunk, answers)]
    return rows


def row(item: dict[str, Any], answer: Answer) -> dict[str, Any]:
    candidate = answer.text if answer.text is not None else \
        (answer.alternatives[0].text if answer.alternatives else None)
    exact, f1 = score_prediction(candidate, item["answers"]) if item["answers"] else (0.0, 0.0)
    return {"id": item["id"], "kind": item["kind"], "article": item["article"], "answers": item["answers"],
            "prediction": candidate, "exact": exact, "f1": f1, "reader_score": answer.reader_score,
            "signals": answer.signals or None}


def given_items(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    negatives = make_negatives(examples, GIVEN_SHARES, SEED)
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


def right(r: dict[str, Any]) -> bool:
    """An answer is right as ``qa eval`` counts it (``QuestionResult.right``): F1 >= 0.5 against a gold answer."""
    return bool(r["answers"]) and r["f1"] >= RIGHT_F1


def summarize(rows: list[dict[str, Any]], scores: list[float], threshold: float) -> dict[str, Any]:
    """Figures at ``threshold``: answerable F1/EM (abstaining scores 0), abstention per kind, calibration."""
    pos = [(r, s) for r, s in zip(rows, scores) if r["answers"]]
    neg = [(r, s) for r, s in zip(rows, scores) if not r["answers"]]
    ece, table = reliability(scores, [right(r) for r in rows])
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


def choose(rows: list[dict[str, Any]], scores: list[float], rule: str, min_abstain: float) -> float:
    """The threshold: best overall F1 ("f1"), or the lowest reaching ``min_abstain`` abstention ("abstain")."""
    neg = sorted(s for r, s in zip(rows, scores) if not r["answers"])
    if rule == "abstain":
        return round(neg[min(len(neg) - 1, int(min_abstain * len(neg)))], 4) if neg else 0.5
    grid = [t / 200 for t in range(1, 200)]
    return max(grid, key=lambda t: (summarize(rows, scores, t)["overall_f1"], -t))


def calibrate(rows: list[dict[str, Any]], rule: str, min_abstain: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit on even articles, choose the threshold there, report on odd articles."""
    usable = [r for r in rows if r["signals"]]
    fit_rows = [r for r in usable if r["article"] % 2 == 0]
    held = [r for r in usable if r["article"] % 2 == 1]
    model = fit([Signals(**r["signals"]) for r in fit_rows], [right(r) for r in fit_rows])
    fit_scores = [predict(model, Signals(**r["signals"])) for r in fit_rows]
    threshold = choose(fit_rows, fit_scores, rule, min_abstain)
    held_scores = [predict(model, Signals(**r["signals"])) for r in held]
    raw = [r["reader_score"] for r in held]
    report = {
        "fitted_on": summarize(fit_rows, fit_scores, threshold),
        "held_out": summarize(held, held_scores, threshold),
        "held_out_at_0.5": summarize(held, held_scores, 0.5),
        "held_out_reader_score_ece": reliability(raw, [right(r) for r in held])[0],
        "kinds": dict(Counter(r["kind"] for r in usable)),
    }
    return {**model, "threshold": threshold}, report


def card_section(report: dict[str, Any], command: str) -> str:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="reader folder (e.g. qa/models/reader-minilm)")
    parser.add_argument("--dev", required=True, help="SQuAD v1.1 dev JSON")
    parser.add_argument("--articles", type=int, help="only the first N dev articles (quick runs)")
    parser.add_argument("--retrieved", type=int, default=1600, help="dev questions asked over retrieved passages")
    parser.add_argument("--rule", choices=["f1", "abstain"], default="f1")
    parser.add_argument("--min-abstain", type=float, default=0.65, help="with --rule abstain")
    parser.add_argument("--retrieved-rule", choices=["f1", "abstain"], default="f1")
    parser.add_argument("--retrieved-min-abstain", type=float, default=0.75)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--save", type=Path, help="write every row (signals, labels) here")
    parser.add_argument("--rows", type=Path, help="refit from rows saved by --save, without reading")
    parser.add_argument("--write", action="store_true", help="store models and thresholds in the model folder")
    args = parser.parse_args()

    if args.rows:
        saved = json.loads(args.rows.read_text())
        given, retrieved = saved["given"], saved["retrieved"]
    else:
        examples = load_squad_examples(args.dev)
        if args.articles:
            examples = [ex for ex in examples if ex["article"] < args.articles]
        qa = QA(reader=args.model)
        began = time.time()
        given = read_rows(qa, given_items(examples), False, args.batch, "given paragraphs")
        corpus, index = squad_corpus(args.dev, load_questions(args.dev), None)
        e2e = QA(corpus=corpus, index=index, reader=qa.reader)
        e2e.index(progress=True)
        items = retrieved_items(e2e, examples, args.retrieved, e2e.settings.top_passages)
        retrieved = read_rows(e2e, items, True, args.batch, "retrieved passages")
        print(f"read {len(given) + len(retrieved)} items in {time.time() - began:.0f}s")
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps({"model": args.model, "given": given, "retrieved": retrieved}) + "\n")

    given_model, given_report = calibrate(given, args.rule, args.min_abstain)
    retrieved_model, retrieved_report = calibrate(retrieved, args.retrieved_rule, args.retrieved_min_abstain)
    report = {"given": given_report, "retrieved": retrieved_report}
    for mode in ("given", "retrieved"):
        for part in ("fitted_on", "held_out", "held_out_at_0.5"):
            r = report[mode][part]
            print(f"{mode:9} {part:15} t={r['threshold']:.3f} F1 {r['answerable_f1']:.1f} "
                  f"(always {r['answerable_f1_always']:.1f}) withheld {r['answerable_withheld']:.1f}% "
                  f"abstain {r['abstention']:.1f}% ECE {r['ece']:.3f} "
                  + " ".join(f"{k}:{v:.0f}" for k, v in r["abstention_by_kind"].items()))
        print(f"{mode:9} reader-score ECE on held-out: {report[mode]['held_out_reader_score_ece']:.3f}")

    if args.write:
        folder = Path(args.model)
        config = json.loads((folder / READER_CONFIG).read_text()) if (folder / READER_CONFIG).exists() else {}
        # other fitted models (a follow-up model from calibrate_follow_ups.py) are kept
        config["calibration"] = {**config.get("calibration", {}), "given": given_model,
                                 "retrieved": retrieved_model, "report": report}
        config["min_score"] = given_model["threshold"]
        config["min_score_retrieved"] = retrieved_model["threshold"]
        (folder / READER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        card = folder / "README.md"
        if card.exists():
            text, _, section = card.read_text().partition("\n" + CARD_HEADING + "\n")
            # sub-sections of the calibration written by other scripts ("### Follow-up questions") stay
            found = re.search(r"^### ", section, re.MULTILINE)
            kept = "\n" + section[found.start():] if found else ""
            options = "".join(f" --{k} {v}" for k, v in (("rule", args.rule), ("min-abstain", args.min_abstain),
                                                          ("retrieved-rule", args.retrieved_rule))
                              if v != parser.get_default(k.replace("-", "_")))
            command = (f"python scripts/calibrate_reader.py --model {args.model} \\\n"
                       f"    --dev ../shared/data/squad/dev-v1.1.json --write{options}")
            card.write_text(text.rstrip("\n") + "\n\n" + card_section(report, command) + kept)
        print(f"calibration written to {folder / READER_CONFIG}")


if __name__ == "__main__":
    main()
