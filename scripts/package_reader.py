"""Score a trained reader on SQuAD dev, calibrate its no-answer threshold, and package it.

    python scripts/package_reader.py --model runs/reader/model \
        --dev ../shared/data/squad/dev-v1.1.json --out qa/models/reader-minilm

Reader mode throughout (the gold paragraph is given). Unanswerable pairs are made
as in training, of two kinds: a dev question paired with another paragraph of its
article that holds none of its answers, and a dev question paired with its own
paragraph with the sentences that answer it cut out (harder: same topic). The
threshold is chosen on the even-numbered dev articles (best F1 over answerable
questions and unanswerable pairs together, raised if needed so that at least
``--min-abstain`` of the unanswerable pairs abstain) and reported on the
odd-numbered ones, which it never saw.

Reading all of dev takes about 12 minutes on a 2-core CPU. ``--save-scores FILE``
keeps every prediction; ``--from-scores FILE`` packages again from them in seconds
(another threshold rule, another ``--min-score-retrieved``), refusing a file that
was made with other weights or other pairs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import shutil
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from qa.evaluation import score_prediction
from qa.reader import READER_CONFIG, ExtractiveReader
from qa.schema import Passage
from qa.training import RUN_LOG, add_negatives, cut_answer_negatives, load_squad_examples, model_card

WEIGHT_FILES = ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json")


def best_spans(reader: ExtractiveReader, examples: list[dict[str, Any]], batch: int) -> list[tuple[str, float]]:
    """(best span text, its score) per example, the gold or paired paragraph as the only passage."""
    out: list[tuple[str, float]] = []
    for begin in tqdm(range(0, len(examples), batch), desc="reading", unit_scale=batch):
        items = [(ex["question"], [Passage("p", "", 0, 0, 0, ex["context"])])
                 for ex in examples[begin : begin + batch]]
        for reading in reader.read_many(items):
            best = reading.spans[0] if reading.spans else None
            out.append((best.text.strip(), best.score) if best else ("", 0.0))
    return out


def weights_digest(model: Path) -> str:
    """SHA-256 of a model folder's weights: saved scores belong to these weights only."""
    digest = hashlib.sha256()
    with open(model / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_scores(path: Path, digest: str | None, items: list[dict[str, Any]]) -> float:
    """Fill in each item's saved prediction and score; returns the saved reading throughput."""
    saved = json.loads(path.read_text())
    if not isinstance(saved, dict) or saved.get("weights_sha256") != digest:
        raise SystemExit(f"{path} was not saved for these weights; score them again without --from-scores")
    by_id = {row["id"]: row for row in saved["items"]}
    if set(by_id) != {ex["id"] for ex in items}:
        raise SystemExit(f"{path} holds other questions or pairs (another --dev, --negatives, --seed or --articles?)")
    for ex in items:
        ex["prediction"], ex["score"] = by_id[ex["id"]]["prediction"], by_id[ex["id"]]["score"]
    return float(saved["throughput_questions_per_s"])


def summarize(pos: list[dict[str, Any]], neg: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    ems, f1s = [], []
    for ex in pos:
        prediction = ex["prediction"] if ex["score"] >= threshold else None
        em, f1 = score_prediction(prediction, [a["text"] for a in ex["answers"]])
        ems.append(em)
        f1s.append(f1)
    def abstention(items: list[dict[str, Any]]) -> float:
        return 100 * sum(ex["score"] < threshold for ex in items) / max(1, len(items))

    return {
        "questions": len(pos),
        "exact_match": 100 * sum(ems) / max(1, len(ems)),
        "f1": 100 * sum(f1s) / max(1, len(f1s)),
        "unanswerable_pairs": len(neg),
        "abstention_on_unanswerable": abstention(neg),
        "abstention_other_paragraph": abstention([ex for ex in neg if not ex["id"].endswith("-cut")]),
        "abstention_answer_cut": abstention([ex for ex in neg if ex["id"].endswith("-cut")]),
        "answerable_withheld": abstention(pos),
    }


def choose_threshold(
    pos: list[dict[str, Any]], neg: list[dict[str, Any]], min_abstain: float, rule: str = "f1"
) -> float:
    """Best overall F1 over answerable + unanswerable items, then raised to reach ``min_abstain``.

    With ``rule="abstain"``: the lowest threshold at which ``min_abstain`` of the pairs abstain,
    which withholds the fewest answers that reach that abstention rate.
    """
    neg_scores = sorted(ex["score"] for ex in neg)
    needed = neg_scores[min(len(neg_scores) - 1, int(min_abstain * len(neg_scores)))] if neg_scores else 0.0
    if rule == "abstain":
        return float(needed)
    candidates = sorted({round(ex["score"], 4) for ex in pos + neg} | {0.0})
    best_t, best = 0.0, -1.0
    f1_of = {id(ex): score_prediction(ex["prediction"], [a["text"] for a in ex["answers"]])[1] for ex in pos}
    for t in candidates[:: max(1, len(candidates) // 2000)]:
        total = sum(f1_of[id(ex)] for ex in pos if ex["score"] >= t) + sum(ex["score"] < t for ex in neg)
        if total > best:
            best_t, best = t, total
    return float(max(best_t, needed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="trained model folder (runs/reader/model)")
    parser.add_argument("--dev", required=True, help="SQuAD v1.1 dev JSON")
    parser.add_argument("--out", required=True, help="folder to package into")
    parser.add_argument("--min-abstain", type=float, default=0.75,
                        help="share of the calibration pairs that must abstain")
    parser.add_argument("--rule", choices=["f1", "abstain"], default="f1",
                        help="f1: the F1-best threshold (raised to --min-abstain); "
                             "abstain: the lowest threshold that reaches --min-abstain")
    parser.add_argument("--negatives", type=float, default=0.3,
                        help="pairs with another paragraph, per dev question")
    parser.add_argument("--cut-negatives", type=float, default=0.3,
                        help="pairs with the question's paragraph minus its answer sentences, per dev question")
    parser.add_argument("--save-scores", type=Path, help="also write every prediction and score to this JSON file")
    parser.add_argument("--from-scores", type=Path,
                        help="take the predictions and scores from a --save-scores file instead of reading dev")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--min-score-retrieved", type=float,
                        help="threshold for retrieved passages (the F1-best min_score of `qa eval` end to end)")
    parser.add_argument("--minutes", type=float, help="training time, for the card (else from the run log)")
    parser.add_argument("--device", help="what it was trained on, for the card (else from the run log)")
    parser.add_argument("--articles", type=int, help="only the first N dev articles (a quick check)")
    args = parser.parse_args()

    reader = ExtractiveReader(args.model)
    examples = load_squad_examples(args.dev)
    if args.articles:
        examples = [ex for ex in examples if ex["article"] < args.articles]
    negatives = add_negatives(examples, args.negatives, random.Random(args.seed))
    negatives += cut_answer_negatives(examples, args.cut_negatives, random.Random(args.seed + 1))
    # Only saved scores need the weights' hash; reading 45 MB for nothing is skipped.
    digest = weights_digest(Path(args.model)) if args.save_scores or args.from_scores else None
    if args.from_scores:
        throughput = load_scores(args.from_scores, digest, examples + negatives)
    else:
        began = time.perf_counter()
        for ex, (text, score) in zip(examples, best_spans(reader, examples, args.batch)):
            ex["prediction"], ex["score"] = text, score
        throughput = len(examples) / (time.perf_counter() - began)
        for ex, (text, score) in zip(negatives, best_spans(reader, negatives, args.batch)):
            ex["prediction"], ex["score"] = text, score

    calib_pos = [ex for ex in examples if ex["article"] % 2 == 0]
    calib_neg = [ex for ex in negatives if ex["article"] % 2 == 0]
    held_pos = [ex for ex in examples if ex["article"] % 2 == 1]
    held_neg = [ex for ex in negatives if ex["article"] % 2 == 1]
    threshold = choose_threshold(calib_pos, calib_neg, args.min_abstain, args.rule)
    scores = {
        "dev_all_forced": summarize(examples, [], 0.0),
        "dev_all_threshold": summarize(examples, negatives, threshold),
        "calibration_articles": summarize(calib_pos, calib_neg, threshold),
        "held_out_articles": summarize(held_pos, held_neg, threshold),
        "throughput_questions_per_s": throughput,
        "threshold": threshold,
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    print(json.dumps(scores, indent=2))
    if args.save_scores:
        keep = ("id", "article", "answers", "prediction", "score")
        args.save_scores.write_text(json.dumps({
            "weights_sha256": digest, "throughput_questions_per_s": throughput,
            "items": [{k: ex[k] for k in keep} for ex in examples + negatives],
        }))

    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    source = Path(args.model)
    for name in WEIGHT_FILES:
        shutil.copy(source / name, tmp / name)
    training = json.loads((source / "training_config.json").read_text())
    (tmp / "training_config.json").write_text(json.dumps(training, indent=2) + "\n")
    defaults = vars(parser.parse_args(["--model", "", "--dev", "", "--out", ""]))
    ignored = {"model", "dev", "out", "save_scores", "from_scores", "minutes", "device", "articles", "batch"}
    package = {
        "options": "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                           if k not in ignored and v != defaults[k]),
        "min_score_retrieved": args.min_score_retrieved,
    }
    config = {"min_score": round(threshold, 4), "scores": scores, "package": package}
    if args.min_score_retrieved is not None:
        config["min_score_retrieved"] = args.min_score_retrieved
    (tmp / READER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    run = json.loads((source / RUN_LOG).read_text()) if (source / RUN_LOG).exists() else {}
    run.update({k: v for k, v in (("minutes", args.minutes), ("device", args.device)) if v is not None})
    (tmp / RUN_LOG).write_text(json.dumps(run, indent=2) + "\n")
    (tmp / "README.md").write_text(model_card(training, scores, run, package))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    print(f"packaged into {out}")


if __name__ == "__main__":
    main()
