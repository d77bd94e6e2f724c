"""The data that flows through the pipeline: articles, sentences, passages, answers.

Every record is a frozen dataclass with ``to_dict()``. Character offsets always
refer to ``Article.text``, so for any citation ``c`` of an answer ``a``:
``article.text[c.start:c.end] == a.text``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

R = TypeVar("R", bound="_Record")


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of this record (nested records included)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """The record ``to_dict()`` gave (keys it does not know are ignored); ``ValueError`` if malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"a {cls.__name__} must be a JSON object, not {type(data).__name__}")
        nested = _NESTED.get(cls.__name__, {})
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in nested:
                if not isinstance(value, list):
                    raise ValueError(f"{cls.__name__}.{f.name} must be a list")
                value = [nested[f.name].from_dict(v) for v in value]
            values[f.name] = value
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"not a {cls.__name__}: {exc}") from None


@dataclass(frozen=True)
class Article(_Record):
    """One article of the corpus; ``id`` is stable across re-indexing (derived from its path)."""

    id: str
    title: str
    text: str
    source: str  # file the article came from, relative to the corpus folder
    url: str | None = None
    date: str | None = None  # publication date, YYYY-MM-DD where it could be read
    digest: str = ""  # content hash: an unchanged article is never re-embedded
    site: str | None = None  # who published it: "Le Monde", "example.org"
    author: str | None = None
    pages: list[int] | None = None  # a PDF's: where each page begins in ``text`` (page 1 at pages[0])
    updated: str | None = None  # when a re-added URL's changed text replaced this article's (YYYY-MM-DD)

    def page_of(self, offset: int) -> int | None:
        """The page (from 1) holding character ``offset`` of the text, for an article with pages."""
        if not self.pages:
            return None
        import bisect

        return max(1, bisect.bisect_right(self.pages, offset))


@dataclass(frozen=True)
class Sentence(_Record):
    """A sentence of an article; ``article.text[start:end] == text``."""

    article_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit(_Record):
    """A retrieved sentence with its fused retrieval score (higher is better)."""

    sentence: Sentence
    score: float
    dense_score: float | None = None  # cosine similarity to the question, when dense retrieval ran


@dataclass(frozen=True)
class Passage(_Record):
    """Consecutive sentences ``first..last`` of one article, the unit the reader reads."""

    article_id: str
    title: str
    first: int  # index of the first sentence
    last: int  # index of the last sentence (inclusive)
    start: int  # char offset of the passage in the article text
    text: str
    score: float = 0.0  # best retrieval score among the hits it holds

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class Span(_Record):
    """A reader's candidate answer inside one passage (offsets relative to ``passage.text``)."""

    passage: int  # index into the passages given to the reader
    start: int
    end: int
    text: str
    score: float  # probability in [0, 1]
    # the reader's start and end logits added, before each window's normalisation: on one scale across passages
    raw: float = 0.0


@dataclass(frozen=True)
class Reading(_Record):
    """What a reader made of a question over some passages."""

    spans: list[Span]  # best first
    no_answer: list[float]  # per passage: probability that it holds no answer


@dataclass(frozen=True)
class Citation(_Record):
    """Where an answer was found: the sentence, and the answer's char span in the article."""

    article_id: str
    title: str
    sentence_index: int
    sentence: str
    start: int  # answer offsets in the article text
    end: int
    sentence_start: int = 0  # sentence offsets in the article text
    sentence_end: int = 0
    source: str = ""
    url: str | None = None
    score: float = 0.0
    date: str | None = None  # the article's publication date
    site: str | None = None  # the article's publisher
    author: str | None = None
    page: int | None = None  # the PDF page holding the answer
    updated: str | None = None  # the article's text was replaced by a newer version on this date
    # an answer that is a relative day ("Monday", "yesterday"), with the calendar date it means in an
    # article of this date: "Monday (25 March 2024)"
    when: str | None = None


@dataclass(frozen=True)
class Candidate(_Record):
    """An alternative answer that lost to the best one."""

    text: str
    score: float
    citations: list[Citation] = field(default_factory=list)
    # what the verifier weighed for it (qa.verification.Signals), as ``Answer.signals`` for the answer
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer(_Record):
    """The answer to a question: ``text`` is None when the articles don't support one."""

    question: str
    text: str | None
    # probability that ``text`` is right (of the best withheld candidate when abstaining), calibrated
    # by the reader's verifier; without a calibration, the reader's span score
    score: float
    citations: list[Citation] = field(default_factory=list)
    # other candidates, best first; when abstaining, the withheld best candidate comes first
    alternatives: list[Candidate] = field(default_factory=list)
    no_answer_score: float = 0.0  # reader's probability that the passages hold no answer
    passages: list[Passage] = field(default_factory=list)  # what the reader read
    seconds: float = 0.0
    reader_score: float = 0.0  # the reader's own span score of the best candidate, before verification
    # what the verifier weighed for the best candidate (qa.verification.Signals): why the score is what it is
    signals: dict[str, float] = field(default_factory=dict)
    # the standalone question that was searched and read: ``question`` itself, or in a conversation
    # the follow-up completed from earlier turns ("What did Emmanuel Macron propose?")
    query: str = ""

    def __post_init__(self) -> None:
        if not self.query:
            object.__setattr__(self, "query", self.question)

    @property
    def answered(self) -> bool:
        return self.text is not None


# Fields holding lists of records, for ``from_dict``
_NESTED: dict[str, dict[str, type[_Record]]] = {
    "Candidate": {"citations": Citation},
    "Answer": {"citations": Citation, "alternatives": Candidate, "passages": Passage},
    "Reading": {"spans": Span},
}
