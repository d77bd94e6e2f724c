"""Print reader and end-to-end latency on this machine (a benchmark, not a test).

    python benchmarks/latency.py                 # packaged reader, seed corpus
    python benchmarks/latency.py --reader runs/reader/model --repeat 50
    python benchmarks/latency.py --backend bf16 --index /tmp/index-bf16   # bf16 vectors: their own index

Reader: one question over 5 passages of 3 consecutive sentences each (the
pipeline's default reading load). End to end: ``QA.answer`` on the seed corpus,
retrieval included, index already built.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

QUESTIONS = [
    "Who offered Russia cooperation?",
    "How many Russians were killed in the attack?",
    "Which broadcaster reported Macron's comments?",
    "Who is the French Interior Minister?",
    "When was the Bataclan attack?",
]


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):.1f} ms  p95 {p95:.1f} ms  mean {statistics.fmean(ms):.1f} ms  (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", default=None, help="reader model (default: packaged)")
    parser.add_argument("--corpus", default="seeds")
    parser.add_argument("--index", default="index")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--backend", default="fp32", help="fp32 or bf16 (qa.backends)")
    args = parser.parse_args()

    import torch

    from qa.pipeline import QA
    from qa.schema import Passage

    if args.threads:
        torch.set_num_threads(args.threads)
    qa = QA(corpus=Path(args.corpus), index=Path(args.index), reader=args.reader, backend=args.backend)
    index = qa.index()
    article = next(iter(index.articles.values()))
    sentences = index.article_sentences(article.id)
    passages = []
    for k in range(5):
        first = (3 * k) % max(1, len(sentences) - 2)
        last = min(first + 2, len(sentences) - 1)
        start, end = sentences[first].start, sentences[last].end
        passages.append(Passage(article.id, article.title, first, last, start, article.text[start:end]))
    tokens = sum(len(p.text.split()) for p in passages)
    print(f"backend {args.backend}; torch threads {torch.get_num_threads()}; 5 passages, {tokens} words in all")

    qa.reader.read_many([(QUESTIONS[0], passages)])  # warm-up: model load, first-call allocation
    reader_times = []
    for i in range(args.repeat):
        began = time.perf_counter()
        qa.reader.read_many([(QUESTIONS[i % len(QUESTIONS)], passages)])
        reader_times.append(time.perf_counter() - began)
    print("reader, 5 passages:   " + percentiles(reader_times))

    qa.answer(QUESTIONS[0])
    e2e = []
    for i in range(args.repeat):
        began = time.perf_counter()
        qa.answer(QUESTIONS[i % len(QUESTIONS)])
        e2e.append(time.perf_counter() - began)
    print("end to end, qa.answer: " + percentiles(e2e))


if __name__ == "__main__":
    main()
