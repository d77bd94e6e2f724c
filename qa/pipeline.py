"""The question-answering pipeline: retrieve passages, read them, answer with citations or abstain.

    qa = QA(corpus="articles/", index="articles-index/")
    r = qa.answer("Who offered Russia cooperation?")
    r.text, r.score, r.citations[0].sentence

The pipeline takes its collaborators ready-made (a retriever, a reader) or
builds the real ones from settings; models load on first use, so constructing
a ``QA`` is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from qa.answerer import Answerer, Reader
from qa.answering import normalize_answer
from qa.conversation import Conversation
from qa.embedding import SentenceEmbedder
from qa.errors import QuestionError
from qa.filters import Filters
from qa.followup import FollowUp, interpret, parse_parts, speaker_of
from qa.index import SentenceIndex
from qa.index.writer import ArticleEncoder
from qa.index_service import IndexService
from qa.reader import ExtractiveReader
from qa.retrieval import HybridRetriever, passage_after
from qa.schema import Answer, Passage
from qa.settings import Settings
from qa.text import truecased
from qa.verification import Verifier


class Retriever(Protocol):
    def retrieve(self, question: str, top_passages: int | None = None, context: str = "",
                 articles: Mapping[str, float] | None = None, where: Filters | None = None) -> list[Passage]:
        """The ``top_passages`` best passages for ``question``, best first. ``context``: a follow-up's earlier
        turns, a second, weaker query; ``articles``: article id -> weight, the articles the conversation
        was answered from, to search with extra weight; ``where``: only articles these filters let
        through. ``HybridRetriever.retrieve`` is the index's own; any object with this method plugs in
        (it may treat ``context`` and ``articles`` as hints, but must honour ``where``)."""
        ...


def given_passages(passages: Any) -> list[Passage]:
    """Passages given to ``QA.read``: ``Passage`` objects as they are, plain text as a passage of article
    ``given-N``; ``QuestionError`` for anything else, or for none."""
    if isinstance(passages, (str, Passage)):
        passages = [passages]
    if not isinstance(passages, Sequence) or not passages:
        raise QuestionError(f"passages to read must be a non-empty list of texts or Passages, not {passages!r:.80}")
    found = []
    for n, p in enumerate(passages):
        if isinstance(p, str) and p.strip():
            p = Passage(f"given-{n}", "", 0, 0, 0, p)
        if not isinstance(p, Passage):
            raise QuestionError(f"passage {n} must be a non-empty text or a Passage, not {p!r:.80}")
        found.append(p)
    return found


def check_question(question: Any, max_chars: int) -> str:
    """The question, stripped; ``QuestionError`` if it is not a usable question."""
    if not isinstance(question, str):
        raise QuestionError(f"a question must be a string, not {type(question).__name__}")
    stripped = question.strip()
    if not stripped:
        raise QuestionError("the question is empty: type a question about the articles")
    if len(stripped) > max_chars:
        raise QuestionError(
            f"the question is {len(stripped)} characters long; the limit is {max_chars} "
            "(QA_MAX_QUESTION_CHARS raises it)"
        )
    return stripped


class QA:
    """Question answering over one corpus: ``answer()`` one question, ``answer_many()`` several.

    ``reader``/``embedder`` are model names or paths (or ready objects); ``retriever``
    replaces index-based retrieval altogether. Unset arguments come from ``Settings``.
    """

    def __init__(
        self, corpus: str | Path | None = None, index: str | Path | None = None,
        reader: str | Reader | None = None, embedder: str | Any | None = None,
        retriever: Retriever | None = None, settings: Settings | None = None, **overrides: Any,
    ):
        names = {k: v for k, v in (("reader", reader), ("embedder", embedder)) if isinstance(v, str)}
        self.settings = settings or Settings.load(corpus=corpus, index=index, **names, **overrides)
        reader = reader if reader is not None and not isinstance(reader, str) else \
            ExtractiveReader(self.settings.reader, max_length=self.settings.reader_tokens,
                             stride=self.settings.reader_stride, max_answer_tokens=self.settings.max_answer_tokens,
                             backend=self.settings.backend)
        # answers cite from the loaded index, unless an outside retriever found their passages
        self.answerer = Answerer(reader, self.settings, lambda: None if self._retriever else self.indexes.loaded)
        self.indexes = IndexService(self.settings, embedder if embedder is not None and not isinstance(embedder, str)
                                    else SentenceEmbedder(self.settings.embedder, backend=self.settings.backend))
        self._retriever = retriever
        self._hybrid: HybridRetriever | None = None  # follows the loaded index
        # called with (stage, seconds) after each question batch: "interpret", "retrieve", "read" (qa serve's metrics)
        self.observers: list[Callable[[str, float], None]] = []

    @property
    def reader(self) -> Reader:
        """The extractive reader (``Answerer.reader``: setting it resets the verifier)."""
        return self.answerer.reader

    @reader.setter
    def reader(self, reader: Reader) -> None:
        self.answerer.reader = reader

    @property
    def embedder(self) -> Any:
        """The sentence embedder (the index's, and the questions')."""
        return self.indexes.embedder

    @embedder.setter
    def embedder(self, embedder: Any) -> None:
        self.indexes.embedder = embedder

    # -- corpus and index -------------------------------------------------------------------

    def index(self, progress: bool = False, rebuild: bool = False, optimize: bool = False,
              encoder: ArticleEncoder | None = None) -> SentenceIndex:
        """The up-to-date index of the corpus, updated first if the corpus or embedder changed.
        ``optimize``: merge it into one segment; ``encoder``: how new articles are embedded (default: here)."""
        return self.indexes.update(progress=progress, rebuild=rebuild, optimize=optimize, encoder=encoder)

    def current_index(self) -> SentenceIndex:
        """The index questions are answered from (``IndexService.current``: the corpus folder re-checked at
        most every ``Settings.rescan_seconds``; during an update, the index loaded serves)."""
        return self.indexes.current()

    @property
    def retriever(self) -> Retriever:
        if self._retriever is not None:
            return self._retriever
        index = self.current_index()
        hybrid = self._hybrid
        if hybrid is None or hybrid.index is not index:
            hybrid = self._hybrid = HybridRetriever(
                index, self.embedder, hits=self.settings.hits, window=self.settings.window,
                top_passages=self.settings.top_passages, article_weight=self.settings.article_weight,
                title_weight=self.settings.title_weight,
            )
        return hybrid

    # -- answering ------------------------------------------------------------------------

    def answer(self, question: str, min_score: float | None = None,
               history: Sequence[Answer] | None = None, follow_up: str | None = None,
               where: Filters | None = None) -> Answer:
        """Answer one question from the corpus, or abstain (``text=None``) when it holds no answer.

        ``history``: earlier answers of the conversation, oldest first; a follow-up ("What did he
        propose?") is then completed and searched with them in view (``Answer.query`` says how).
        ``follow_up``: what it takes from the history, as ``Settings.follow_up`` (default: the settings').
        ``where``: answer only from the articles these filters let through (``Filters.parse(since=...)``).
        """
        return self.answer_many([question], min_score=min_score, history=history, follow_up=follow_up,
                                where=where)[0]

    def answer_many(self, questions: Iterable[str], min_score: float | None = None,
                    history: Sequence[Answer] | None = None, follow_up: str | None = None,
                    where: Filters | None = None) -> list[Answer]:
        """Answer several questions (each with the same ``history``), reading passages in shared batches."""
        questions = [check_question(q, self.settings.max_question_chars) for q in questions]
        if where is not None and not isinstance(where, Filters):
            raise QuestionError("where must be qa.filters.Filters (Filters.parse(since=..., until=..., source=...))")
        began = time.perf_counter()
        retriever = self.retriever
        follow_ups = [self.interpret(q, history, follow_up) for q in questions]
        spent = {"interpret": time.perf_counter() - began, "retrieve": 0.0, "read": 0.0}
        said = {normalize_answer(a.text) for a in (history or [])[-3:] if a.text}
        best = self.answerer.choose(follow_ups, lambda r: self._retrieve(retriever, r, where), min_score, began,
                                    said, spent)
        seconds = (time.perf_counter() - began) / max(1, len(questions))
        for observe in self.observers:
            for stage, took in spent.items():
                observe(stage, took)
        return [replace(a, seconds=seconds) for a in best]

    def chat(self, max_turns: int | None = None, id: str | None = None, follow_up: str | None = None) -> Conversation:
        """A new ``Conversation`` over this corpus: ``c.ask(question)`` answers with the earlier turns in view.

            c = QA(corpus="articles/").chat()
            c.ask("Who offered Russia cooperation?"); c.ask("Which day?").query
        """
        return Conversation(self, max_turns=max_turns, id=id, follow_up=follow_up)

    def interpret(self, question: str, history: Sequence[Answer] | None, follow_up: str | None = None) -> FollowUp:
        """``question`` read in the light of ``history`` (see ``qa.followup``); as asked without history."""
        turns = max(0, self.settings.history_turns)
        if not history or not turns:
            return FollowUp(question, question)
        if isinstance(history, (str, Answer)) or not all(isinstance(a, Answer) for a in history):
            raise QuestionError("history must be a list of earlier answers (qa.Answer, oldest first), "
                                "as QA.answer() and Conversation.ask() return them")
        known = None
        if self._retriever is None:
            known = self.current_index().articles
        parts = self.settings.follow_up if follow_up is None else follow_up
        recent = list(history)[-turns:]
        # typed in lower case ("and zakharova?"): the names take the capitals the conversation's articles give
        # them, in the question and in the turns before it ("what did darmanin say" + "when")
        read = "\n".join(p.text for a in recent[-3:] for p in a.passages[:2])
        asked = truecased(question, read)
        recent = [replace(a, query=truecased(a.query or a.question, read)) for a in recent]
        found = interpret(asked, recent, known, parse_parts(parts))
        return replace(found, question=question) if asked != question else found

    def _retrieve(self, retriever: Retriever, follow_up: FollowUp, where: Filters | None = None) -> list[Passage]:
        """The passages to read for ``follow_up``: a question read with the conversation in view reads only
        its best ``Settings.follow_up_passages`` (the focus on the conversation's articles has found them;
        more passages add distractors and time)."""
        if follow_up.after is not None:  # "What did she say next?": what the article says after the last answer
            index = self.current_index()
            article_id, offset = follow_up.after
            after = passage_after(index, article_id, offset, speaker_of(follow_up.query)) \
                if index.allows(article_id, where) else None
            if after is not None:
                return [after]
        limit = self.settings.top_passages
        found = retriever.retrieve(follow_up.query, limit, context=follow_up.context, articles=follow_up.articles,
                                   where=where)
        return found[: self.settings.follow_up_passages] if follow_up.uses_history else found

    def read(self, question: str, passages: str | Passage | Sequence[str | Passage], min_score: float | None = None,
             retrieved: bool = False) -> Answer:
        """Answer from given passages, skipping retrieval (the evaluation's reader mode). A passage may
        be plain text: its citation then names article ``given-N``, N its place in ``passages``."""
        return self.read_many([(question, passages)], min_score, retrieved)[0]

    def read_many(self, items: Sequence[tuple[str, str | Passage | Sequence[str | Passage]]],
                  min_score: float | None = None, retrieved: bool = False) -> list[Answer]:
        """``read`` for several questions, in shared batches. ``retrieved``: the passages came from a
        retriever (scored and thresholded as ``answer()`` does), not given as the gold paragraph."""
        items = [(check_question(q, self.settings.max_question_chars), given_passages(ps)) for q, ps in items]
        return self.answerer.read(items, min_score, retrieved, time.perf_counter())

    @property
    def verifier(self) -> Verifier:
        """Turns an answer's signals into the probability that it is right (the reader's calibration)."""
        return self.answerer.verifier

    def threshold(self, min_score: float | None = None, retrieved: bool = False, follow_up: bool = False) -> float:
        """The answer score below which we abstain (``Answerer.threshold``)."""
        return self.answerer.threshold(min_score, retrieved, follow_up)
