"""Scoring a trained reader on SQuAD dev, calibrating its no-answer threshold, and packaging it as a
model folder the pipeline loads (``scripts/package_reader.py``).

    package_reader(PackagingConfig(model="runs/reader/model", dev="dev-v1.1.json", out="qa/models/reader-minilm"))

Reader mode throughout (the gold paragraph is given). Unanswerable pairs are made as in training, of
two kinds: a dev question paired with another paragraph of its article that holds none of its
answers, and a dev question paired with its own paragraph with the sentences that answer it cut out
(harder: same topic). The threshold is chosen on the even-numbered dev articles (best F1 over
answerable questions and unanswerable pairs together, raised if needed so that at least
``min_abstain`` of the unanswerable pairs abstain) and reported on the odd-numbered ones.

``save_scores`` keeps every prediction; ``from_scores`` packages again from them in seconds,
refusing a file that was made with other weights or other pairs (``QAError``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from qa.errors import QAError
from qa.evaluation import score_prediction
from qa.evaluation.metrics import RULES, abstention_threshold, sweep_threshold
from qa.reader import READER_CONFIG, ExtractiveReader
from qa.schema import Passage
from qa.squad import squad_examples
from qa.training.negatives import add_negatives, cut_answer_negatives
from qa.training.pairs import articles_of
from qa.training.trainer import RUN_LOG, model_card

WEIGHT_FILES = ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json")
# options that do not change what is packaged, left out of the card's command line
NOT_IN_CARD = {"model", "dev", "out", "save_scores", "from_scores", "minutes", "device", "articles", "batch"}


@dataclass(frozen=True)
class PackagingConfig:
    """How to score and package a reader; the fields are ``scripts/package_reader.py``'s options."""

    model: str | Path  # trained model folder (runs/reader/model)
    dev: str | Path  # SQuAD v1.1 dev JSON
    out: str | Path  # folder to package into
    min_abstain: float = 0.75  # share of the calibration pairs that must abstain
    rule: str = "f1"  # "f1": the F1-best threshold, raised to min_abstain; "abstain": the lowest reaching it
    negatives: float = 0.3  # pairs with another paragraph, per dev question
    cut_negatives: float = 0.3  # pairs with the question's paragraph minus its answer sentences, per question
    save_scores: str | Path | None = None  # also write every prediction and score to this JSON file
    from_scores: str | Path | None = None  # take predictions and scores from a save_scores file instead of reading
    batch: int = 32
    seed: int = 1234
    min_score_retrieved: float | None = None  # threshold for retrieved passages (F1-best of `qa eval`)
    minutes: float | None = None  # training time, for the card (else from the run log)
    device: str | None = None  # what it was trained on, for the card (else from the run log)
    articles: int | None = None  # only the first N dev articles (a quick check)


DEFAULTS = asdict(PackagingConfig(model="", dev="", out=""))


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
    """Fill in each item's saved prediction and score; returns the saved reading throughput.
    ``QAError`` when the file was saved for other weights or holds other items."""
    saved = json.loads(path.read_text())
    if not isinstance(saved, dict) or saved.get("weights_sha256") != digest:
        raise QAError(f"{path} was not saved for these weights; score them again without --from-scores")
    by_id = {row["id"]: row for row in saved["items"]}
    if set(by_id) != {ex["id"] for ex in items}:
        raise QAError(f"{path} holds other questions or pairs (another --dev, --negatives, --seed or --articles?)")
    for ex in items:
        ex["prediction"], ex["score"] = by_id[ex["id"]]["prediction"], by_id[ex["id"]]["score"]
    return float(saved["throughput_questions_per_s"])


