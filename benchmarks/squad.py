"""The articles of a SQuAD file as qa article records, for the benchmarks (standard library only, so
that benchmarks/peers.py can use it in Haystack's venv too)."""

from __future__ import annotations

from typing import Any


def squad_articles(data: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One record per article of a SQuAD file's ``data``: its paragraphs joined by blank lines."""
    return [{"id": a["title"], "title": a["title"].replace("_", " "),
             "text": "\n\n".join(p["context"] for p in a["paragraphs"])} for a in data]
