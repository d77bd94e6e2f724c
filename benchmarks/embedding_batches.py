"""How the embedder's bulk batches are formed, timed (a benchmark, not a test).

    python benchmarks/embedding_batches.py ../shared/data/squad/dev-v1.1.json --articles 12
    python benchmarks/embedding_batches.py dev-v1.1.json --backend fp32 --budget 512 --budget 1024

The sentences of the first ``--articles`` articles (split as ``qa index`` splits them) embedded by the
default embedder on ``--backend`` (auto: this machine's choice), the forms taking turns for ``--rounds``:
``64 texts``, the batching before: texts sorted by characters, 64 a pass; and ``N tokens``, the
batching of ``MeanPooledEncoder.encode``: texts sorted by tokens, about N padded token positions a pass.
Prints sentences per second (the best of each form's rounds), the padded token positions, and the lowest
cosine between a form's vectors and the first form's (padding never changes a vector).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from indexing import articles_of

from qa.embedding import SentenceEmbedder, token_batches, unit_mean
from qa.sentences import split_text


def by_characters(encoder, texts: list[str], size: int = 64) -> tuple[np.ndarray, int]:
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.empty((len(texts), encoder.get_embedding_dimension()), dtype=np.float32)
    runner, padded = encoder.runner(len(texts)), 0
    for begin in range(0, len(order), size):
        rows = order[begin : begin + size]
        feed = encoder.tokenizer.padded(encoder.tokenizer.encode([texts[i] for i in rows], encoder.max_length))
        padded += feed["input_ids"].size
        vectors[rows] = unit_mean(runner.run(feed)[0], feed["attention_mask"])
    return vectors, padded


def padded_by_tokens(encoder, texts: list[str], budget: int) -> int:
    """The token positions ``MeanPooledEncoder.encode`` runs for ``texts`` with ``budget``."""
    lengths = [len(e.ids) for e in encoder.tokenizer.encode(texts, encoder.max_length)]
    return sum(len(rows) * lengths[rows[0]] for rows in token_batches(lengths, budget))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles_file", type=Path)
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--budget", type=int, action="append", help="token budgets (default 512, 1024, 2048)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    texts = [a["text"][s:e] for a in articles_of(args.articles_file)[: args.articles] for s, e in split_text(a["text"])]
    embedder = SentenceEmbedder(backend=args.backend)
    embedder.encode(["warm up the bulk runner"] * 64)
    encoder = embedder._model
    budgets = args.budget or [512, 1024, 2048]
    forms = {"64 texts": lambda: by_characters(encoder, texts)}
    padded = {f"{b} tokens": padded_by_tokens(encoder, texts, b) for b in budgets}  # counted outside the timing
    forms |= {f"{b} tokens": (lambda b=b: (encoder.encode(texts, batch_tokens=b), padded[f"{b} tokens"]))
              for b in budgets}
    print(f"{len(texts)} sentences, embedder on {embedder.runs_on}")
    best: dict[str, float] = {}
    first, cosine = None, {}
    for _ in range(args.rounds):
        for name, form in forms.items():
            began = time.perf_counter()
            vectors, padded[name] = form()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - began)
            first = vectors if first is None else first
            cosine[name] = float(np.min(np.sum(first * vectors, axis=1)))
    base = len(texts) / best["64 texts"]
    for name in forms:
        rate = len(texts) / best[name]
        print(f"{name:>12}: {rate:6.0f} sentences/s ({rate / base:.2f}x), {padded[name]:,} token positions, "
              f"lowest cosine to the first {cosine[name]:.6f}")


if __name__ == "__main__":
    main()
