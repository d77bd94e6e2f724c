"""How good are the answers? EM/F1 as the official SQuAD scripts compute them, plus retrieval,
citation, abstention and latency figures, over a question file.

    report = evaluate("eval/seed_questions.jsonl")           # end to end over seeds/
    report = evaluate("dev-v2.0.json", mode="reader", limit=500)
    print(format_report(report)); write_report(report, "report.json")

Question files are JSONL (``{"question": ..., "answers": [...]}`` per line, an empty
``answers`` meaning unanswerable) or SQuAD v1.1/v2.0 JSON. End to end, a SQuAD file
is answered from a corpus built from its own articles, so retrieval is tested too;
in reader mode each question gets its gold paragraph as the only passage. With
``hide_half`` the corpus keeps only every other article, and the questions of the
articles left out become unanswerable: an end-to-end abstention test at scale.

Shares (EM, F1, recall, accuracy) are fractions in [0, 1]; ``format_report`` shows
them as percentages, the scale of published SQuAD figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.answering import normalize_answer
from qa.errors import QAError, QuestionError
from qa.pipeline import QA, Reader
from qa.schema import Answer, Passage
from qa.settings import Settings
from qa.verification import reliability

MODES = ("end-to-end", "reader")
RIGHT_F1 = 0.5  # an answer at least this F1 against a gold answer counts as right for calibration


# -- questions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalQuestion:
    """One question with every acceptable answer; no answers means the articles don't say."""

    id: str
    question: str
    answers: list[str]
    context: str | None = None  # the gold paragraph (SQuAD), what reader mode reads
    title: str | None = None  # the gold paragraph's article

    @property
    def answerable(self) -> bool:
        # Like the SQuAD v2 script: answers that normalise to nothing don't count.
        return any(normalize_answer(a) for a in self.answers)


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """The questions of a JSONL or SQuAD v1.1/v2.0 file, in file order; ``QAError`` if unreadable.

        load_questions("eval/seed_questions.jsonl")[0].answers  # ['Emmanuel Macron', 'Macron']
    """
    return _read_questions(path)[1]


def _read_questions(path: str | Path) -> tuple[str, list[EvalQuestion]]:
    """("squad" or "jsonl", the questions)."""
    path = Path(path)
    text, data = read_json_or_lines(path, "question file", "give a .jsonl or SQuAD .json file")
    if isinstance(data, dict) and "data" in data:
        questions = _squad_questions(data, path)
        kind = "squad"
    elif isinstance(data, list):
        questions = [_record_question(r, path, f"item {n}", str(n)) for n, r in enumerate(data, 1)]
        kind = "jsonl"
    elif isinstance(data, dict) and "question" in data:  # a JSONL file of one line
        questions = [_record_question(data, path, "line 1", "1")]
        kind = "jsonl"
    elif data is not None:
        raise QAError(f"{path} is JSON but neither SQuAD (no \"data\" key) nor a list of questions")
    else:
        questions, kind = _jsonl_questions(text, path), "jsonl"
    if not questions:
        raise QAError(f"question file {path} holds no questions")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise QAError(f"{path}: two questions share the id {q.id!r}: give them distinct ids")
        seen.add(q.id)
    return kind, questions


def read_json_or_lines(path: Path, what: str, hint: str) -> tuple[str, Any]:
    """The text of ``path`` and its JSON document, or None for the document when it is JSON Lines;
    ``QAError`` naming ``what`` when it is missing, unreadable or empty."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QAError(f"{what} {path} does not exist: {hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {what} {path}: {exc}") from None
    if not text.strip():
        raise QAError(f"{what} {path} is empty")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError:
        return text, None  # not one JSON document: JSON Lines


def json_lines(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record) of each non-empty line; ``QAError`` naming the line that is not JSON."""
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise QAError(f"{path}, line {lineno}: invalid JSON ({exc.msg})") from None


def _jsonl_questions(text: str, path: Path) -> list[EvalQuestion]:
    return [_record_question(record, path, f"line {n}", str(n)) for n, record in json_lines(text, path)]


def _record_question(record: Any, path: Path, where: str, default_id: str) -> EvalQuestion:
    if not isinstance(record, dict):
        raise QAError(f"{path}, {where}: expected an object with \"question\" and \"answers\"")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QAError(f"{path}, {where}: \"question\" must be a non-empty string")
    raw = record.get("answers")
    if not isinstance(raw, list):
        raise QAError(f"{path}, {where}: \"answers\" must be a list of strings ([] when unanswerable)")
    answers = [_answer_text(a, path, where) for a in raw]
    context, title = record.get("context"), record.get("title")
    if context is not None and not isinstance(context, str):
        raise QAError(f"{path}, {where}: \"context\" must be a string")
    qid = record.get("id", default_id)
    return EvalQuestion(str(qid), question.strip(), _unique(answers), context,
                        str(title) if title is not None else None)


