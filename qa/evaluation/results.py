"""What an evaluation run found, as data: one row per question or turn, and the report over them.

    report.to_dict()  # plain JSON-ready, rows included
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qa.evaluation.metrics import RIGHT_F1, Calibration, answerable

NO_HISTORY = "none"  # the run of a conversation evaluation that asks every turn on its own

# -- questions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResult:
    """How one question went. ``candidate`` is the best span even when the pipeline abstained,
    with the EM/F1 it would have scored: what threshold calibration needs."""

    id: str
    question: str
    answers: list[str]
    prediction: str | None
    score: float  # the best span's score, answered or not
    no_answer_score: float
    exact: float
    f1: float
    retrieved: bool | None  # a gold answer was in the passages read; None when unanswerable
    citation_ok: bool | None  # None when nothing was answered
    latency_ms: float
    cited_article: str | None = None
    cited_title: str | None = None
    cited_sentence: str | None = None
    candidate: str | None = None
    candidate_exact: float = 0.0
    candidate_f1: float = 0.0
    reader_score: float = 0.0  # the reader's span score before verification

    @property
    def answerable(self) -> bool:
        return answerable(self.answers)

    @property
    def right(self) -> bool:
        """The best candidate (answered or withheld) is right: F1 >= 0.5 against a gold answer,
        the event ``score`` is the calibrated probability of."""
        return self.answerable and self.candidate is not None and self.candidate_f1 >= RIGHT_F1


@dataclass(frozen=True)
class Report:
    """An evaluation run: settings, aggregate figures and one row per question."""

    source: str
    mode: str
    corpus: str | None
    index: str | None
    reader: str
    embedder: str | None
    min_score: float  # the threshold the run answered with
    top_passages: int | None
    questions: int
    answerable: int
    unanswerable: int
    answered: int
    abstained: int
    exact: float
    f1: float
    has_ans_exact: float | None
    has_ans_f1: float | None
    no_ans_exact: float | None
    no_ans_f1: float | None
    retrieval_recall: float | None  # answerable questions with a gold answer in the passages read
    citation_accuracy: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    throughput_qps: float | None
    seconds: float
    calibration: Calibration | None = None
    # how well ``score`` predicts a right answer: expected calibration error over the rows with a
    # candidate, and the reliability table behind it (per score bin: n, mean score, share right)
    ece: float | None = None
    reliability: list[dict[str, Any]] = field(default_factory=list)
    rows: list[QuestionResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the report, rows included."""
        return asdict(self)


# -- conversations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnResult:
    """How one turn went in one run."""

    conversation: str
    turn: int  # 0: the first question
    question: str
    query: str  # what was searched and read
    answers: list[str]
    prediction: str | None
    score: float
    exact: float
    f1: float
    right: bool  # answerable: right answer (inside a gold span, or F1 >= 0.5); unanswerable: abstained
    scored: bool
    cited_article: str | None
    own_article: bool | None  # the answer is cited from the conversation's article; None: no answer/unknown
    latency_ms: float

    @property
    def answerable(self) -> bool:
        return answerable(self.answers)


@dataclass(frozen=True)
class TurnFigures:
    """Aggregates over the scored turns of one kind (first turns, or follow-ups) of one run."""

    turns: int
    answerable: int
    f1: float | None  # over answerable turns
    exact: float | None
    right: float | None  # answerable turns answered right
    wrong_confident: int  # answers given at score >= CONFIDENT that are wrong (or to unanswerable turns)
    right_in_article: float | None  # answerable turns answered right *and* cited from their own article
    in_article: float | None  # answers cited from their own article, of answers given
    answered: float | None  # answerable turns answered
    abstention_recall: float | None  # unanswerable turns abstained on
    latency_p50_ms: float | None


@dataclass(frozen=True)
class ConversationReport:
    """A conversation evaluation: per run ("none" = no history, else the follow-up parts), first
    turns and follow-ups apart."""

    source: str
    corpus: str | None
    reader: str
    spans: bool  # answers are evidence spans: right = inside a gold span
    conversations: int
    turns: int
    runs: dict[str, dict[str, TurnFigures]]  # run -> {"first": ..., "follow-up": ...}
    seconds: float
    rows: dict[str, list[TurnResult]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


__all__ = ["NO_HISTORY", "ConversationReport", "QuestionResult", "Report", "TurnFigures", "TurnResult"]
