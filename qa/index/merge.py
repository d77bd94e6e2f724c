"""Merge policies, as plain functions of the table of contents: which segments to rewrite as one.

Every update adds at most one small segment; ``merge_small`` keeps their number bounded by merging
the smallest ones, which costs in proportion to their size, never to the index. ``optimize``
(``qa index --optimize``) rewrites the whole index as one segment without deleted articles, with
the approximate dense index if it is large enough.
"""

from __future__ import annotations

from typing import Any

MAX_SEGMENTS = 8  # more than this after an update: merge the smallest
MERGE_AT_ONCE = 4  # at least this many are merged together, so merges stay rare


def merge_small(toc: dict[str, Any]) -> list[str]:
    """Segment names to merge after an update: none while there are at most ``MAX_SEGMENTS``."""
    segments = toc["segments"]
    if len(segments) <= MAX_SEGMENTS:
        return []
    smallest = sorted(segments, key=lambda e: (e["rows"], e["name"]))
    return [e["name"] for e in smallest[: max(MERGE_AT_ONCE, len(segments) - MAX_SEGMENTS + 1)]]


def optimize(toc: dict[str, Any]) -> list[str]:
    """Every segment, unless the index already is one segment without deletions."""
    segments = toc["segments"]
    if len(segments) == 1 and not segments[0].get("deleted"):
        return []
    return [e["name"] for e in segments]
