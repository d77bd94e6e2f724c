"""Embedding throughput per backend, the bulk of indexing (a benchmark, not a test).

    python benchmarks/indexing.py ../shared/data/squad/dev-v1.1.json            # fp32 and bf16
    python benchmarks/indexing.py articles.json --sentences 10000 --backend bf16

Splits the file's texts (SQuAD paragraphs, or qa article records with "text") into sentences the
way the index does, then embeds the first ``--sentences`` of them with the packaged embedder under
each backend, after a warm-up batch. Prints sentences/s and how close each backend's vectors are to
fp32 (mean and lowest cosine).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def texts_of(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "data" in data:  # SQuAD
        return [p["context"] for a in data["data"] for p in a["paragraphs"]]
    records = data["articles"] if isinstance(data, dict) else data
    return [r["text"] for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--backend", nargs="+", default=["fp32", "bf16"])
    args = parser.parse_args()
    from qa.embedding import SentenceEmbedder
    from qa.sentences import split_text

    sentences: list[str] = []
    for text in texts_of(args.file):
        sentences += [text[s:e] for s, e in split_text(text)]
        if len(sentences) >= args.sentences:
            break
    sentences = sentences[: args.sentences]
    reference = None
    for backend in ["fp32"] + [b for b in args.backend if b != "fp32"]:
        embedder = SentenceEmbedder(backend=backend)
        embedder.encode(sentences[:64])  # warm-up: model load
        began = time.perf_counter()
        vectors = embedder.encode(sentences)
        rate = len(sentences) / (time.perf_counter() - began)
        reference = vectors if reference is None else reference
        cosine = np.sum(reference * vectors, axis=1)
        if backend in args.backend:
            print(f"{backend}: {rate:.0f} sentences/s over {len(sentences):,} sentences; cosine to fp32 "
                  f"mean {cosine.mean():.5f}, lowest {cosine.min():.5f}", flush=True)


if __name__ == "__main__":
    main()
