"""Split articles into sentences with pySBD, keeping each sentence's span in the article text.

    split_sentences(article)[0].text == article.text[s.start:s.end]
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from qa.schema import Article, Sentence

_LINES = re.compile(r"[^\n]+")


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def split_text(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``; lines never share a sentence.

    The segmenter only proposes sentence texts; spans come from finding each one in
    order in the original string, so they are exact even where it trims whitespace.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINES.finditer(text):
        cursor = line.start()
        for piece in _segmenter().segment(line.group()):
            piece = piece.strip()
            if not piece:
                continue
            start = text.find(piece, cursor, line.end())
            if start < 0:  # the segmenter altered the text: fall back to the rest of the line
                rest = text[cursor : line.end()]
                start = cursor + len(rest) - len(rest.lstrip())
                end = cursor + len(rest.rstrip())
                if end > start:
                    spans.append((start, end))
                break
            spans.append((start, start + len(piece)))
            cursor = start + len(piece)
    return spans


def split_sentences(article: Article) -> list[Sentence]:
    """The sentences of an article, numbered from 0, with exact character spans."""
    return [
        Sentence(article.id, i, start, end, article.text[start:end])
        for i, (start, end) in enumerate(split_text(article.text))
    ]
