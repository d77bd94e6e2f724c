"""Choosing ``Settings.early_exit``: answer from the top passage alone when its answer scores this much
(``scripts/tune_early_exit.py``).

    print(format_early_exit(early_exit_table("dev-v1.1.json", "DEVCORPUS", "DEVINDEX")))

Each sampled question (from the even- or odd-numbered articles of the SQuAD file) is asked over the
corpus (all the file's articles, as one folder) with every retrieved passage read once; the answer
from the top passage alone and the answer from all of them are then composed from that one reading,
exactly as ``QA.answer`` composes them. For each threshold: F1 at the shipped answer threshold if the
top passage's answer is taken whenever it scores at least that much, the share of questions that
stop there, and the share of the reader's tokens that are then read.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.evaluation import load_questions, score_prediction
from qa.followup import FollowUp
from qa.pipeline import QA
from qa.schema import Reading

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.01)


@dataclass(frozen=True)
class EarlyExitRow:
    """One early-exit threshold: F1, share of questions stopped at the top passage, share of tokens read."""

    at: float
    f1: float
    stopped: float
    read: float


@dataclass(frozen=True)
class EarlyExitTable:
    questions: int
    articles: str
    threshold: float  # the answer threshold the answers were given at
    rows: list[EarlyExitRow]


def early_exit_table(squad: str | Path, corpus: str | Path, index: str | Path, articles: str = "even",
                     questions: int = 400, thresholds: Sequence[float] = THRESHOLDS) -> EarlyExitTable:
    """Ask up to ``questions`` answerable questions of the ``articles`` ("even" or "odd") half of ``squad``
    once each over ``corpus``, and score each early-exit threshold from those readings."""
    every = load_questions(squad)
    titles = list(dict.fromkeys(q.title for q in every))
    keep = {t for i, t in enumerate(titles) if i % 2 == (0 if articles == "even" else 1)}
    pool = [q for q in every if q.title in keep and q.answers]
    sample = random.Random(0).sample(pool, min(questions, len(pool)))

    qa = QA(corpus=corpus, index=index, early_exit=1.0)
    retriever, threshold = qa.retriever, qa.threshold(retrieved=True)
    tokenizer = qa.reader._tokenizer  # the packaged reader's: tokens read per passage
    readings = []
    for q in sample:
        passages = retriever.retrieve(q.question, qa.settings.top_passages)
        reading = qa.reader.read_many([(q.question, passages)])[0]
        top = Reading([s for s in reading.spans if s.passage == 0], reading.no_answer[:1])
        first = qa.answerer.compose(FollowUp(q.question, q.question), passages, top, threshold, 0.0)
        full = qa.answerer.compose(FollowUp(q.question, q.question), passages, reading, threshold, 0.0)
        tokens = [len(tokenizer.inner.encode(q.question, p.text).ids) for p in passages]
        readings.append((first, full, tokens, q.answers))
    total = sum(sum(t) for _, _, t, _ in readings)
    rows = []
    for at in thresholds:
        f1, stopped, read = [], 0, 0
        for first, full, tokens, answers in readings:
            answer = first if first.score >= at else full
            stopped += answer is first
            read += tokens[0] if answer is first else sum(tokens)
            f1.append(score_prediction(answer.text, answers)[1])
        rows.append(EarlyExitRow(at, statistics.fmean(f1), stopped / len(readings), read / total))
    return EarlyExitTable(len(readings), articles, threshold, rows)


def format_early_exit(table: EarlyExitTable) -> str:
    """The table as Markdown, with a line saying what it was measured on."""
    lines = [f"{table.questions} questions of the {table.articles} articles; answer threshold {table.threshold}",
             "| early exit at | F1 | stopped at the top passage | tokens read |",
             "|---|---|---|---|"]
    for r in table.rows:
        label = f"{r.at}" if r.at <= 1 else "never (read all)"
        lines.append(f"| {label} | {100 * r.f1:.2f} | {100 * r.stopped:.0f}% | {100 * r.read:.0f}% |")
    return "\n".join(lines)


__all__ = ["THRESHOLDS", "EarlyExitRow", "EarlyExitTable", "early_exit_table", "format_early_exit"]
