"""Indexing throughput and retrieval quality per embedder and backend (a benchmark, not a test).

    python benchmarks/indexing.py ../shared/data/squad/dev-v1.1.json           # bf16 and fp32
    python benchmarks/indexing.py dev-v1.1.json --backend bf16 --recall 0       # speed only
    python benchmarks/indexing.py dev-v1.1.json --backend bf16 \
        --embedder qa-embedder-minilm-l2 --embedder all-MiniLM-L6-v2           # student against teacher

For each embedder and backend, over the file's articles (SQuAD paragraphs joined into articles, or qa article
records with "text"), with the embedder loaded first: a full build of a fresh index (``QA.index``:
read, split into sentences, embed, write), in sentences per second, with the split and the
embedding timed apart; then the vectors' cosine to the first backend's (same embedder) and the
retrieval recall@5 of the built index on ``--recall`` questions of a SQuAD file (a gold answer
inside one of the 5 passages the reader would read; seeded sample; 0 skips it).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from squad import squad_articles


def articles_of(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "data" in data:  # SQuAD
        return squad_articles(data["data"])
    return data["articles"] if isinstance(data, dict) else data


def questions_of(path: Path, n: int) -> list[tuple[str, list[str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not (isinstance(data, dict) and "data" in data):
        return []
    questions = [(q["question"], [x["text"] for x in q["answers"]])
                 for a in data["data"] for p in a["paragraphs"] for q in p["qas"] if q.get("answers")]
    return random.Random(11).sample(questions, min(n, len(questions)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--backend", action="append", help="fp32, bf16, int8, onnx-fp32 (default: bf16 and fp32)")
    parser.add_argument("--embedder", action="append", help="embedder names (default: the default one)")
    parser.add_argument("--recall", type=int, default=2000, help="questions for recall@5 (0: none)")
    args = parser.parse_args()
    from qa.evaluation.metrics import contains_answer
    from qa.pipeline import QA
    from qa.sentences import split_text

    articles = articles_of(args.file)
    questions = questions_of(args.file, args.recall)
    references: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        (corpus / "articles.json").write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
        began = time.perf_counter()
        sentences = [a["text"][s:e] for a in articles for s, e in split_text(a["text"])]
        split = time.perf_counter() - began
        print(f"{len(articles)} articles, {len(sentences):,} sentences; splitting alone: "
              f"{len(sentences) / split:,.0f} sentences/s", flush=True)
        runs = [(e, b) for e in args.embedder or [None] for b in args.backend or ["bf16", "fp32"]]
        for n, (embedder, backend) in enumerate(runs):
            qa = QA(corpus=corpus, index=Path(tmp) / f"index-{n}", backend=backend, embedder=embedder)
            qa.embedder.encode(sentences[:64])  # warm-up: model load
            began = time.perf_counter()
            index = qa.index()
            build = time.perf_counter() - began
            vectors = index.vectors_of(range(len(index.sentences)))
            reference = references.setdefault(qa.settings.embedder, vectors)
            cosine = np.sum(reference * vectors, axis=1)
            began = time.perf_counter()
            qa.embedder.encode(sentences[:3000])
            embed = min(3000, len(sentences)) / (time.perf_counter() - began)
            line = (f"{qa.settings.embedder} {backend}: build {build:.1f} s = "
                    f"{len(index.sentences) / build:,.0f} sentences/s (embedding alone {embed:,.0f}/s); "
                    f"cosine to the first backend's vectors mean "
                    f"{cosine.mean():.5f}, lowest {cosine.min():.5f}")
            if questions:
                retriever = qa.retriever
                found = [any(contains_answer(p.text, answers) for p in retriever.retrieve(q, 5))
                         for q, answers in questions]
                line += f"; retrieval recall@5 {100 * np.mean(found):.2f}% of {len(questions):,} questions"
            print(line, flush=True)


if __name__ == "__main__":
    main()