def _answer_text(answer: Any, path: Path, where: str) -> str:
    if isinstance(answer, dict):  # SQuAD style {"text": ..., "answer_start": ...}
        answer = answer.get("text")
    if not isinstance(answer, str):
        raise QAError(f"{path}, {where}: every answer must be a string, not {answer!r}")
    return answer


def _squad_questions(data: dict[str, Any], path: Path) -> list[EvalQuestion]:
    questions = []
    try:
        for a, article in enumerate(data["data"]):
            title = str(article.get("title") or f"article {a}")
            for p, paragraph in enumerate(article["paragraphs"]):
                context = paragraph["context"]
                for n, qa in enumerate(paragraph["qas"]):
                    where = f"data[{a}].paragraphs[{p}].qas[{n}]"
                    if not isinstance(qa.get("question"), str) or not qa["question"].strip():
                        raise QAError(f"{path}, {where}: \"question\" must be a non-empty string")
                    answers = [] if qa.get("is_impossible") else \
                        [_answer_text(x, path, where) for x in qa.get("answers", [])]
                    questions.append(EvalQuestion(
                        str(qa.get("id", f"{a}-{p}-{n}")), qa["question"].strip(), _unique(answers),
                        str(context), title,
                    ))
    except (KeyError, TypeError, AttributeError) as exc:
        raise QAError(f"{path} is not valid SQuAD JSON (data/paragraphs/qas): {type(exc).__name__} {exc}") \
            from None
    return questions


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# -- metrics, as the official SQuAD v2.0 script computes them -----------------------------


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


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether a normalised gold answer occurs in ``text`` as whole words."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {g} " in haystack for g in (normalize_answer(a) for a in answers) if g)


# -- results ----------------------------------------------------------------------------------


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
        return any(normalize_answer(a) for a in self.answers)

    @property
    def right(self) -> bool:
        """The best candidate (answered or withheld) is right: F1 >= 0.5 against a gold answer,
        the event ``score`` is the calibrated probability of."""
        return self.answerable and self.candidate is not None and self.candidate_f1 >= RIGHT_F1


@dataclass(frozen=True)
class Calibration:
    """The answer threshold (``min_score``) that maximises overall F1 on the evaluated questions."""

    min_score: float
    f1: float  # overall F1 had that threshold been used
    exact: float
    answered: int  # questions that would have been answered


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


# -- threshold calibration ----------------------------------------------------------------------


def calibrate_min_score(rows: Sequence[QuestionResult]) -> Calibration | None:
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
    abstain_f1 = [0.0 if r.answerable else 1.0 for r in rows]
    total_f1 = best_f1 = sum(abstain_f1)
    total_em = best_em = total_f1  # abstaining scores the same on both
    best = math.nextafter(max(r.score for r in rows), math.inf)  # above every score: never answer
    answered = best_answered = 0
    by_score: dict[float, list[int]] = {}
    for i, r in enumerate(rows):
        if r.candidate is not None:  # no span at all: abstains at any threshold
            by_score.setdefault(r.score, []).append(i)
    for score in sorted(by_score, reverse=True):
        for i in by_score[score]:
            r = rows[i]
            gain_f1, gain_em = (r.candidate_f1, r.candidate_exact) if r.answerable else (0.0, 0.0)
            total_f1 += gain_f1 - abstain_f1[i]
            total_em += gain_em - abstain_f1[i]
            answered += 1
        if total_f1 > best_f1 + 1e-12:
            best, best_f1, best_em, best_answered = score, total_f1, total_em, answered
    return Calibration(best, best_f1 / len(rows), best_em / len(rows), best_answered)


# -- running ----------------------------------------------------------------------------------


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
    kind, questions = _read_questions(path)
    if hide_half:
        if kind != "squad" or mode != "end-to-end" or corpus is not None or qa is not None:
            raise QAError("hiding half the articles needs a SQuAD file, end to end, with its own corpus "
                          "(no --corpus)")
        questions = _hide_half(questions)
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
        elif corpus is not None and index is None:
            index = _index_beside(Path(corpus))
        qa = QA(corpus=corpus, index=index, reader=reader, embedder=embedder,
                **({"backend": backend} if backend else {}))
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
            rows.append(_result(q, answer, latency, context))
            bar.update(1)
    report = _report(
        rows, source=str(path), mode=mode, seconds=time.perf_counter() - began,
        corpus=str(qa.settings.corpus) if mode == "end-to-end" else None,
        index=str(qa.settings.index) if mode == "end-to-end" and getattr(qa, "_retriever", None) is None
        else None,
        reader=_name(qa.reader), embedder=_name(qa.embedder) if mode == "end-to-end" else None,
        min_score=threshold, top_passages=qa.settings.top_passages if mode == "end-to-end" else None,
    )
    if out is not None:
        write_report(report, out)
    return report