def dev_figures(pos: list[dict[str, Any]], neg: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    """EM/F1 of the answerable items at ``threshold`` (withheld scores 0), and abstention on the pairs."""
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


def reader_threshold(
    pos: list[dict[str, Any]], neg: list[dict[str, Any]], min_abstain: float, rule: str = "f1"
) -> float:
    """Best overall F1 over answerable + unanswerable items, then raised to reach ``min_abstain``.

    With ``rule="abstain"``: the lowest threshold at which ``min_abstain`` of the pairs abstain,
    which withholds the fewest answers that reach that abstention rate.
    """
    needed = abstention_threshold([ex["score"] for ex in neg], min_abstain)
    if rule == "abstain":
        return needed
    f1s = [score_prediction(ex["prediction"], [a["text"] for a in ex["answers"]])[1] for ex in pos]
    best, _ = sweep_threshold([ex["score"] for ex in pos + neg], f1s + [0.0] * len(neg),
                              [0.0] * len(pos) + [1.0] * len(neg))
    return float(max(best, needed))


def score_reader(cfg: PackagingConfig) -> dict[str, Any]:
    """Read (or load) the dev questions and pairs, choose the threshold, and score it: the scores the
    card and ``qa_reader.json`` carry."""
    reader = ExtractiveReader(str(cfg.model))
    examples = squad_examples(cfg.dev)
    if cfg.articles:
        examples = [ex for ex in examples if ex["article"] < cfg.articles]
    negatives = add_negatives(examples, cfg.negatives, random.Random(cfg.seed))
    negatives += cut_answer_negatives(examples, cfg.cut_negatives, random.Random(cfg.seed + 1))
    # Only saved scores need the weights' hash; reading 45 MB for nothing is skipped.
    digest = weights_digest(Path(cfg.model)) if cfg.save_scores or cfg.from_scores else None
    if cfg.from_scores:
        throughput = load_scores(Path(cfg.from_scores), digest, examples + negatives)
    else:
        began = time.perf_counter()
        for ex, (text, score) in zip(examples, best_spans(reader, examples, cfg.batch)):
            ex["prediction"], ex["score"] = text, score
        throughput = len(examples) / (time.perf_counter() - began)
        for ex, (text, score) in zip(negatives, best_spans(reader, negatives, cfg.batch)):
            ex["prediction"], ex["score"] = text, score

    calib_pos, calib_neg = articles_of(examples, "even"), articles_of(negatives, "even")
    held_pos, held_neg = articles_of(examples, "odd"), articles_of(negatives, "odd")
    threshold = reader_threshold(calib_pos, calib_neg, cfg.min_abstain, cfg.rule)
    scores = {
        "dev_all_forced": dev_figures(examples, [], 0.0),
        "dev_all_threshold": dev_figures(examples, negatives, threshold),
        "calibration_articles": dev_figures(calib_pos, calib_neg, threshold),
        "held_out_articles": dev_figures(held_pos, held_neg, threshold),
        "throughput_questions_per_s": throughput,
        "threshold": threshold,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    if cfg.save_scores:
        keep = ("id", "article", "answers", "prediction", "score")
        Path(cfg.save_scores).write_text(json.dumps({
            "weights_sha256": digest, "throughput_questions_per_s": throughput,
            "items": [{k: ex[k] for k in keep} for ex in examples + negatives],
        }))
    return scores


def write_package(cfg: PackagingConfig, scores: dict[str, Any]) -> Path:
    """The model folder ``cfg.out``: weights, training config, ``qa_reader.json`` (threshold, scores, how
    it was packaged), the run log and the card, written beside it and renamed into place."""
    out = Path(cfg.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    source = Path(cfg.model)
    for name in WEIGHT_FILES:
        shutil.copy(source / name, tmp / name)
    training = json.loads((source / "training_config.json").read_text())
    (tmp / "training_config.json").write_text(json.dumps(training, indent=2) + "\n")
    package = {
        "options": "".join(f" --{k.replace('_', '-')} {v}" for k, v in asdict(cfg).items()
                           if k not in NOT_IN_CARD and v != DEFAULTS[k]),
        "min_score_retrieved": cfg.min_score_retrieved,
    }
    config = {"min_score": round(scores["threshold"], 4), "scores": scores, "package": package}
    if cfg.min_score_retrieved is not None:
        config["min_score_retrieved"] = cfg.min_score_retrieved
    (tmp / READER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    run = json.loads((source / RUN_LOG).read_text()) if (source / RUN_LOG).exists() else {}
    run.update({k: v for k, v in (("minutes", cfg.minutes), ("device", cfg.device)) if v is not None})
    (tmp / RUN_LOG).write_text(json.dumps(run, indent=2) + "\n")
    (tmp / "README.md").write_text(model_card(training, scores, run, package))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def package_reader(cfg: PackagingConfig) -> tuple[Path, dict[str, Any]]:
    """Score the reader in ``cfg.model`` and package it into ``cfg.out``: (the folder, its scores)."""
    scores = score_reader(cfg)
    return write_package(cfg, scores), scores


__all__ = [
    "DEFAULTS", "RULES", "WEIGHT_FILES", "PackagingConfig", "reader_threshold", "best_spans", "dev_figures",
    "load_scores", "package_reader", "score_reader", "weights_digest", "write_package",
]
