"""BM25 search over all the segments of a generation as one corpus: each segment's postings rescored
with the statistics of all of them (``qa.index.lexical``), a text's scores computed once and kept for
the next few calls (a question is searched, then scored within the articles its conversation cites)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

import qa.index.lexical as lexical
from qa.index.dense import top_rows

RECENT_TEXTS = 8


class CorpusBM25:
    """BM25 over ``indexes`` (one per segment), positions numbered from each segment's ``offsets``."""

    def __init__(self, indexes: Sequence[lexical.LexicalIndex], offsets: Sequence[int]):
        self.indexes, self.offsets = indexes, offsets
        self._recent: dict[str, list[Any]] = {}  # recent texts' scores per segment
        self._lock = threading.Lock()

    def terms(self, text: str) -> lexical.Query:
        """``text``'s BM25 terms found in the corpus, with the whole corpus's statistics."""
        return lexical.query_terms(self.indexes, text)

    def scores(self, text: str) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Per segment, the rows ``text`` scores and their scores (callers never write to the arrays)."""
        with self._lock:
            found = self._recent.get(text)
        if found is None:
            terms = self.terms(text)
            found = [index.scores(terms) if terms.terms else None for index in self.indexes]
            with self._lock:
                if len(self._recent) >= RECENT_TEXTS:
                    self._recent.pop(next(iter(self._recent)))
                self._recent[text] = found
        return found

    def search(self, text: str, k: int, excluded: Sequence[np.ndarray | None]) -> list[tuple[int, float]]:
        """Up to ``k`` (position, score) pairs, best first, positive scores only, skipping ``excluded`` rows."""
        hits: list[tuple[int, float]] = []
        for s, found in enumerate(self.scores(text)):
            if found is None:
                continue
            rows, scores = found
            if excluded[s] is not None:
                keep = ~excluded[s][rows]
                rows, scores = rows[keep], scores[keep]
            top = top_rows(scores, k)
            hits.extend((self.offsets[s] + int(rows[i]), float(scores[i])) for i in top if scores[i] > 0)
        return sorted(hits, key=lambda h: (-h[1], h[0]))[:k]

    def scores_at(self, text: str, located: Sequence[tuple[int, int]]) -> np.ndarray | None:
        """Scores of ``text`` for the sentences at (segment, row) ``located``; None when no term occurs."""
        by_segment = self.scores(text)
        if all(found is None for found in by_segment):
            return None
        out = np.zeros(len(located), dtype=np.float32)
        for i, (s, row) in enumerate(located):
            if by_segment[s] is not None:
                rows, scores = by_segment[s]
                at = int(np.searchsorted(rows, row))
                if at < len(rows) and rows[at] == row:
                    out[i] = scores[at]
        return out
