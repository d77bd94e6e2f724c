"""The measures: EM and F1 as the official SQuAD v2.0 script computes them, whether a text holds a
gold answer, whether a citation is sound, percentiles, and the answer threshold that maximises F1.

    score_prediction("Broncos", ["Denver Broncos"])  # (0.0, 0.666...)
    calibrate_min_score(report.rows).min_score

Shares are fractions in [0, 1]; the reports show them as percentages.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qa.answering import normalize_answer
from qa.schema import Answer

RIGHT_F1 = 0.5  # an answer at least this F1 against a gold answer counts as right for calibration
CONFIDENT = 0.5  # an answer shown at this score or above reads as sure: being wrong there is the worst case


# -- answers, as the official SQuAD v2.0 script scores them ---------------------------------------


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match(gold: str, prediction: str) -> float:
    """1.0 when the normalised strings are equal (SQuAD ``compute_exact``)."""
    return float(normalize_answer(gold) == normalize_answer(prediction))


def f1(gold: str, prediction: str) -> float:
    """Token-overlap F1 of normalised strings (SQuAD ``compute_f1``); two empty strings agree."""
    gold_tokens, pred_tokens = _tokens(gold), _tokens(prediction)
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score_prediction(prediction: str | None, answers: Sequence[str]) -> tuple[float, float]:
    """(EM, F1) of a prediction (None: abstained), the best over all gold answers.

    An unanswerable question (no gold answer) scores 1 only for an abstention,
    exactly as SQuAD v2 scores the empty string against the gold ``['']``.

        score_prediction("Broncos", ["Denver Broncos"])  # (0.0, 0.666...)
        score_prediction(None, [])                       # (1.0, 1.0)
    """
    golds = [a for a in answers if normalize_answer(a)] or [""]
    pred = prediction or ""
    return max(exact_match(g, pred) for g in golds), max(f1(g, pred) for g in golds)


def answerable(answers: Sequence[str]) -> bool:
    """Whether gold ``answers`` hold an answer: like the SQuAD v2 script, answers that normalise to
    nothing don't count."""
    return any(normalize_answer(a) for a in answers)


def best_candidate(answer: Answer) -> str | None:
    """The answer's text, or when it abstained the best span it held back (None if it had none)."""
    if answer.text is not None:
        return answer.text
    return answer.alternatives[0].text if answer.alternatives else None


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether a normalised gold answer occurs in ``text`` as whole words."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {g} " in haystack for g in (normalize_answer(a) for a in answers) if g)


def inside(prediction: str, spans: Sequence[str]) -> bool:
    """The normalised prediction lies inside a normalised gold span (the conversational sets' evidence spans).

        inside("Moscow", ["the attack on a Moscow concert hall"]) is True
    """
    p = normalize_answer(prediction)
    return bool(p) and any(f" {p} " in f" {normalize_answer(s)} " for s in spans)


def same_article(article_id: str, wanted: str) -> bool:
    """``article_id`` (as the index has it: "stories.json#c1", "000_x.txt") is the article named ``wanted``."""
    return article_id == wanted or article_id.endswith("#" + wanted) or Path(article_id).name == wanted


def citation_ok(answer: Answer, articles: dict[str, str]) -> bool | None:
    """The first citation's sentence holds the answer, and its span is the answer in the article
    (when ``articles``, id -> text, has it); None when nothing was answered."""
    if answer.text is None:
        return None
    if not answer.citations:
        return False
    c = answer.citations[0]
    if answer.text not in c.sentence:
        return False
    article = articles.get(c.article_id)
    return article is None or article[c.start : c.end] == answer.text


# -- aggregates -----------------------------------------------------------------------------------


