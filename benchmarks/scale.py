"""qa's index at 10k, 100k and 1M sentences on this machine (a benchmark, not a test).

    python benchmarks/scale.py --train ../shared/data/squad/train-v1.1.reconstructed.json \\
        --dev ../shared/data/squad/dev-v1.1.json --sizes 10k,100k,1m --work /tmp/qa-scale

The corpus is real text: the SQuAD dev articles, then the train articles (one JSON file per
article, ids as ``qa eval`` gives them), about 105k sentences in all. Beyond that it holds copies of
them under other ids (``copy-<k>/<title>``): their text is not new, so the index re-uses their
vectors by content digest instead of embedding them again, and the 1M build time is the cost of
everything *but* embedding 900k sentences (the embedding rate measured on the real text says what
that would add). The sizes are built in order into one index that grows, so each build is an
update of the previous size; every figure is measured on the index as it stands:

- build: ``qa index`` in a new process (wall time, peak RSS), then ``--optimize`` at the largest size
- index size on disk
- cold start: ``qa ask`` in a new process, to the printed answer
- serving: a new process answers ``--questions`` SQuAD-dev questions: p50/p95 of ``answer()``,
  peak RSS
- adding one article (about 30 new sentences): ``qa index`` in a new process, wall time
- ANN recall@10 against exact search, for every HNSW segment, on embedded dev questions; by id and
  tie-aware (a copy's vector equals its original's, so exact search has ties an ANN may order
  otherwise: a hit counts when its exact score reaches the 10th best)
- on the real text (before copies), an HNSW index built aside, for the same recall without copies

Results are printed as they come and written to ``<work>/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from squad import squad_articles

ROOT = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).parent / "qa")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}

SERVE = """
import json, statistics, sys, time, resource
began = time.time()
from qa.pipeline import QA
qa = QA()
questions = json.load(open(sys.argv[1]))
first = qa.answer(questions[0])
ready = time.time()
times = []
for q in questions[1:]:
    t = time.perf_counter(); qa.answer(q); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"first_answer_s": ready - began, "p50_ms": 1000 * statistics.median(times),
                  "p95_ms": 1000 * times[round(0.95 * (len(times) - 1))],
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def peak_rss_of(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, the child's own peak RSS in GB (GNU time's %M) and its stdout."""
    timed = ["/usr/bin/time", "-f", "RSS_KB=%M"] + args if Path("/usr/bin/time").exists() else args
    began = time.perf_counter()
    done = subprocess.run(timed, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    kb = [line for line in done.stderr.splitlines() if line.startswith("RSS_KB=")]
    return seconds, (int(kb[-1].split("=")[1]) / 2**20 if kb else float("nan")), done.stdout


def disk_gb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**30


def sentence_counts(articles: list[dict[str, str]], cache: Path) -> list[int]:
    if cache.exists():
        counts = json.loads(cache.read_text())
        if len(counts) == len(articles):
            return counts
    from qa.sentences import split_text

    counts = [len(split_text(a["text"])) for a in articles]
    cache.write_text(json.dumps(counts))
    return counts


def grow_corpus(corpus: Path, base: list[dict[str, str]], counts: list[int], target: int) -> int:
    """Write article files until the corpus holds about ``target`` sentences; how many it holds."""
    corpus.mkdir(parents=True, exist_ok=True)
    total, copy = 0, 0
    while total < target:
        for article, count in zip(base, counts):
            if total >= target:
                break
            record = dict(article) if copy == 0 else {**article, "id": f"copy-{copy}/{article['id']}"}
            name = f"{record['id'].replace('/', '__')}.json"
            path = corpus / (f"copy-{copy}" if copy else "real") / name
            if not path.exists():
                path.parent.mkdir(exist_ok=True)
                path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            total += count
        copy += 1
    return total


def ann_recall(index: Any, queries: np.ndarray, k: int = 10) -> dict[str, float] | None:
    """Recall@k of each HNSW segment against exact search over the same segment's vectors."""
    from qa.index.dense import EXACT

    out = {}
    for segment in index.segments:
        if segment.kind == EXACT:
            continue
        approx = segment.dense.search(queries, k, None)
        exact_scores = np.asarray(segment.vectors @ queries.T).T
        strict, tied = [], []
        for row, found in zip(exact_scores, approx):
            top = np.argpartition(-row, k)[:k]
            kth = np.sort(row[top])[0]
            ids = {i for i, _ in found}
            strict.append(len(ids & set(top.tolist())) / k)
            tied.append(sum(row[i] >= kth - 1e-6 for i in ids) / k)
        out[segment.name] = {"rows": segment.rows, "recall_at_10": float(np.mean(strict)),
                             "recall_at_10_ties": float(np.mean(tied))}
    return out or None