def _name(part: Any) -> str:
    return str(getattr(part, "name", type(part).__name__))


def _result(q: EvalQuestion, answer: Answer, seconds: float, articles: dict[str, str]) -> QuestionResult:
    exact, f1_score = score_prediction(answer.text, q.answers)
    candidate = answer.text
    if candidate is None and answer.alternatives:  # abstained: the best span it held back
        candidate = answer.alternatives[0].text
    candidate_exact, candidate_f1 = score_prediction(candidate, q.answers)
    retrieved = None
    if q.answerable:
        retrieved = any(contains_answer(p.text, q.answers) for p in answer.passages)
    citation = answer.citations[0] if answer.citations else None
    return QuestionResult(
        id=q.id, question=q.question, answers=q.answers, prediction=answer.text, score=answer.score,
        no_answer_score=answer.no_answer_score, exact=exact, f1=f1_score, retrieved=retrieved,
        citation_ok=_citation_ok(answer, articles), latency_ms=seconds * 1000.0,
        cited_article=citation.article_id if citation else None,
        cited_title=citation.title if citation else None,
        cited_sentence=citation.sentence if citation else None,
        candidate=candidate, candidate_exact=candidate_exact, candidate_f1=candidate_f1,
        reader_score=answer.reader_score,
    )


def _citation_ok(answer: Answer, articles: dict[str, str]) -> bool | None:
    """The first citation's sentence holds the answer, and its span is the answer in the article."""
    if answer.text is None:
        return None
    if not answer.citations:
        return False
    c = answer.citations[0]
    if answer.text not in c.sentence:
        return False
    article = articles.get(c.article_id)
    return article is None or article[c.start : c.end] == answer.text


def _share(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return sum(values) / len(values) if values else None


def _mean(values: Sequence[float]) -> float | None:
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


def _report(rows: list[QuestionResult], **run: Any) -> Report:
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
        exact=_mean([r.exact for r in rows]) or 0.0, f1=_mean([r.f1 for r in rows]) or 0.0,
        has_ans_exact=_mean([r.exact for r in has_ans]), has_ans_f1=_mean([r.f1 for r in has_ans]),
        no_ans_exact=_mean([r.exact for r in no_ans]), no_ans_f1=_mean([r.f1 for r in no_ans]),
        retrieval_recall=_share(bool(r.retrieved) for r in has_ans) if run["mode"] == "end-to-end" else None,
        citation_accuracy=_share(bool(r.citation_ok) for r in answered),
        abstention_precision=_share(not r.answerable for r in abstained),
        abstention_recall=_share(r.prediction is None for r in no_ans),
        latency_p50_ms=percentile(latencies, 50), latency_p95_ms=percentile(latencies, 95),
        throughput_qps=len(rows) / busy if busy > 0 else None,
        calibration=calibrate_min_score(rows),
        ece=ece, reliability=table,
        rows=rows,
    )


# -- the corpus of a SQuAD file ------------------------------------------------------------------


def _hide_half(questions: list[EvalQuestion]) -> list[EvalQuestion]:
    """The questions of every other article (the 2nd, 4th...), made unanswerable and without context,
    so that their articles stay out of the corpus."""
    titles = list(dict.fromkeys(q.title for q in questions))
    hidden = set(titles[1::2])
    return [replace(q, answers=[], context=None) if q.title in hidden else q for q in questions]


def cache_dir() -> Path:
    """Where evaluation corpora and indexes are kept: ``eval/`` in ``qa.settings.cache_home()``."""
    from qa.settings import cache_home

    return cache_home() / "eval"


