"""BM25 over sentences: built and saved per segment by bm25s, memory-mapped when opened, so opening
an index never re-tokenizes its sentences.

bm25s stores each (term, sentence) score computed with its own segment's statistics: the term's
IDF and the average sentence length. A small segment (one added article) would then weigh words
very differently from a large one, so ``LexicalIndex.scores`` recomputes each posting's score with
the statistics of all segments together (each segment keeps its sentence lengths for that): the
scores are those of one BM25 index over the whole corpus (deleted rows still count until a merge).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.text import stemmer

# what ``tokenize`` makes of a text, recorded with each segment: a segment tokenized otherwise has its BM25
# rewritten (``qa.index.writer``), its vectors kept
TOKENIZER = "bm25s-en-snowball+joined"
# a name written with hyphens or full stops, one part a single character or every part capitals: "IS-K",
# "U.S.", "F-16", "COVID-19"; bm25s keeps only words of two characters or more that are no stopword, so
# "IS-K" would be nothing at all and "U.S." nothing either
_JOINED = re.compile(r"(?<![\w.-])[^\W_]+(?:[-.][^\W_]+)+\.?(?![\w-])")


def joined_terms(text: str) -> str:
    """The names in ``text`` written with hyphens or full stops whose parts BM25 would lose, each as one
    term of its parts joined by underscores ("IS-K" -> "is_k", "U.S." -> "u_s"); "" for none."""
    terms = []
    for m in _JOINED.finditer(text):
        parts = re.split(r"[-.]", m.group().rstrip("."))
        if len(parts) > 1 and (any(len(p) == 1 for p in parts) or all(p.isupper() for p in parts if p.isalpha())):
            terms.append("_".join(p.lower() for p in parts))
    return " ".join(terms)


def tokenize(texts: list[str]) -> list[list[str]]:
    """The BM25 terms of each text: lower-cased words, English stopwords out, Snowball-stemmed; and each name
    written with hyphens or full stops as one term (``joined_terms``: "What does IS-K stand for?" has
    "is_k", as the sentence that spells IS-K out does)."""
    import bm25s

    texts = [f"{t} {extra}" if (extra := joined_terms(t)) else t for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False, return_ids=False)


def write(folder: Path, texts: list[str]) -> None:
    """Index ``texts`` (a segment's sentences, in row order) into ``folder``."""
    import bm25s

    bm25 = bm25s.BM25()
    tokens = tokenize(texts)
    if not any(tokens):  # nothing but stopwords: bm25s needs one term to build its matrix
        tokens = [["\x00"]] + tokens[1:]
    bm25.index(tokens, show_progress=False)
    bm25.save(folder, show_progress=False)
    np.save(folder / LENGTHS, np.array([len(t) for t in tokens], dtype=np.int32))


LENGTHS = "lengths.npy"


def _idf(df: float, n: float) -> float:
    """BM25's IDF as bm25s computes it by default (method "lucene")."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class LexicalIndex:
    """One segment's BM25 postings and sentence lengths, memory-mapped."""

    def __init__(self, folder: Path):
        import bm25s

        bm25 = bm25s.BM25.load(folder, mmap=True, show_progress=False)
        self.vocab: dict[str, int] = bm25.vocab_dict
        self.data, self.indices, self.indptr = (bm25.scores[k] for k in ("data", "indices", "indptr"))
        self.rows = int(bm25.scores["num_docs"])
        self.k1, self.b = float(bm25.k1), float(bm25.b)
        self.lengths = np.load(folder / LENGTHS, mmap_mode="r")
        if len(self.lengths) != self.rows:
            raise ValueError(f"{len(self.lengths)} sentence lengths for {self.rows} rows")
        self.total_length = int(np.asarray(self.lengths, dtype=np.int64).sum())

    def df(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None else int(self.indptr[t + 1] - self.indptr[t])

    def scores(self, query: Query) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows holding a term of ``query`` (sorted) and their BM25 scores with corpus-wide
        statistics; None if no term occurs here. Sparse: a million-row segment costs its postings only."""
        k1, b = self.k1, self.b
        own_avg = max(self.total_length / max(self.rows, 1), 1e-9)
        found_rows, found_scores = [], []
        for term, idf in query.terms:
            t = self.vocab.get(term)
            if t is None:
                continue
            begin, end = int(self.indptr[t]), int(self.indptr[t + 1])
            if end == begin:
                continue
            rows = np.asarray(self.indices[begin:end], dtype=np.int64)
            length = np.asarray(self.lengths[rows], dtype=np.float64)
            # undo this segment's statistics: bm25s ("lucene") stores idf * tf / (tf + k1 (1 - b + b len / avg))
            x = np.asarray(self.data[begin:end], dtype=np.float64) / _idf(end - begin, self.rows)
            tf = k1 * (1 - b + b * length / own_avg) * x / np.maximum(1 - x, 1e-9)
            found_rows.append(rows)
            found_scores.append(idf * tf / (tf + k1 * (1 - b + b * length / query.average_length)))
        if not found_rows:
            return None
        rows, where = np.unique(np.concatenate(found_rows), return_inverse=True)
        return rows, np.bincount(where, weights=np.concatenate(found_scores)).astype(np.float32)


@dataclass(frozen=True)
class Query:
    """A text's BM25 terms that occur in the corpus, with their IDF over all segments, and the
    average sentence length over all segments."""

    terms: list[tuple[str, float]]
    average_length: float


def query_terms(indexes: Sequence[LexicalIndex], text: str) -> Query:
    n = sum(ix.rows for ix in indexes)
    terms = []
    for term in dict.fromkeys(tokenize([text])[0]):  # a repeated word counts once, as in bm25s
        df = sum(ix.df(term) for ix in indexes)
        if df:
            terms.append((term, _idf(df, n)))
    return Query(terms, max(sum(ix.total_length for ix in indexes) / max(n, 1), 1e-9))