def real_text_recall(index: Any, queries: np.ndarray, work: Path) -> dict[str, float]:
    """An HNSW index over all vectors of the real text, built aside: recall@10 and build time."""
    import faiss

    from qa.index import dense

    vectors = np.concatenate([np.asarray(s.vectors) for s in index.segments])
    began = time.perf_counter()
    dense.build_ann(vectors, work / "real.faiss")
    build = time.perf_counter() - began
    ann = faiss.read_index(str(work / "real.faiss"))
    out: dict[str, float] = {"rows": len(vectors), "build_s": build}
    exact = vectors @ queries.T
    truth = np.argsort(-exact, axis=0)[:10].T
    for ef in (32, 64, 128, 256):
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef
        began = time.perf_counter()
        _, ids = ann.search(queries, 10, params=params)
        out[f"ms_per_query_ef{ef}"] = 1000 * (time.perf_counter() - began) / len(queries)
        out[f"recall_at_10_ef{ef}"] = float(np.mean([len(set(a) & set(t)) / 10 for a, t in zip(ids, truth)]))
    began = time.perf_counter()
    _ = vectors @ queries.T
    out["exact_ms_per_query"] = 1000 * (time.perf_counter() - began) / len(queries)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--sizes", default="10k,100k,1m")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-scale"))
    parser.add_argument("--questions", type=int, default=100, help="dev questions answered per size")
    parser.add_argument("--no-optimize", action="store_true", help="skip qa index --optimize at the largest size")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    dev = json.loads(args.dev.read_text())["data"]
    base = squad_articles(dev) + squad_articles(json.loads(args.train.read_text())["data"])
    counts = sentence_counts(base, args.work / "counts.json")
    questions = [q["question"] for a in dev for p in a["paragraphs"] for q in p["qas"]][:: 10][: args.questions + 1]
    (args.work / "questions.json").write_text(json.dumps(questions))
    corpus, index_dir = args.work / "corpus", args.work / "index"
    env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(index_dir), "PYTHONPATH": str(ROOT)}
    results_path = args.work / "scale.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    sizes = args.sizes.split(",")
    from qa.embedding import SentenceEmbedder

    embedder = SentenceEmbedder()
    query_vectors = embedder.encode(questions[:200])
    for size in sizes:
        held = grow_corpus(corpus, base, counts, SIZES[size])
        r: dict[str, Any] = {"corpus_sentences": held}
        r["build_s"], r["build_peak_rss_gb"], _ = peak_rss_of([QA, "-v", "index"], env)
        steps = [("", r)]
        if size == sizes[-1] and not args.no_optimize:
            o: dict[str, Any] = {}
            o["optimize_s"], o["optimize_peak_rss_gb"], _ = peak_rss_of([QA, "index", "--optimize"], env)
            steps.append(("optimized", o))
        for label, row in steps:
            from qa.index import SentenceIndex

            index = SentenceIndex.load(index_dir)
            row["sentences"], row["articles"] = len(index.sentences), len(index.articles)
            row["segments"] = [(s.rows, s.kind) for s in index.segments]
            row["disk_gb"] = disk_gb(index_dir)
            row["ann"] = ann_recall(index, query_vectors)
            if size == "100k" and not label:
                row["real_text_hnsw"] = real_text_recall(index, query_vectors, args.work)
            del index
            row["cold_ask_s"], row["cold_ask_peak_rss_gb"], _ = peak_rss_of([QA, "ask", questions[0]], env)
            seconds, rss, out = peak_rss_of([sys.executable, "-c", SERVE, str(args.work / "questions.json")], env)
            row["serve"] = {**json.loads(out.strip().splitlines()[-1]), "peak_rss_gb_time": rss}
            added = corpus / f"added-{size}{label}.json"
            article = base[len(base) // 2]
            paragraphs = article["text"].split("\n\n")[:6]
            added.write_text(json.dumps({"id": f"added-{size}{label}", "title": "Added " + article["title"],
                                         "text": f"Added on {time.ctime()}.\n\n" + "\n\n".join(paragraphs)}))
            row["add_one_article_s"], _, out = peak_rss_of([QA, "index"], env)
            row["add_one_article_line"] = out.strip()
            key = size + (f"-{label}" if label else "")
            results[key] = row
            results_path.write_text(json.dumps(results, indent=1))
            print(key, json.dumps(row, indent=1), flush=True)
    shutil.rmtree(args.work / "real.faiss", ignore_errors=True)


if __name__ == "__main__":
    main()