def share(hits: Iterable[bool]) -> float | None:
    """The fraction of true values; None for no values."""
    values = list(hits)
    return sum(values) / len(values) if values else None


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None for no values."""
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile with linear interpolation (numpy's default); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- threshold calibration ------------------------------------------------------------------------


class Scored(Protocol):
    """What threshold calibration reads of a result row (``QuestionResult`` has it)."""

    @property
    def score(self) -> float: ...
    @property
    def answerable(self) -> bool: ...
    @property
    def candidate(self) -> str | None: ...
    @property
    def candidate_exact(self) -> float: ...
    @property
    def candidate_f1(self) -> float: ...


@dataclass(frozen=True)
class Calibration:
    """The answer threshold (``min_score``) that maximises overall F1 on the evaluated questions."""

    min_score: float
    f1: float  # overall F1 had that threshold been used
    exact: float
    answered: int  # questions that would have been answered


def calibrate_min_score(rows: Sequence[Scored]) -> Calibration | None:
    """The ``min_score`` maximising overall F1, like ``best_f1_thresh`` of the SQuAD v2 script.

    The pipeline answers when its best span scores ``>= min_score`` and abstains
    otherwise; ``Answer.score`` is that best score even when it abstained, and each
    row keeps the span it would have given (``candidate``) with its F1. Sweeping the
    threshold down through the observed scores, each question flips from abstaining
    (F1 1 if unanswerable, else 0) to answering (its candidate's F1); questions with
    equal scores flip together. The highest threshold reaching the best F1 wins, so
    ties favour abstaining. Calibrate on questions you will not report on, and with
    enough unanswerable ones among them, or the threshold only learns to answer.

        calibrate_min_score(evaluate("dev.json", min_score=0.0).rows).min_score

    Run the evaluation with ``min_score=0.0`` when you can; rows scored at a higher
    threshold still work, since abstentions keep their best candidate. None for no rows.
    """
    if not rows:
        return None
    answering = [r.candidate is not None for r in rows]  # no span at all: abstains at any threshold
    abstain = [0.0 if r.answerable else 1.0 for r in rows]
    gains = [(r.candidate_f1 if r.answerable else 0.0) if a else b for r, a, b in zip(rows, answering, abstain)]
    best, total = sweep_threshold([r.score for r in rows], gains, abstain)
    shown = [a and r.score >= best for r, a in zip(rows, answering)]
    exact = sum((r.candidate_exact if r.answerable else 0.0) if s else b for r, s, b in zip(rows, shown, abstain))
    return Calibration(best, total / len(rows), exact / len(rows), sum(shown))


def sweep_threshold(scores: Sequence[float], gains: Sequence[float], abstains: Sequence[float]) -> tuple[float, float]:
    """The threshold ``t`` maximising the total over items of ``gains[i]`` when ``scores[i] >= t`` (the
    answer shown) and ``abstains[i]`` otherwise, and that total: every threshold chooser of the project
    (reader packaging, verifier calibration, follow-ups, ``calibrate_min_score``) is this sweep with its
    own gains. Items of equal score flip together; ties go to the higher threshold (abstaining), and
    when no answer is worth showing the threshold is above every score."""
    total = best_total = float(sum(abstains))
    best = math.nextafter(max(scores), math.inf) if len(scores) else 1.0
    by_score: dict[float, float] = {}
    for score, gain, abstain in zip(scores, gains, abstains):
        by_score[score] = by_score.get(score, 0.0) + gain - abstain
    for score in sorted(by_score, reverse=True):
        total += by_score[score]
        if total > best_total + 1e-12:
            best, best_total = score, total
    return best, best_total


# how a threshold is chosen: the best F1 over answerable and unanswerable items, or a share of abstentions
RULES = ("f1", "abstain")


def abstention_threshold(unanswerable_scores: Sequence[float], share: float) -> float:
    """The lowest threshold at which ``share`` of the unanswerable items abstain (0.0 for none)."""
    ordered = sorted(unanswerable_scores)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))]) if ordered else 0.0


__all__ = [
    "answerable", "best_candidate",
    "CONFIDENT", "RIGHT_F1", "RULES", "Calibration", "Scored", "abstention_threshold", "calibrate_min_score",
    "citation_ok", "contains_answer", "exact_match", "f1", "inside", "mean", "percentile", "same_article",
    "score_prediction", "share", "sweep_threshold",
]
