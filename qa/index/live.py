"""Which articles of a generation are live: those its segments hold minus the deleted (the table of
contents' tombstones, and articles withdrawn in memory since), and the per-segment masks of rows a
search must skip (deleted articles', and those a filter leaves out)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from qa.filters import Filters
from qa.index.segment import Segment


class LiveArticles:
    """Live article ids -> (segment, article row), and the rows each search skips."""

    def __init__(self, segments: Sequence[Segment], entries: list[dict[str, Any]]):
        self.segments = segments
        self.rows: dict[str, tuple[int, int]] = {}  # article id -> (segment, article row)
        self.deleted: list[np.ndarray | None] = []  # per segment: rows of deleted articles (None: none)
        self._excluded: dict[Filters, list[np.ndarray | None]] = {}  # recent filters' masks
        self._lock = threading.Lock()
        by_name = {e["name"]: e for e in entries}
        for s, segment in enumerate(segments):
            gone = set(by_name.get(segment.name, {}).get("deleted", []))
            mask = None
            for row, article_id in enumerate(segment.ids):
                if article_id in gone:
                    if mask is None:
                        mask = np.zeros(segment.rows, dtype=bool)
                    mask[slice(*segment.sentence_rows(row))] = True
                else:
                    self.rows[article_id] = (s, row)
            self.deleted.append(mask)

    def allows(self, article_id: str, where: Filters | None) -> bool:
        """Whether a live article passes ``where`` (any live article passes None)."""
        found = self.rows.get(article_id)
        if found is None:
            return False
        if where is None:
            return True
        segment = self.segments[found[0]]
        return where.matches(segment.dates[found[1]], segment.sites[found[1]], segment.sources[found[1]])

    def is_live(self, segment: int, row: int) -> bool:
        """Whether row ``row`` of segment ``segment``'s article table is a live article."""
        return self.rows.get(self.segments[segment].ids[row]) == (segment, row)

    def articles(self) -> Iterator[tuple[str, str, str]]:
        """(id, source file, digest) of every live article, in index order; nothing is read from disk."""
        for s, segment in enumerate(self.segments):
            for row, article_id in enumerate(segment.ids):
                if self.is_live(s, row):
                    yield article_id, segment.sources[row], segment.digests[row]

    def withdraw(self, article_ids: set[str] | list[str]) -> None:
        """Treat these articles as deleted from now on, in memory."""
        with self._lock:
            for article_id in article_ids:
                found = self.rows.pop(article_id, None)
                if found is None:
                    continue
                s, row = found
                old = self.deleted[s]
                mask = np.zeros(self.segments[s].rows, dtype=bool) if old is None else old.copy()
                mask[slice(*self.segments[s].sentence_rows(row))] = True
                self.deleted[s] = mask  # a new array: the dense search's cached selector sees the change
            self._excluded = {}

    def excluded(self, where: Filters | None) -> list[np.ndarray | None]:
        """Per segment, the rows a search must skip: deleted articles', and those ``where`` leaves out."""
        if where is None:
            return self.deleted
        if where in self._excluded:
            return self._excluded[where]
        masks: list[np.ndarray | None] = []
        for s, segment in enumerate(self.segments):
            mask = np.zeros(segment.rows, dtype=bool) if self.deleted[s] is None else self.deleted[s].copy()
            for row in range(len(segment.ids)):
                if not where.matches(segment.dates[row], segment.sites[row], segment.sources[row]):
                    mask[slice(*segment.sentence_rows(row))] = True
            masks.append(mask)
        if len(self._excluded) >= 32:
            self._excluded.clear()
        self._excluded[where] = masks
        return masks
