"""How well does the chat follow a conversation? Each conversation's turns are asked in order
through ``QA.chat()``, and the same turns again without history, side by side.

    report = evaluate_conversations("eval/seed_conversations.jsonl")
    report = evaluate_conversations("coqa_dev_wikipedia.json", limit=30, follow_ups=["all", "focus"])
    print(format_conversation_report(report))

Conversation files are JSONL, one conversation per line::

    {"id": "c1", "article": "000_6932526c1d07f25d.txt",
     "turns": [{"question": "Who offered Russia cooperation?", "answers": ["Emmanuel Macron"]}, ...]}

(``article``, optional: the article the conversation is about, so answers cited from it can be
counted), or CoQA/QuAC-style JSON: SQuAD-shaped, one conversation per paragraph with its ``qas``
in order. Those are answered end to end from a corpus of all the file's stories (cached like a
SQuAD file's); their answers are evidence spans, often a whole clause, so a prediction is *right*
when its normalised text lies inside a normalised gold span, yes/no questions are asked (they
are part of the conversation) but not scored, and ``CANNOTANSWER`` means unanswerable. In JSONL
files a prediction is right at F1 >= 0.5, as in ``qa eval`` of questions. (``qa.evaluation.files``
reads both kinds.)

Figures are given for first turns and follow-ups apart: F1, EM, right, and end to end the share
of answers cited from the conversation's own article, and of answers both right and from it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.errors import QAError, QuestionError
from qa.evaluation.corpora import conversation_corpus
from qa.evaluation.files import EvalConversation, EvalQuestion, load_conversations
from qa.evaluation.metrics import CONFIDENT, RIGHT_F1, inside, mean, percentile, same_article, score_prediction, share
from qa.evaluation.reports import write_conversation_report
from qa.evaluation.results import NO_HISTORY, ConversationReport, TurnFigures, TurnResult
from qa.evaluation.runs import component_name, open_pipeline
from qa.followup import parse_parts
from qa.pipeline import QA
from qa.schema import Answer

PARTS_OF_SET = ("all", "tune", "held-out")  # which conversations of a file to run (``held_out`` in JSONL)


# -- running ------------------------------------------------------------------------------------


def evaluate_conversations(
    path: str | Path, corpus: str | Path | None = None, index: str | Path | None = None,
    limit: int | None = None, qa: QA | None = None, reader: Any = None, embedder: Any = None,
    follow_ups: Sequence[str] = ("all",), history: bool = True, progress: bool = True,
    out: str | Path | None = None, backend: str | None = None, part: str = "all",
) -> ConversationReport:
    """Ask every conversation of ``path`` turn by turn, with the history (one run per entry of
    ``follow_ups``, each "all" or a comma list of ``qa.followup.PARTS``) and without (``history=False``
    runs only that), and score the turns. ``limit``: the first N conversations. ``part``: "tune" or
    "held-out" runs only the conversations without or with ``"held_out": true``."""
    if limit is not None and limit < 1:
        raise QAError(f"--limit must be a positive number of conversations, not {limit}")
    if part not in PARTS_OF_SET:
        raise QAError(f"part must be one of {', '.join(PARTS_OF_SET)}, not {part!r}")
    every = load_conversations(path)
    conversations = [c for c in every if part == "all" or c.held_out == (part == "held-out")][:limit]
    if not conversations:
        raise QAError(f"{path} holds no {part} conversations")
    spans = conversations[0].context is not None
    if qa is None:
        if spans and corpus is None:
            corpus, index = conversation_corpus(path, every)
        qa = open_pipeline(corpus, index, reader, embedder, backend)
    runs = [NO_HISTORY] + ([",".join(sorted(parse_parts(f))) or NO_HISTORY for f in follow_ups] if history else [])
    runs = list(dict.fromkeys(runs))
    if getattr(qa, "_retriever", None) is None:
        qa.index(progress=progress)
    began = time.perf_counter()
    qa.answer(conversations[0].turns[0].question)  # warm-up: models load; not timed
    rows: dict[str, list[TurnResult]] = {}
    from tqdm import tqdm

    total = len(runs) * sum(len(c.turns) for c in conversations)
    with tqdm(total=total, desc="conversations", unit="turn", file=sys.stderr, leave=False,
              disable=not progress) as bar:
        for run in runs:
            rows[run] = []
            for c in conversations:
                rows[run] += _ask(qa, c, run, bar.update)
    return conversation_report(rows, source=str(path), corpus=str(qa.settings.corpus),
                               reader=component_name(qa.reader), spans=spans, conversations=len(conversations),
                               turns=sum(len(c.turns) for c in conversations),
                               seconds=time.perf_counter() - began, out=out)


def _ask(qa: QA, c: EvalConversation, run: str, tick: Any) -> list[TurnResult]:
    """One conversation's turns, in order, through ``QA.chat()``: with this run's follow-up parts, or
    without history (``NO_HISTORY``: each turn asked on its own)."""
    conversation = qa.chat(follow_up=run) if run != NO_HISTORY else None
    results = []
    for n, (q, scored) in enumerate(zip(c.turns, c.scored)):
        start = time.perf_counter()
        try:
            answer = conversation.ask(q.question) if conversation is not None else qa.answer(q.question)
        except QuestionError as exc:
            raise QAError(f"turn {q.id} of conversation {c.id}: {exc}") from None
        latency = time.perf_counter() - start
        results.append(turn_result(c, n, q, scored, answer, latency))
        tick(1)
    return results


def turn_result(c: EvalConversation, n: int, q: EvalQuestion, scored: bool, answer: Answer,
                seconds: float) -> TurnResult:
    """How ``answer`` to turn ``n`` (``q``) of ``c`` went: right inside a gold span for evidence-span sets,
    at F1 >= ``RIGHT_F1`` otherwise, and whether it was cited from the conversation's own article."""
    spans = c.context is not None
    exact, f1_score = score_prediction(answer.text, q.answers)
    if not q.answerable:
        right = answer.text is None
    elif answer.text is None:
        right = False
    elif spans:
        right = inside(answer.text, q.answers)
    else:
        right = f1_score >= RIGHT_F1
    cited = answer.citations[0].article_id if answer.citations else None
    own = None if cited is None or c.article is None else same_article(cited, c.article)
    return TurnResult(c.id, n, q.question, answer.query, q.answers, answer.text, answer.score, exact, f1_score,
                      right, scored, cited, own, seconds * 1000.0)


