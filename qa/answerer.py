"""Reading passages into answers: the reader's batches, the early exit, the thresholds and the verifier.

    answerer = Answerer(reader, settings, index=lambda: qa.indexes.loaded)
    answers = answerer.read([(question, passages)], min_score=None, retrieved=True, began=time.perf_counter())

``QA`` retrieves and chooses among a follow-up's readings; this is what it hands the passages to:
the reader reads them (best first, stopping early when the top passage's answer is already probably
right, and a withheld answer's top passages again, three sentences at a time, as those of an answer
from a sentence with none of the question's words),
``qa.answering.compose`` turns each reading into a cited, scored ``Answer``, and the threshold for
its kind of question (given or retrieved passages, a follow-up read with history) decides whether
it is shown.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from qa.answering import compose, joined, normalize_answer
from qa.followup import FollowUp, respelled
from qa.retrieval import passage_of
from qa.schema import Answer, Passage, Reading
from qa.text import abbreviates
from qa.verification import Verifier

if TYPE_CHECKING:
    from qa.index import SentenceIndex
    from qa.settings import Settings

# How much a reading of a follow-up must out-score a simpler one (each step down ``FollowUp.readings``)
READING_PRIOR = 0.5
# ... and a weak reading read again in the passages' own words ("Kiev" -> "Kyiv", "hurt" -> "injured"): the
# same question, so a smaller step
RESPELLED_PRIOR = 0.1
# The closer look at a withheld answer (``Answerer.closer_look``): its top passages re-read in windows of
# three sentences
CLOSER_PASSAGES, CLOSER_SENTENCES = 2, 3
# a question that asks what an abbreviation stands for: its answer may spell out the question's own
# abbreviation; any other answer that does ("What is IS-K a cell of?" -> "Islamic State in Khorasan") echoes it
_EXPANDS = re.compile(r"\b(?:stands? for|short for|abbreviation|acronym|mean|means|meant)\b", re.IGNORECASE)


class Reader(Protocol):
    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]: ...

    @property
    def min_score(self) -> float: ...

    @property
    def min_score_retrieved(self) -> float: ...

    @property
    def calibration(self) -> dict[str, Any] | None:
        """Fitted ``qa.verification`` models ({"given": ..., "retrieved": ...}), or None: span scores as is."""
        ...


class Answerer:
    """Reads questions' passages with ``reader`` and composes their answers, citing from ``index()``
    (None: passages from elsewhere, cited where they stand)."""

    def __init__(self, reader: Reader, settings: Settings, index: Callable[[], SentenceIndex | None]):
        self._reader = reader
        self.settings = settings
        self.index = index
        self._verifier: Verifier | None = None

    @property
    def reader(self) -> Reader:
        return self._reader

    @reader.setter
    def reader(self, reader: Reader) -> None:
        self._reader, self._verifier = reader, None  # another reader, another calibration

    def choose(self, follow_ups: list[FollowUp], retrieve: Callable[[FollowUp], list[Passage]],
               min_score: float | None, began: float, said: set[str], spent: dict[str, float]) -> list[Answer]:
        """The answer of each question's best reading. Readings are verified in rounds, simplest first,
        all questions of a round in one batch: a question's next reading is read only while it could
        still win (``READING_PRIOR`` per step); a weak first reading that names a place, or says a word,
        the passages say otherwise is read again in their words (``qa.followup.respelled``; one
        ``RESPELLED_PRIOR`` step). An answer that repeats one
        ``said`` earlier, or the reading's own antecedent, is a wrong reading's sign. ``spent``: seconds per
        stage, added to."""
        best: dict[int, tuple[float, Answer]] = {}
        respelt: dict[int, str] = {}

        def step(i: int, query: str, rank: int) -> float:  # what reading ``query`` at ``rank`` must overcome
            return RESPELLED_PRIOR if respelt.get(i) == query else READING_PRIOR * rank

        pending, rank = list(range(len(follow_ups))), 0
        while pending:
            batch = [replace(follow_ups[i], query=follow_ups[i].readings[rank], alternatives=()) for i in pending]
            clock = time.perf_counter()
            items = [(r.query, retrieve(r)) for r in batch]
            clock, spent["retrieve"] = time.perf_counter(), spent["retrieve"] + time.perf_counter() - clock
            answers = self.read(items, min_score, True, began, batch)
            spent["read"] += time.perf_counter() - clock
            for i, reading, a in zip(pending, batch, answers):
                merit = a.score - step(i, reading.query, rank)
                text = normalize_answer(a.text or "")
                echoed = not text.isdigit() and f" {text} " in f" {normalize_answer(reading.query)} " or \
                    abbreviates(reading.query, a.text or "") and not _EXPANDS.search(reading.query)
                if a.answered and (text in said or echoed):
                    merit -= 1.0
                if i not in best or merit > best[i][0]:
                    best[i] = (merit, a)
                if rank == 0 and a.score < 1.0 - READING_PRIOR:  # the articles may name its places otherwise
                    again = respelled(reading.query, *_read_in(a))
                    if again is not None and again not in follow_ups[i].readings:
                        follow_ups[i] = replace(follow_ups[i], alternatives=(again, *follow_ups[i].alternatives))
                        respelt[i] = again
            rank += 1
            pending = [i for i in pending if rank < len(follow_ups[i].readings)
                       and best[i][0] < 1.0 - step(i, follow_ups[i].readings[rank], rank)]
        # "What did she say next?" was read as "What did Maria Zakharova say?" after the last answer: say so
        return [replace(best[i][1], query=re.sub(r"\?$", " next?", best[i][1].query))
                if follow_ups[i].after is not None else best[i][1] for i in range(len(follow_ups))]

    def read(self, items: list[tuple[str, list[Passage]]], min_score: float | None, retrieved: bool,
              began: float, follow_ups: list[FollowUp] | None = None) -> list[Answer]:
        """Read checked questions' passages in shared batches and compose the answers; each answer's
        ``seconds`` is its share of the time since ``began``. ``follow_ups``: how each question was read
        (its ``query`` is what ``items`` holds).

        Retrieved passages are read best first: when the answer in a question's top passage is
        already at least ``Settings.early_exit`` probably right, its other passages are not read
        (on SQuAD-dev articles that skips about half the reader's work and loses no F1: the other
        passages mostly add distractors). Given passages, and readers without a calibrated verifier
        (whose scores are not probabilities), are read all at once. An answer from retrieved passages
        still withheld, with a calibrated verifier, gets a ``closer_look``.
        """
        follow_ups = follow_ups or [FollowUp(q, q) for q, _ in items]
        thresholds = [self.threshold(min_score, retrieved, f.uses_history) for f in follow_ups]
        exit_at = self.settings.early_exit
        calibrated = retrieved and self.verifier.calibrated(True)
        if not (calibrated and exit_at < 1.0):
            readings = self.reader.read_many(items)
            seconds = (time.perf_counter() - began) / max(1, len(items))
            answers = [self.compose(f, ps, r, t, seconds, retrieved=retrieved)
                       for f, (_, ps), r, t in zip(follow_ups, items, readings, thresholds)]
            return self.closer_look(answers, follow_ups, thresholds, began) if calibrated else answers
        readings = self.reader.read_many([(q, ps[:1]) for q, ps in items])
        early = [self.compose(f, ps, r, t, 0.0) for f, (_, ps), r, t in zip(follow_ups, items, readings, thresholds)]
        rest = [i for i, (a, (_, ps)) in enumerate(zip(early, items)) if len(ps) > 1 and a.score < exit_at]
        if rest:
            for i, more in zip(rest, self.reader.read_many([(items[i][0], items[i][1][1:]) for i in rest])):
                readings[i] = joined(readings[i], more)
        seconds = (time.perf_counter() - began) / max(1, len(items))
        answers = [replace(a, seconds=seconds) for a in early]
        for i in rest:
            answers[i] = self.compose(follow_ups[i], items[i][1], readings[i], thresholds[i], seconds)
        return self.closer_look(answers, follow_ups, thresholds, began)

    def closer_look(self, answers: list[Answer], follow_ups: list[FollowUp], thresholds: list[float],
                    began: float) -> list[Answer]:
        """A second reading of each withheld answer to a question asked on its own (below
        ``Settings.closer_look``): its top ``CLOSER_PASSAGES`` passages that are longer than
        ``CLOSER_SENTENCES`` sentences (two hits merged) are read again in every window of that many
        sentences, and the second reading's answer wins when the verifier finds it likelier right. In
        six sentences the reader answers "What did Putin suggest?" with "the Russian services" (0.32);
        in the hit's own three, with what he suggested (0.78). Follow-ups read with the history are
        left as read: measured, a second reading added confident wrong answers there. An answer shown
        from a sentence that has none of the question's words gets the same second reading: in six
        sentences "Who is supposedly trying to blame ISIS?" found "Macron" (0.56) in the sentence before
        the one that says who, and in three "the United States" (0.61)."""
        index = self.index()
        weak = [i for i, (a, f) in enumerate(zip(answers, follow_ups)) if not f.uses_history and (
            a.score < self.settings.closer_look or a.signals.get("words_in_sentence") == 0.0)]
        if index is None or not weak or self.settings.closer_look <= 0:
            return answers
        todo = []
        for i in weak:
            windows = [passage_of(index, p.article_id, first, first + CLOSER_SENTENCES - 1, p.score)
                       for p in answers[i].passages[:CLOSER_PASSAGES] if p.article_id in index.articles
                       and p.last - p.first + 1 > CLOSER_SENTENCES
                       for first in range(p.first, p.last - CLOSER_SENTENCES + 2)]
            if windows:
                todo.append((i, windows))
        if not todo:
            return answers
        readings = self.reader.read_many([(follow_ups[i].query, windows) for i, windows in todo])
        seconds = (time.perf_counter() - began) / max(1, len(answers))
        for (i, windows), reading in zip(todo, readings):
            second = self.compose(follow_ups[i], windows, reading, thresholds[i], seconds)
            if second.score > answers[i].score:
                answers[i] = second
        return answers

    @property
    def verifier(self) -> Verifier:
        """Turns an answer's signals into the probability that it is right (the reader's calibration)."""
        if self._verifier is None:
            self._verifier = Verifier(self.reader.calibration)
        return self._verifier

    def threshold(self, min_score: float | None = None, retrieved: bool = False, follow_up: bool = False) -> float:
        """The answer score below which we abstain: ``min_score``, else the settings', else the reader's
        (its threshold for retrieved passages when ``retrieved``, for given passages otherwise, and
        for follow-ups read with a conversation's history when ``follow_up``, if it has one).
        With a calibrated reader, scores and thresholds are probabilities that the answer is right."""
        if min_score is not None:
            return min_score
        if self.settings.min_score is not None:
            return self.settings.min_score
        if retrieved and follow_up:
            if self.settings.min_score_follow_up is not None:
                return self.settings.min_score_follow_up
            return float(getattr(self.reader, "min_score_follow_up", self.reader.min_score_retrieved))
        if retrieved:
            return self.reader.min_score_retrieved
        return self.reader.min_score

    def compose(self, follow_up: FollowUp, passages: list[Passage], reading: Reading, threshold: float,
                seconds: float, retrieved: bool = True) -> Answer:
        """``qa.answering.compose`` with this reader's verifier, citing from the index (not from an outside
        retriever's passages, which are split where they stand)."""
        return compose(follow_up, passages, reading, threshold, seconds, self.verifier, self.index(), retrieved)


def _read_in(answer: Answer) -> tuple[list[str], str]:
    """The text of the passage the answer (or the best withheld candidate) was read in ([] for none),
    and the site of its article ("" for none)."""
    cited = answer.citations or (answer.alternatives[0].citations if answer.alternatives else [])
    texts = [p.text for c in cited[:1] for p in answer.passages
             if p.article_id == c.article_id and p.start <= c.start < p.start + len(p.text)][:1]
    return texts, (cited[0].site or "") if cited else ""
