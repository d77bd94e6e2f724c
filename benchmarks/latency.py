"""Print answer latency on this machine, per stage and per backend (a benchmark, not a test).

    python benchmarks/latency.py                                   # seed corpus, bf16 and fp32
    python benchmarks/latency.py --squad ../shared/data/squad/dev-v1.1.json   # the 48 SQuAD-dev articles
    python benchmarks/latency.py --backend bf16 --early-exit 1     # read every passage
    python benchmarks/latency.py --cold 5                          # also: `qa ask` in a new process

For each backend (each with an index of its own under ``--index``, built first if missing):
the reader alone over 5 fixed passages of 3 sentences; then ``QA.answer`` end to end, and the same
questions stage by stage: retrieve (question embedding, FAISS, BM25, fusion, passages), read (the
reader's forward passes, both stages of the early exit) and compose (citations, verifier, the
decision), and the top passage's read right after retrieval against the same read after a pause
(a gap means retrieval leaves the cores busy). Questions: five about the seed article, or a seeded
sample of ``--questions`` from a SQuAD file whose articles are then the corpus. Each figure follows
one untimed warm-up. ``--cold N`` times ``qa ask`` in a fresh process N times, on the existing
index, to the printed answer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from squad import squad_articles

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
    return f"p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  mean {statistics.fmean(ms):6.1f} ms  (n={len(ms)})"


class TimedReader:
    """A reader that adds up the time of its ``read_many`` calls."""

    def __init__(self, reader: Any):
        self.reader, self.elapsed = reader, 0.0

    def read_many(self, items: list) -> list:
        began = time.perf_counter()
        try:
            return self.reader.read_many(items)
        finally:
            self.elapsed += time.perf_counter() - began

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


def squad_setup(path: Path, n: int, folder: Path) -> tuple[Path, list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    text = json.dumps(squad_articles(data), ensure_ascii=False)
    target = corpus / "articles.json"
    if not target.exists() or target.read_text(encoding="utf-8") != text:  # unchanged: the index stays valid
        target.write_text(text, encoding="utf-8")
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    return corpus, random.Random(7).sample(questions, min(n, len(questions)))


def run(backend: str, corpus: Path, index_dir: Path, questions: list[str], repeat: int, reader: str | None,
        early_exit: float | None) -> None:
    from qa.followup import FollowUp
    from qa.pipeline import QA
    from qa.schema import Passage

    qa = QA(corpus=corpus, index=index_dir, reader=reader, backend=backend, early_exit=early_exit)
    index = qa.index()
    timed = TimedReader(qa.reader)
    qa.reader = timed
    article = next(iter(index.articles.values()))
    sentences = index.article_sentences(article.id)
    passages = []
    for k in range(5):
        first = (3 * k) % max(1, len(sentences) - 2)
        last = min(first + 2, len(sentences) - 1)
        start, end = sentences[first].start, sentences[last].end
        passages.append(Passage(article.id, article.title, first, last, start, article.text[start:end]))
    import torch

    exit_at = getattr(qa.settings, "early_exit", "none")  # "none": a release before the early exit
    print(f"\nbackend {backend}; early exit at {exit_at}; torch threads {torch.get_num_threads()}; "
          f"{len(index.sentences):,} sentences in {corpus}")
    timed.read_many([(questions[0], passages)])  # warm-up: model load, first-call allocation
    reader_times = []
    for i in range(repeat):
        began = time.perf_counter()
        timed.read_many([(questions[i % len(questions)], passages)])
        reader_times.append(time.perf_counter() - began)
    print("reader, 5 fixed passages: " + percentiles(reader_times))

    n = max(repeat, len(questions))
    qa.answer(questions[0])
    e2e = []
    for i in range(n):
        began = time.perf_counter()
        qa.answer(questions[i % len(questions)])
        e2e.append(time.perf_counter() - began)
    print("qa.answer, end to end:    " + percentiles(e2e))
    retriever = qa.retriever
    stages: dict[str, list[float]] = {"retrieve": [], "read": [], "compose": []}
    for i in range(n):
        question = questions[i % len(questions)]
        began = time.perf_counter()
        found = qa._retrieve(retriever, FollowUp(question, question))
        retrieved = time.perf_counter()
        timed.elapsed = 0.0
        qa.answerer.read([(question, found)], None, True, retrieved)
        done = time.perf_counter()
        stages["retrieve"].append(retrieved - began)
        stages["read"].append(timed.elapsed)
        stages["compose"].append(done - retrieved - timed.elapsed)
    for name, samples in stages.items():
        print(f"  {name + ':':<23} " + percentiles(samples))
    # Something left busy by retrieval (once: OpenBLAS's spinning threads, qa.backends.serial_blas)
    # shows as the same read costing more right after retrieval than after a pause.
    after, paused = [], []
    for question in questions[:20]:
        top = qa._retrieve(retriever, FollowUp(question, question))[:1]
        for samples in (after, paused):
            began = time.perf_counter()
            qa.reader.read_many([(question, top)])
            samples.append(time.perf_counter() - began)
            time.sleep(0.2)
    print(f"top passage read right after retrieval: p50 {1000 * statistics.median(after):.1f} ms; "
          f"the same read after a 0.2 s pause: p50 {1000 * statistics.median(paused):.1f} ms")


def cold(corpus: Path, index_dir: Path, backend: str, times: int, question: str) -> None:
    qa_command = Path(sys.executable).with_name("qa")
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        subprocess.run([str(qa_command), "ask", question, "--corpus", str(corpus), "--index", str(index_dir),
                        "--backend", backend], check=True, capture_output=True, env={**os.environ})
        samples.append(time.perf_counter() - began)
    ms = sorted(1000 * s for s in samples)
    print(f"cold start, `qa ask` in a new process ({backend}): median {statistics.median(ms):.0f} ms, "
          f"fastest {ms[0]:.0f} ms (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", default=None, help="reader model (default: packaged)")
    parser.add_argument("--corpus", type=Path, default=Path("seeds"))
    parser.add_argument("--index", type=Path, default=None,
                        help="folder of the per-backend indexes (default: /tmp/qa-latency-<corpus>)")
    parser.add_argument("--squad", type=Path, help="a SQuAD file: its articles are the corpus, its questions asked")
    parser.add_argument("--questions", type=int, default=100, help="questions sampled from --squad")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--backend", action="append", help="bf16, fp32 (qa.backends); default both")
    parser.add_argument("--early-exit", type=float, default=None, help="Settings.early_exit (1: read every passage)")
    parser.add_argument("--cold", type=int, default=0, metavar="N", help="also time `qa ask` in a new process N times")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.squad.stem if args.squad else args.corpus.name
    root = args.index or Path("/tmp") / f"qa-latency-{name}"
    corpus, questions = (squad_setup(args.squad, args.questions, root) if args.squad
                         else (args.corpus, QUESTIONS))
    for backend in args.backend or ["bf16", "fp32"]:
        run(backend, corpus, root / backend, questions, args.repeat, args.reader, args.early_exit)
        if args.cold:
            cold(corpus, root / backend, backend, args.cold, questions[0])


if __name__ == "__main__":
    main()
