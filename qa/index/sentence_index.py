"""The index as the retriever sees it: the live segments of one generation behind one numbering.

A sentence's *position* is its row in the concatenation of the generation's segments; positions of
deleted articles are never returned. Articles and sentences are read on demand:

    index = SentenceIndex.load("index")
    index.search(vectors, 10)            # [[(position, cosine), ...], ...]
    index.lexical("Who offered Russia cooperation?", 10)
    index.sentences[position].text, index.articles["macron.txt"].title
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import CorruptIndexError
from qa.filters import Filters
from qa.index import lexical
from qa.index.bm25_search import CorpusBM25
from qa.index.live import LiveArticles
from qa.index.segment import Segment
from qa.index.toc import read_current
from qa.ingest import Skipped
from qa.schema import Article, Sentence
from qa.sentences import SPLITTER


class SentenceIndex:
    """Articles, their sentences and one unit vector per sentence, over immutable segments."""

    def __init__(self, folder: Path, manifest: dict[str, Any], segments: list[Segment]):
        self.folder = folder
        self.manifest = manifest
        self.segments = segments
        self._offsets = [0]
        for segment in segments:
            self._offsets.append(self._offsets[-1] + segment.rows)
        self.live = LiveArticles(segments, manifest.get("segments", []))  # what is not deleted
        self._live = self.live.rows  # article id -> (segment, article row)
        self.bm25 = CorpusBM25([segment.lexical for segment in segments], self._offsets)
        self._agreement: dict[int, float] = {}  # embedder -> lowest cosine of the probe (agreement)
        self._lock = threading.Lock()
        self.articles: Mapping[str, Article] = _Articles(self)
        self.sentences: SentenceTable = SentenceTable(self)

    @classmethod
    def load(cls, folder: str | Path) -> SentenceIndex:
        """Open the current generation; ``CorruptIndexError`` says what is wrong with it."""
        folder = Path(folder)
        manifest = read_current(folder)
        try:
            segments = [Segment(folder / entry["name"]) for entry in manifest["segments"]]
        except (KeyError, TypeError) as exc:
            raise CorruptIndexError(f"index at {folder} is unreadable (bad segment entry: {exc})") from exc
        for segment in segments:
            if segment.dimension != manifest.get("dimension"):
                raise CorruptIndexError(f"index at {folder} is inconsistent: segment {segment.name} has "
                                        f"dimension {segment.dimension}, the index {manifest.get('dimension')}")
        return cls(folder, manifest, segments)

    # -- what it holds ------------------------------------------------------------------------

    @property
    def skipped(self) -> list[Skipped]:
        return [Skipped(**s) for s in self.manifest.get("skipped", [])]

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def allows(self, article_id: str, where: Filters | None) -> bool:
        """Whether a live article passes ``where`` (any live article passes None)."""
        return self.live.allows(article_id, where)

    def is_current(self, embedder: str, files: dict[str, list[int]]) -> bool:
        """Whether this generation indexes exactly these corpus files with this embedder and splitter, every
        segment's words as ``qa.index.lexical.tokenize`` makes them now."""
        return self.embedder == embedder and self.manifest.get("files") == files and self.splitter == SPLITTER \
            and not self.lexically_stale

    @property
    def lexically_stale(self) -> list[str]:
        """The segments whose BM25 terms an older tokenizer made (``qa.index.lexical.TOKENIZER``)."""
        return [e["name"] for e in self.manifest.get("segments", []) if e.get("lexical") != lexical.TOKENIZER]

    @property
    def embedder(self) -> str:
        """The embedding model the vectors are from; indexes that named a backend with it
        (``all-MiniLM-L6-v2@bf16``) were made by that model too."""
        return str(self.manifest.get("embedder", "")).split("@", 1)[0]

    def agreement(self, embedder: Any, probes: int = 8) -> float:
        """The lowest cosine between stored vectors of ``probes`` sentences spread over the index and the
        vectors ``embedder`` gives them now: how far its backend's arithmetic is from the index's
        (1.0 for an empty index). Computed once per embedder and index."""
        key = id(embedder)
        with self._lock:
            if key in self._agreement:
                return self._agreement[key]
        total = self._offsets[-1]
        if total == 0:
            return 1.0
        positions = sorted({int(p) for p in np.linspace(0, total - 1, min(probes, total))})
        stored = self.vectors_of(positions)
        fresh = np.asarray(embedder.encode([self.sentence(p).text for p in positions]), dtype=np.float32)
        lowest = float(np.min(np.sum(stored * fresh, axis=1)))
        with self._lock:
            self._agreement[key] = lowest
        return lowest

    @property
    def splitter(self) -> str:
        """The sentence splitter the index was built with (indexes from before it was recorded: pySBD)."""
        return str(self.manifest.get("splitter", "pysbd"))

    def _locate(self, position: int) -> tuple[int, int]:
        s = bisect.bisect_right(self._offsets, position) - 1
        if not 0 <= s < len(self.segments) or position < 0:
            raise IndexError(f"sentence position {position} is outside the index")
        return s, position - self._offsets[s]

    def sentence(self, position: int) -> Sentence:
        s, row = self._locate(position)
        segment = self.segments[s]
        article_row = segment.article_row(row)
        article = segment.article(article_row)
        start, end = (int(x) for x in segment.spans[row])
        return Sentence(article.id, row - int(segment.first[article_row]), start, end, article.text[start:end])

    def article_positions(self, article_id: str) -> list[int]:
        """Positions of one article's sentences, in order (empty for an unknown article)."""
        where = self._live.get(article_id)
        if where is None:
            return []
        s, row = where
        begin, end = self.segments[s].sentence_rows(row)
        return list(range(self._offsets[s] + begin, self._offsets[s] + end))

    def sentence_at(self, article_id: str, offset: int) -> Sentence | None:
        """The sentence of an article that holds character ``offset`` of its text, if any."""
        where = self._live.get(article_id)
        if where is None:
            return None
        s, row = where
        begin, end = self.segments[s].sentence_rows(row)
        spans = self.segments[s].spans[begin:end]
        i = int(np.searchsorted(spans[:, 0], offset, side="right")) - 1
        if i < 0 or not spans[i, 0] <= offset < spans[i, 1]:
            return None
        return self.sentence(self._offsets[s] + begin + i)

    def article_sentences(self, article_id: str) -> list[Sentence]:
        return [self.sentence(p) for p in self.article_positions(article_id)]

    def vectors_of(self, positions: Sequence[int]) -> np.ndarray:
        """The exact vectors of sentences at ``positions``, one row each."""
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        for i, position in enumerate(positions):
            s, row = self._locate(position)
            out[i] = self.segments[s].vectors[row]
        return out

    def withdraw(self, article_ids: set[str] | list[str]) -> None:
        """Treat these articles as deleted from now on, in memory (the next generation on disk deletes
        them for good): no search returns their sentences and ``articles`` no longer lists them."""
        self.live.withdraw(article_ids)

    def search(self, queries: np.ndarray, k: int, where: Filters | None = None) -> list[list[tuple[int, float]]]:
        """For each query vector, up to ``k`` (position, cosine) pairs over all segments, best first;
        ``where``: only sentences of the articles it lets through."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        merged: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
        excluded = self.live.excluded(where)
        for s, segment in enumerate(self.segments):
            offset = self._offsets[s]
            if excluded[s] is not None and excluded[s].all():
                continue
            for out, found in zip(merged, segment.dense.search(queries, k, excluded[s])):
                out.extend((offset + row, score) for row, score in found)
        return [sorted(hits, key=lambda h: (-h[1], h[0]))[:k] for hits in merged]

    def lexical(self, text: str, k: int, where: Filters | None = None) -> list[tuple[int, float]]:
        """Up to ``k`` (position, BM25 score) pairs for ``text``, best first; only positive scores;
        ``where``: only sentences of the articles it lets through."""
        return self.bm25.search(text, k, self.live.excluded(where))

    def lexical_scores(self, text: str, positions: Sequence[int]) -> np.ndarray | None:
        """BM25 scores of ``text`` for the sentences at ``positions``; None when no term of it occurs."""
        return self.bm25.scores_at(text, [self._locate(p) for p in positions])


class SentenceTable(Sequence[Sentence]):
    """The index's sentences: ``table[position]`` reads one; ``len`` and iteration cover live ones only."""

    def __init__(self, index: SentenceIndex):
        self._index = index

    def __len__(self) -> int:
        return int(self._index.manifest.get("sentences", 0))

    def __getitem__(self, position: int) -> Sentence:  # type: ignore[override]
        return self._index.sentence(position)

    def __iter__(self) -> Iterator[Sentence]:
        for article_id, _, _ in self._index.live.articles():
            yield from self._index.article_sentences(article_id)


class _Articles(Mapping[str, Article]):
    """Live articles by id; texts are read from the segment's store on demand."""

    def __init__(self, index: SentenceIndex):
        self._index = index

    def __getitem__(self, article_id: str) -> Article:
        s, row = self._index._live[article_id]
        return self._index.segments[s].article(row)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._index._live

    def __iter__(self) -> Iterator[str]:
        return (article_id for article_id, _, _ in self._index.live.articles())

    def __len__(self) -> int:
        return len(self._index._live)
