"""A SQuAD 2.0-style file: a SQuAD v1.1 file's questions plus unanswerable pairs of every kind.

    write_pairs_file("dev-v1.1.json", "runs/dev-pairs-odd.json", articles="odd")

The pairs are made by ``qa.training.negatives``; the file is read by ``qa eval --mode reader``
(abstention on SQuAD 2.0-style pairs at the shipped threshold) and by ``qa train-reader --train``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from qa.squad import squad_examples
from qa.training.negatives import make_negatives, write_pairs

# unanswerable pairs per question, by kind: about one per answerable question in all, like SQuAD 2.0 dev
SHARES = {"other": 0.15, "hard": 0.2, "cut": 0.2, "swap": 0.4, "antonym": 0.6, "negation": 0.08, "condition": 0.15}
ARTICLES = ("all", "even", "odd")


def articles_of(examples: list[dict[str, Any]], articles: str) -> list[dict[str, Any]]:
    """The examples of the even- or odd-numbered articles (or "all")."""
    if articles not in ARTICLES:
        raise ValueError(f"articles must be one of {', '.join(ARTICLES)}, not {articles!r}")
    if articles == "all":
        return examples
    return [ex for ex in examples if ex["article"] % 2 == (articles == "odd")]


def write_pairs_file(squad: str | Path, out: str | Path, articles: str = "all",
                     shares: dict[str, float] | None = None, seed: int = 7) -> tuple[Path, int, Counter[str]]:
    """Write the questions of ``squad`` (of ``articles``) and their pairs to ``out`` (.json or .json.xz);
    (the file written, answerable questions, unanswerable pairs per kind)."""
    examples = articles_of(squad_examples(squad), articles)
    negatives = make_negatives(examples, SHARES if shares is None else shares, seed)
    path = write_pairs(examples, negatives, out)
    return path, len(examples), Counter(n["kind"] for n in negatives)


__all__ = ["ARTICLES", "SHARES", "articles_of", "write_pairs_file"]