def turn_figures(rows: Sequence[TurnResult]) -> TurnFigures:
    """The figures over the scored turns among ``rows``."""
    scored = [r for r in rows if r.scored]
    has = [r for r in scored if r.answerable]
    no = [r for r in scored if not r.answerable]
    answered = [r for r in scored if r.prediction is not None]
    known = [r for r in answered if r.own_article is not None]
    with_article = [r for r in has if r.own_article is not None or r.prediction is None]
    return TurnFigures(
        turns=len(scored), answerable=len(has),
        f1=mean([r.f1 for r in has]), exact=mean([r.exact for r in has]),
        right=share(r.right for r in has),
        wrong_confident=sum(1 for r in scored if r.prediction is not None and not r.right and r.score >= CONFIDENT),
        right_in_article=share(r.right and bool(r.own_article) for r in with_article) if known else None,
        in_article=share(bool(r.own_article) for r in known),
        answered=share(r.prediction is not None for r in has),
        abstention_recall=share(r.prediction is None for r in no),
        latency_p50_ms=percentile([r.latency_ms for r in scored], 50),
    )


def conversation_report(rows: dict[str, list[TurnResult]], out: str | Path | None, **run: Any
                        ) -> ConversationReport:
    """The report over each run's rows, first turns and follow-ups apart; written to ``out`` when given."""
    figures = {
        name: {"first": turn_figures([r for r in results if r.turn == 0]),
               "follow-up": turn_figures([r for r in results if r.turn > 0])}
        for name, results in rows.items()
    }
    report = ConversationReport(runs=figures, rows=rows, **run)
    if out is not None:
        write_conversation_report(report, out)
    return report


__all__ = ["PARTS_OF_SET", "conversation_report", "evaluate_conversations", "turn_figures", "turn_result"]
