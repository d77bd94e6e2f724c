"""Answer quality as the archive grows (a benchmark, not a test).

    python benchmarks/archive.py --dev ../shared/data/squad/dev-v1.1.json \\
        --train ../shared/data/squad/train-v1.1.reconstructed.json --sizes 10k,30k,100k \\
        --run before=/tmp/before --run now=. --work /tmp/qa-archive

One archive grows: the SQuAD dev articles (the questions' own articles, always inside), then SQuAD
train articles in file order as distractors, until it holds about each size in sentences. The
questions are ``--questions`` dev questions spread over all dev articles (every k-th). Each
``--run NAME=CHECKOUT`` answers them with that checkout's code and packaged models (``PYTHONPATH``
pointing at it), each with its own index per size, so two versions are measured side by side in
one run. For each run and size it reports:

- F1 and EM with the shipped thresholds, and F1 when always answering (the best candidate, withheld
  or not);
- retrieval recall (a gold answer in the passages read), the share of answers cited from the
  question's own article, answered;
- p50 latency of ``answer()``, and the index build time.

Results are printed as they come and written to ``<work>/archive.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scale import SIZES, grow_corpus, sentence_counts
from squad import squad_articles

SIZES = {**SIZES, "30k": 30_000}


def question_file(dev: dict[str, Any], count: int, path: Path) -> int:
    """A SQuAD-shaped file of ``count`` dev questions, every k-th, in their articles and paragraphs."""
    total = sum(len(p["qas"]) for a in dev["data"] for p in a["paragraphs"])
    step = max(1, total // count)
    n, kept = 0, []
    for article in dev["data"]:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            qas = []
            for qa in paragraph["qas"]:
                if n % step == 0 and sum(len(p["qas"]) for a in kept for p in a["paragraphs"]) + \
                        sum(len(p["qas"]) for p in paragraphs) + len(qas) < count:
                    qas.append(qa)
                n += 1
            if qas:
                paragraphs.append({**paragraph, "qas": qas})
        if paragraphs:
            kept.append({**article, "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "1.1", "data": kept}), encoding="utf-8")
    return sum(len(p["qas"]) for a in kept for p in a["paragraphs"])


def run_eval(name: str, checkout: Path, corpus: Path, index: Path, questions: Path, out: Path) -> dict[str, Any]:
    """Build the index and answer the questions with ``checkout``'s code; the figures of its report."""
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve()), "QA_CORPUS": str(corpus), "QA_INDEX": str(index)}
    cli = [sys.executable, "-c", "from qa.cli import main; main()"]
    began = time.perf_counter()
    subprocess.run([*cli, "index"], cwd=checkout, env=env, check=True, capture_output=True)
    build = time.perf_counter() - began
    done = subprocess.run([*cli, "eval", str(questions.resolve()), "--corpus", str(corpus), "--index", str(index),
                           "--out", str(out)], cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name}: qa eval failed:\n{done.stderr[-3000:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    titles = {q["id"]: a["title"] for a in json.loads(questions.read_text())["data"]
              for p in a["paragraphs"] for q in p["qas"]}
    rows = [r for r in report["rows"] if r["answers"]]
    answered = [r for r in rows if r["prediction"] is not None]
    own = [r for r in answered if r.get("cited_article") is not None]
    return {
        "build_s": round(build, 1),
        "f1": round(100 * statistics.mean(r["f1"] for r in rows), 1),
        "em": round(100 * statistics.mean(r["exact"] for r in rows), 1),
        "f1_always": round(100 * statistics.mean(r.get("candidate_f1", r["f1"]) for r in rows), 1),
        "answered": round(100 * len(answered) / len(rows), 1),
        "recall": round(100 * statistics.mean(bool(r["retrieved"]) for r in rows), 1),
        "own_article": round(100 * statistics.mean(
            (r["cited_article"] or "").split("#")[-1].removesuffix(".json") in {titles[r["id"]],
                                                                               titles[r["id"]].replace("/", "__")}
            for r in own), 1) if own else None,
        "p50_ms": round(statistics.median(r["latency_ms"] for r in report["rows"]), 1),
        "questions": len(rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--sizes", default="10k,30k,100k")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--run", action="append", default=[], metavar="NAME=CHECKOUT",
                        help="a version to measure: a name and the folder of its checkout (repeatable)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-archive"))
    args = parser.parse_args()
    runs = dict(r.split("=", 1) for r in args.run) or {"now": "."}
    args.work.mkdir(parents=True, exist_ok=True)
    dev = json.loads(args.dev.read_text(encoding="utf-8"))
    base = squad_articles(dev["data"]) + squad_articles(json.loads(args.train.read_text(encoding="utf-8"))["data"])
    counts = sentence_counts(base, args.work / "counts.json")
    questions = args.work / "questions.json"
    print(f"{question_file(dev, args.questions, questions)} questions over {len(dev['data'])} dev articles")
    results_path = args.work / "archive.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for size in args.sizes.split(","):
        corpus = args.work / f"corpus-{size}"
        held = grow_corpus(corpus, base, counts, max(SIZES[size], sum(counts[: len(dev["data"])])))
        copies = sorted(p.name for p in corpus.glob("copy-*"))
        if copies:  # the files hold too few sentences: articles repeat, the questions' own first
            print(f"warning: {size} repeats articles ({', '.join(copies)}): the files hold {sum(counts):,} "
                  "sentences; each question's article is then there twice and answers cite either copy", flush=True)
        for name, checkout in runs.items():
            row = run_eval(name, Path(checkout), corpus, args.work / f"index-{name}-{size}", questions,
                           args.work / f"{name}-{size}.json")
            results[f"{name}@{size}"] = {"sentences": held, **row}
            print(f"{size} ({held:,} sentences) {name}: {json.dumps(row)}", flush=True)
            results_path.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
