"""SQuAD-format files (v1.1/v2.0, and CoQA/QuAC in that shape): one reader and one walk over
``data[a].paragraphs[p].qas[n]`` that evaluation and training build their own records from.

    data = read_squad("dev-v1.1.json")               # the "data" list: one dict per article
    q = next(squad_questions(data))
    q.where, q.qa["question"]                        # ('data[0].paragraphs[0].qas[0]', 'Which NFL team ...')

The walk checks nothing beyond the shape it steps through: a missing key or a wrong type raises
``KeyError``, ``TypeError`` or ``AttributeError`` when it is reached, for the caller to word.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.files import read_text


@dataclass(frozen=True)
class SquadQuestion:
    """One question of a SQuAD file, with where it sits and its paragraph."""

    article: int  # index in "data"
    title: str | None  # the article's "title" as written (None when absent)
    paragraph: int  # index in the article's "paragraphs"
    context: str  # the paragraph's "context" as written
    index: int  # index in the paragraph's "qas"
    qa: dict[str, Any]  # the question's record: "id", "question", "answers", "is_impossible"...

    @property
    def where(self) -> str:
        """Its place in the file, for error messages: ``data[a].paragraphs[p].qas[n]``."""
        return f"data[{self.article}].paragraphs[{self.paragraph}].qas[{self.index}]"


@dataclass(frozen=True)
class SquadParagraph:
    """One paragraph of a SQuAD file (a story in CoQA/QuAC), with where it sits."""

    article: int
    title: str | None
    paragraph: int
    context: str
    record: dict[str, Any]  # the paragraph itself: "qas", and CoQA/QuAC's "id"

    def questions(self) -> Iterator[SquadQuestion]:
        """Its questions, in file order."""
        for n, qa in enumerate(self.record["qas"]):
            yield SquadQuestion(self.article, self.title, self.paragraph, self.context, n, qa)


def read_squad(path: str | Path) -> list[dict[str, Any]]:
    """The ``data`` list (the articles) of a SQuAD-format ``.json`` or ``.json.xz`` file;
    ``QAError`` naming the file when it is missing, unreadable or not SQuAD."""
    path = Path(path)
    text = read_text(path, "SQuAD file", "give a SQuAD-format .json or .json.xz file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QAError(f"SQuAD file {path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise QAError(f"{path} is not SQuAD JSON: it needs a \"data\" list of articles")
    return document["data"]


def squad_paragraphs(data: list[dict[str, Any]]) -> Iterator[SquadParagraph]:
    """Every paragraph of a SQuAD ``data`` list, in file order, those without questions included."""
    for a, article in enumerate(data):
        title = article.get("title")
        for p, paragraph in enumerate(article["paragraphs"]):
            yield SquadParagraph(a, title, p, paragraph["context"], paragraph)


def squad_examples(path: str | Path) -> list[dict[str, Any]]:
    """A SQuAD v1.1/v2.0 file (``.json`` or ``.json.xz``) as one flat dict per question: id, question,
    context, answers (none for SQuAD 2.0's impossible questions), article and paragraph index."""
    return [
        {
            "id": q.qa["id"],
            "question": q.qa["question"],
            "context": q.context,
            "answers": [] if q.qa.get("is_impossible") else q.qa.get("answers", []),
            "article": q.article,
            "paragraph": q.paragraph,
        }
        for q in squad_questions(read_squad(path))
    ]


def squad_questions(data: list[dict[str, Any]]) -> Iterator[SquadQuestion]:
    """Every question of a SQuAD ``data`` list, in file order.

        [q.qa["id"] for q in squad_questions(read_squad("dev-v1.1.json"))][:1]  # ['56be4db0acb8001400a502ec']
    """
    for paragraph in squad_paragraphs(data):
        yield from paragraph.questions()


__all__ = ["SquadParagraph", "SquadQuestion", "read_squad", "squad_examples", "squad_paragraphs", "squad_questions"]
