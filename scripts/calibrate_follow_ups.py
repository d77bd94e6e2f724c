"""Choose the reader's threshold for follow-up questions (and optionally fit a follow-up model).

    python scripts/calibrate_follow_ups.py --model qa/models/reader-minilm \
        ../shared/data/conv/coqa_dev_literature.json ../shared/data/conv/quac_train_0.05.json \
        --limit 250 --save runs/follow-up-rows.json [--write] [--fit-model]

A follow-up read with the conversation in view ("What did Emmanuel Macron propose?", searched
within the conversation's story) is asked about a story the user has already found, so it is far
more often answerable than a question asked cold; the single-question threshold, chosen on SQuAD
2.0-style pairs that are half unanswerable, withholds too many of its answers. This asks the
follow-up turns of conversational sets end to end over each file's stories through
``QA.answer(history=)`` with the shipped settings, and keeps every follow-up that used the history:
its best candidate (answered or withheld), its score from the shipped verifier, and a label: right
at F1 >= 0.5 against a gold answer or when it lies inside a gold evidence span (these sets'
answers are evidence spans, often a whole clause: see their README), wrong for QuAC's
CANNOTANSWER. Yes/no turns are skipped.

The threshold maximises the share of turns handled right (a right answer, or abstaining on an
unanswerable turn), less ``--wrong-cost`` (default 0) for each wrong answer shown, on the
conversations with even CRC32 ids, and is reported on the odd ones. A cost of 0.1 or more moves
the threshold from about 0.17 to 0.27: fewer low-scored wrong answers, but fewer right ones too
(on the seed's explicit follow-ups F1 falls from about 92 to 81; docs/conversations.md).
``--fit-model`` also fits the verifier's logistic model on the follow-ups alone (same signals)
and reports it; ``--write`` stores ``min_score_follow_up`` (and with ``--fit-model`` the model as
``calibration["follow_up"]``) in the model folder's ``qa_reader.json``. ``--save``/``--rows``
keep and reuse the rows.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path
from typing import Any

from tqdm import tqdm

from qa.evaluation import RIGHT_F1, conversation_corpus, inside, load_conversations, score_prediction
from qa.pipeline import QA
from qa.reader import READER_CONFIG
from qa.schema import Answer
from qa.verification import Signals, fit, predict, reliability


def collect(path: Path, model: str, limit: int | None) -> list[dict[str, Any]]:
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
            candidate = answer.text if answer.text is not None else answer.alternatives[0].text
            _, f1 = score_prediction(candidate, q.answers)
            right = q.answerable and (f1 >= RIGHT_F1 or inside(candidate, q.answers))
            rows.append({"file": path.name, "conversation": c.id, "turn": n, "query": answer.query,
                         "candidate": candidate, "answers": q.answers, "answerable": q.answerable, "right": right,
                         "f1": f1, "score": answer.score, "signals": answer.signals})
    return rows


def best_threshold(rows: list[dict[str, Any]], scores: list[float], wrong_cost: float = 0.0) -> tuple[float, float]:
    """The threshold maximising the share of turns handled right (a right answer, or abstaining on an
    unanswerable turn) less ``wrong_cost`` for every wrong answer shown, and that value."""
    total = sum(0.0 if r["answerable"] else 1.0 for r in rows)
    best, best_value = 1.0 + 1e-9, total
    for score, r in sorted(zip(scores, rows), key=lambda x: -x[0]):
        right = bool(r["answerable"] and r["right"])
        total += (1.0 if right else -wrong_cost) - (0.0 if r["answerable"] else 1.0)
        if total > best_value + 1e-12:
            best, best_value = score, total
    return best, best_value / max(1, len(rows))


def summary(rows: list[dict[str, Any]], scores: list[float], threshold: float) -> dict[str, Any]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("files", nargs="*", type=Path, help="CoQA/QuAC-style conversation files")
    parser.add_argument("--model", default="qa/models/reader-minilm")
    parser.add_argument("--limit", type=int, help="first N conversations of each file")
    parser.add_argument("--save", type=Path, help="write the rows here")
    parser.add_argument("--rows", type=Path, help="fit from rows saved earlier instead of asking")
    parser.add_argument("--write", action="store_true", help="store the threshold (and model) in the model folder")
    parser.add_argument("--fit-model", action="store_true", help="also fit a verifier model on follow-ups alone")
    parser.add_argument("--wrong-cost", type=float, default=0.0,
                        help="what a wrong answer shown costs, against 1 for a right one (default 0)")
    args = parser.parse_args()

    began = time.time()
    if args.rows:
        rows = json.loads(args.rows.read_text())
    else:
        rows = [r for f in args.files for r in collect(f, args.model, args.limit)]
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(rows, ensure_ascii=False) + "\n")
    parity = [zlib.crc32(f"{r['file']}/{r['conversation']}".encode()) % 2 for r in rows]
    even = [r for r, p in zip(rows, parity) if p == 0]
    odd = [r for r, p in zip(rows, parity) if p == 1]
    shipped = json.loads((Path(args.model) / READER_CONFIG).read_text()).get("min_score_retrieved", 0.5)
    threshold, _ = best_threshold(even, [r["score"] for r in even], args.wrong_cost)
    report: dict[str, Any] = {
        "files": sorted({r["file"] for r in rows}), "threshold": round(threshold, 4), "shipped_threshold": shipped,
        "wrong_cost": args.wrong_cost,
        "fitted_on": summary(even, [r["score"] for r in even], threshold),
        "held_out": summary(odd, [r["score"] for r in odd], threshold),
        "held_out_at_shipped_threshold": summary(odd, [r["score"] for r in odd], shipped),
        "held_out_by_file": {f: summary([r for r in odd if r["file"] == f], [r["score"] for r in odd if r["file"] == f],
                                        threshold) for f in sorted({r["file"] for r in odd})},
    }
    model = None
    if args.fit_model:
        def signals(r: dict[str, Any]) -> Signals:
            return Signals(**r["signals"])

        model = fit([signals(r) for r in even], [r["right"] for r in even])
        fitted = [predict(model, signals(r)) for r in even]
        model_threshold, _ = best_threshold(even, fitted, args.wrong_cost)
        model["threshold"] = round(model_threshold, 4)
        report["follow_up_model_held_out"] = summary(odd, [predict(model, signals(r)) for r in odd], model_threshold)
        threshold = model_threshold
    print(json.dumps(report, indent=2))
    print(f"threshold {threshold:.4f}; {len(rows)} rows ({len(even)} fitted, {len(odd)} held out); "
          f"{time.time() - began:.0f} s")
    if args.write:
        path = Path(args.model) / READER_CONFIG
        config = json.loads(path.read_text())
        config["min_score_follow_up"] = round(threshold, 4)
        config["follow_up_report"] = report
        if model is not None:
            config.setdefault("calibration", {})["follow_up"] = model
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