def squad_corpus(path: str | Path, questions: list[EvalQuestion], index: str | Path | None,
                  variant: str = "") -> tuple[Path, Path]:
    """A corpus folder of the file's articles (its paragraphs joined by blank lines), and its index.

    Keyed by the file's content hash, so a second run reuses the built index.
    """
    data = Path(path).read_bytes()
    folder = cache_dir() / (hashlib.sha256(data).hexdigest()[:16] + (f"-{variant}" if variant else ""))
    paragraphs: dict[str, list[str]] = {}
    for q in questions:
        if q.context is not None:
            kept = paragraphs.setdefault(q.title or "untitled", [])
            if q.context not in kept:
                kept.append(q.context)
    records = [
        {"id": title, "title": title.replace("_", " "), "text": "\n\n".join(texts)}
        for title, texts in paragraphs.items()
    ]
    corpus = folder / "corpus"
    _write_if_changed(corpus / "articles.json", json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    return corpus, Path(index) if index is not None else folder / "index"


def _index_beside(corpus: Path) -> Path | None:
    """An index for a corpus named on the command line, kept clear of the main index.

    None (the settings index) when it is the settings corpus itself.
    """
    if corpus.resolve() == Settings.load().corpus.resolve():
        return None
    key = hashlib.sha256(str(corpus.resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / f"corpus-{key}" / "index"


def _write_if_changed(path: Path, text: str) -> None:
    # An unchanged file keeps its mtime, so the index stays valid without a rescan.
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    _write_atomic(path, text)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- output ------------------------------------------------------------------------------------


def write_report(report: Report, path: str | Path, plots: bool = True) -> Path:
    """Write the report as JSON in one atomic step (a crash never leaves half a file), and with
    ``plots`` its reliability diagram and score histogram as PNG beside it (``plot_paths``)."""
    path = Path(path)
    try:
        _write_atomic(path, json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        if plots and report.rows:
            from qa.plots import reliability_diagram, score_histogram

            diagram, histogram = plot_paths(path)
            reliability_diagram(report, diagram)
            score_histogram(report, histogram)
    except OSError as exc:
        raise QAError(f"cannot write the report to {path}: {exc}") from None
    return path


def plot_paths(report_path: str | Path) -> tuple[Path, Path]:
    """Where ``write_report`` puts the plots of a report: ``<name>.reliability.png``, ``<name>.scores.png``."""
    path = Path(report_path)
    return path.with_suffix(".reliability.png"), path.with_suffix(".scores.png")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:5.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def format_report(report: Report) -> str:
    """A compact table of the figures, for the terminal."""
    r = report
    lines = [
        f"{r.source}: {r.questions} questions ({r.answerable} answerable, {r.unanswerable} unanswerable), "
        f"{r.mode}",
        f"reader {r.reader}" + (f", embedder {r.embedder}" if r.embedder else "")
        + (f", corpus {r.corpus}" if r.corpus else "") + f", min_score {r.min_score:.3g}",
        "",
        f"{'':14}{'EM':>8}{'F1':>8}{'n':>6}",
        f"{'overall':14}{_pct(r.exact):>8}{_pct(r.f1):>8}{r.questions:>6}",
        f"{'answerable':14}{_pct(r.has_ans_exact):>8}{_pct(r.has_ans_f1):>8}{r.answerable:>6}",
        f"{'unanswerable':14}{_pct(r.no_ans_exact):>8}{_pct(r.no_ans_f1):>8}{r.unanswerable:>6}",
        "",
    ]
    if r.mode == "end-to-end":
        lines.append(f"{'retrieval recall@' + str(r.top_passages):24}{_pct(r.retrieval_recall):>8}")
    lines += [
        f"{'citation accuracy':24}{_pct(r.citation_accuracy):>8}   of {r.answered} answered",
        f"{'abstention precision':24}{_pct(r.abstention_precision):>8}   of {r.abstained} abstained",
        f"{'abstention recall':24}{_pct(r.abstention_recall):>8}   of {r.unanswerable} unanswerable",
        f"{'latency p50 / p95':24}{_ms(r.latency_p50_ms):>8} / {_ms(r.latency_p95_ms)}",
        f"{'throughput':24}{'-' if r.throughput_qps is None else f'{r.throughput_qps:.2f} q/s':>8}",
    ]
    if r.ece is not None:
        lines += ["", f"{'calibration (ECE)':24}{r.ece:>8.3f}   score = probability the answer is right (F1 >= 0.5)",
                  f"{'  score bin':14}{'answers':>9}{'mean score':>12}{'right':>8}"]
        lines += [f"  {b['low']:.1f}-{b['high']:.1f}{'':5}{b['n']:>9}{100 * b['mean_score']:>11.1f}%"
                  f"{100 * b['right']:>7.1f}%" for b in r.reliability if b["n"]]
    if r.calibration is not None:
        c = r.calibration
        lines.append(
            f"{'best min_score':24}{c.min_score:>8.3g}   F1 {_pct(c.f1).strip()}, EM {_pct(c.exact).strip()} "
            f"({c.answered} answered) on these questions"
        )
    return "\n".join(lines)


__all__ = [
    "Calibration", "EvalQuestion", "QuestionResult", "Report", "cache_dir", "calibrate_min_score",
    "contains_answer", "evaluate", "exact_match", "f1", "format_report", "load_questions", "percentile", "plot_paths",
    "score_prediction", "squad_corpus", "write_report",
]
