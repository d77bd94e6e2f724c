"""Dense retrieval recall@k of embedders on question sets of other domains (a benchmark, not a test).

    python benchmarks/retrieval_domains.py --embedder qa-embedder-minilm-l2 --embedder runs/embedder-q/model \\
        ../shared/data/conv/coqa_dev_literature.json ../shared/data/conv/quac_train_0.05.json \\
        ../shared/data/squad/dev-v1.1.json

For each SQuAD-shaped file (CoQA/QuAC conversations included: each question on its own), every
paragraph is split into sentences and all of a file's sentences form one pool; a question is a
hit at k when a sentence holding the start of its first gold answer is among the k sentences the
embedder ranks nearest (exact cosine search). QuAC's CANNOTANSWER questions are skipped. Prints
recall@1/5/20 per file and embedder, side by side, so a retriever trained for SQuAD questions can
be checked for what it kept elsewhere (fiction in CoQA literature, Wikipedia sections in QuAC).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def pool(path: Path, limit: int) -> tuple[list[str], list[str], list[int]]:
    """The file's sentences, and up to ``limit`` questions with the row of their answer's sentence."""
    from qa.sentences import split_text

    sentences: list[str] = []
    questions, gold = [], []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans = split_text(context)
            base = len(sentences)
            sentences += [context[s:e] for s, e in spans]
            for qa in paragraph["qas"]:
                answers = qa.get("answers") or []
                if not answers or answers[0].get("text", "").strip() in ("", "CANNOTANSWER"):
                    continue
                at = answers[0]["answer_start"]
                row = next((base + k for k, (s, e) in enumerate(spans) if s <= at < e), None)
                if row is not None and len(questions) < limit:
                    questions.append(qa["question"])
                    gold.append(row)
    return sentences, questions, gold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--embedder", action="append", required=True, help="name or path (repeatable)")
    parser.add_argument("--limit", type=int, default=2000, help="questions per file")
    args = parser.parse_args()
    from qa.embedding import SentenceEmbedder

    embedders = {name: SentenceEmbedder(name, backend="fp32") for name in args.embedder}
    for path in args.files:
        sentences, questions, gold = pool(path, args.limit)
        print(f"{path.name}: {len(questions)} questions, {len(sentences)} sentences")
        for name, embedder in embedders.items():
            s = np.asarray(embedder.encode(sentences), dtype=np.float32)
            q = np.asarray(embedder.encode(questions), dtype=np.float32)
            ranks = []
            for b in range(0, len(q), 256):
                scores = q[b : b + 256] @ s.T
                own = scores[np.arange(len(scores)), gold[b : b + 256]]
                ranks += list((scores > own[:, None]).sum(1))
            ranks_a = np.array(ranks)
            print(f"  {name:40} " + "  ".join(f"R@{k} {100 * (ranks_a < k).mean():5.1f}" for k in (1, 5, 20)),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
