"""Running a question file through a ``QA`` and scoring every answer: EM/F1 as the official SQuAD
scripts compute them, plus retrieval, citation, abstention, calibration and latency figures.

    report = evaluate("eval/seed_questions.jsonl")           # end to end over seeds/
    report = evaluate("dev-v2.0.json", mode="reader", limit=500)
    print(format_report(report)); write_report(report, "report.json")

End to end, a SQuAD file is answered from a corpus built from its own articles, so retrieval is
tested too; in reader mode each question gets its gold paragraph as the only passage. With
``hide_half`` the corpus keeps only every other article, and the questions of the articles left out
become unanswerable: an end-to-end abstention test at scale.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from qa.errors import QAError, QuestionError
from qa.evaluation.corpora import hide_half_articles, index_beside, squad_corpus
from qa.evaluation.files import EvalQuestion, read_questions
from qa.evaluation.metrics import (
    best_candidate,
    calibrate_min_score,
    citation_ok,
    contains_answer,
    mean,
    percentile,
    score_prediction,
    share,
)
from qa.evaluation.reports import write_report
from qa.evaluation.results import QuestionResult, Report
from qa.pipeline import QA, Reader
from qa.schema import Answer, Passage
from qa.verification import reliability

MODES = ("end-to-end", "reader")


def open_pipeline(corpus: str | Path | None, index: str | Path | None, reader: Any, embedder: Any,
                  backend: str | None = None) -> QA:
    """The ``QA`` an evaluation answers with when none is given (a bare ``backend`` keeps the settings');
    a corpus named without an index gets one beside it (``index_beside``)."""
    if corpus is not None and index is None:
        index = index_beside(Path(corpus))
    return QA(corpus=corpus, index=index, reader=reader, embedder=embedder,
              **({"backend": backend} if backend else {}))


def component_name(part: Any) -> str:
    """How a reader or embedder is named in a report: its ``name``, else its class."""
    return str(getattr(part, "name", type(part).__name__))


def evaluate(
    path: str | Path, mode: str = "end-to-end", corpus: str | Path | None = None,
    index: str | Path | None = None, limit: int | None = None, qa: QA | None = None,
    reader: str | Reader | None = None, embedder: str | Any | None = None,
    min_score: float | None = None, progress: bool = True, out: str | Path | None = None,
    hide_half: bool = False, backend: str | None = None,
) -> Report:
    """Answer every question of ``path`` and score the answers.

    ``mode="end-to-end"`` retrieves from ``corpus`` (default: the settings corpus; for
    a SQuAD file, a corpus of its own articles cached under ``~/.cache/qa/eval``);
    ``mode="reader"`` gives each question its gold paragraph and skips retrieval.
    ``qa`` replaces the pipeline built from ``corpus``/``index``/``reader``/``embedder``.
    Each question is answered on its own call, after one untimed warm-up, so the
    latencies are those a user sees. ``out`` also writes the JSON report there.
    ``hide_half`` (SQuAD files, end to end): the corpus holds the 1st, 3rd, 5th... article
    only, and the questions of the others are asked as unanswerable.

        print(format_report(evaluate("eval/seed_questions.jsonl", limit=10)))
    """
    if mode not in MODES:
        raise QAError(f"unknown evaluation mode {mode!r}: use one of {', '.join(MODES)}")
    if limit is not None and limit < 1:
        raise QAError(f"--limit must be a positive number of questions, not {limit}")
    kind, questions = read_questions(path)
    if hide_half:
        if kind != "squad" or mode != "end-to-end" or corpus is not None or qa is not None:
            raise QAError("hiding half the articles needs a SQuAD file, end to end, with its own corpus "
                          "(no --corpus)")
        questions = hide_half_articles(questions)
    all_questions = questions
    if limit is not None:
        questions = questions[:limit]
    if mode == "reader":
        missing = next((q for q in questions if not q.context), None)
        if missing is not None:
            raise QAError(
                f"question {missing.id} of {path} has no \"context\": reader mode needs the gold "
                "paragraph of every question (SQuAD files have them); use --mode end-to-end"
            )
    if qa is None:
        if mode == "end-to-end" and corpus is None and kind == "squad":
            corpus, index = squad_corpus(path, all_questions, index, "half" if hide_half else "")
        qa = open_pipeline(corpus, index, reader, embedder, backend)
    threshold = qa.threshold(min_score, retrieved=mode == "end-to-end")

    began = time.perf_counter()
    articles: dict[str, str] = {}
    if mode == "end-to-end":
        if getattr(qa, "_retriever", None) is None:  # build or refresh the index before timing
            qa.index(progress=progress)
        known = getattr(getattr(qa.retriever, "index", None), "articles", {})  # a HybridRetriever's index
        articles = {a.id: a.text for a in known.values()}

    def run(q: EvalQuestion) -> Answer:
        try:
            if mode == "reader":
                passage = Passage(article_id=q.title or q.id, title=q.title or q.id, first=0, last=0,
                                  start=0, text=q.context or "")
                return qa.read(q.question, [passage], min_score=threshold)
            return qa.answer(q.question, min_score=threshold)
        except QuestionError as exc:
            raise QAError(f"question {q.id} of {path}: {exc}") from None

    run(questions[0])  # warm-up: models load, lazy indexes build; not timed
    rows = []
    from tqdm import tqdm

    with tqdm(total=len(questions), desc="evaluating", unit="q", file=sys.stderr, leave=False,
              disable=not progress) as bar:
        for q in questions:
            start = time.perf_counter()
            answer = run(q)
            latency = time.perf_counter() - start
            context = {q.title or q.id: q.context} if mode == "reader" and q.context else articles
            rows.append(question_result(q, answer, latency, context))
            bar.update(1)
    report = question_report(
        rows, source=str(path), mode=mode, seconds=time.perf_counter() - began,
        corpus=str(qa.settings.corpus) if mode == "end-to-end" else None,
        index=str(qa.settings.index) if mode == "end-to-end" and getattr(qa, "_retriever", None) is None
        else None,
        reader=component_name(qa.reader), embedder=component_name(qa.embedder) if mode == "end-to-end" else None,
        min_score=threshold, top_passages=qa.settings.top_passages if mode == "end-to-end" else None,
    )
    if out is not None:
        write_report(report, out)
    return report


def question_result(q: EvalQuestion, answer: Answer, seconds: float, articles: dict[str, str]) -> QuestionResult:
    """How ``answer`` to ``q`` went; ``articles`` (id -> text) checks its citation's span."""
    exact, f1_score = score_prediction(answer.text, q.answers)
    candidate = best_candidate(answer)
    candidate_exact, candidate_f1 = score_prediction(candidate, q.answers)
    retrieved = None
    if q.answerable:
        retrieved = any(contains_answer(p.text, q.answers) for p in answer.passages)
    citation = answer.citations[0] if answer.citations else None
    return QuestionResult(
        id=q.id, question=q.question, answers=q.answers, prediction=answer.text, score=answer.score,
        no_answer_score=answer.no_answer_score, exact=exact, f1=f1_score, retrieved=retrieved,
        citation_ok=citation_ok(answer, articles), latency_ms=seconds * 1000.0,
        cited_article=citation.article_id if citation else None,
        cited_title=citation.title if citation else None,
        cited_sentence=citation.sentence if citation else None,
        candidate=candidate, candidate_exact=candidate_exact, candidate_f1=candidate_f1,
        reader_score=answer.reader_score,
    )


def question_report(rows: list[QuestionResult], **run: Any) -> Report:
    """The figures over ``rows``; ``run`` gives the report's settings (source, mode, reader...)."""
    has_ans = [r for r in rows if r.answerable]
    no_ans = [r for r in rows if not r.answerable]
    answered = [r for r in rows if r.prediction is not None]
    abstained = [r for r in rows if r.prediction is None]
    latencies = [r.latency_ms for r in rows]
    busy = sum(latencies) / 1000.0
    scored = [r for r in rows if r.candidate is not None]
    ece, table = reliability([r.score for r in scored], [r.right for r in scored]) if scored else (None, [])
    return Report(
        **run,
        questions=len(rows), answerable=len(has_ans), unanswerable=len(no_ans),
        answered=len(answered), abstained=len(abstained),
        exact=mean([r.exact for r in rows]) or 0.0, f1=mean([r.f1 for r in rows]) or 0.0,
        has_ans_exact=mean([r.exact for r in has_ans]), has_ans_f1=mean([r.f1 for r in has_ans]),
        no_ans_exact=mean([r.exact for r in no_ans]), no_ans_f1=mean([r.f1 for r in no_ans]),
        retrieval_recall=share(bool(r.retrieved) for r in has_ans) if run["mode"] == "end-to-end" else None,
        citation_accuracy=share(bool(r.citation_ok) for r in answered),
        abstention_precision=share(not r.answerable for r in abstained),
        abstention_recall=share(r.prediction is None for r in no_ans),
        latency_p50_ms=percentile(latencies, 50), latency_p95_ms=percentile(latencies, 95),
        throughput_qps=len(rows) / busy if busy > 0 else None,
        calibration=calibrate_min_score(rows),
        ece=ece, reliability=table,
        rows=rows,
    )


__all__ = ["MODES", "component_name", "evaluate", "open_pipeline", "question_report", "question_result"]
