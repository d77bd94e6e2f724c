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
files a prediction is right at F1 >= 0.5, as in ``qa eval`` of questions.

Figures are given for first turns and follow-ups apart: F1, EM, right, and end to end the share
of answers cited from the conversation's own article, and of answers both right and from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.answering import normalize_answer
from qa.errors import QAError, QuestionError
from qa.evaluation import questions as _questions
from qa.evaluation.questions import (
    RIGHT_F1,
    EvalQuestion,
    _answer_text,
    _index_beside,
    _mean,
    _ms,
    _name,
    _pct,
    _share,
    _unique,
    _write_atomic,
    _write_if_changed,
    cache_dir,
    json_lines,
    percentile,
    read_json_or_lines,
    score_prediction,
)
from qa.followup import parse_parts
from qa.pipeline import QA
from qa.schema import Answer

NO_HISTORY = "none"
CONFIDENT = 0.5  # an answer shown at this score or above reads as sure: being wrong there is the worst case
PARTS_OF_SET = ("all", "tune", "held-out")  # which conversations of a file to run (``held_out`` in JSONL)
CANNOT_ANSWER = "CANNOTANSWER"


@dataclass(frozen=True)
class EvalConversation:
    """One conversation: its turns in order, and the article it is about (when known)."""

    id: str
    turns: list[EvalQuestion]
    scored: list[bool]  # False: asked, not scored (yes/no questions of CoQA/QuAC)
    article: str | None = None  # id of its article in the corpus
    context: str | None = None  # its story (CoQA/QuAC), what the corpus is built from
    title: str | None = None
    held_out: bool = False  # kept out of every tuning choice: reported apart ("part": "held-out")


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
        return any(normalize_answer(a) for a in self.answers)


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


# -- files --------------------------------------------------------------------------------------


def is_conversation_file(path: str | Path) -> bool:
    """``path`` holds conversations (JSONL with "turns", or CoQA/QuAC-style JSON), not single questions."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    head = text.lstrip()[:1]
    if head == "{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            first = next((line for line in text.splitlines() if line.strip()), "")
            try:
                return isinstance(json.loads(first), dict) and "turns" in json.loads(first)
            except json.JSONDecodeError:
                return False
        if isinstance(data, dict) and "turns" in data:
            return True
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            for article in data["data"][:3]:
                for paragraph in (article.get("paragraphs") or [])[:1] if isinstance(article, dict) else []:
                    qas = paragraph.get("qas") or [] if isinstance(paragraph, dict) else []
                    first = qas[0] if qas and isinstance(qas[0], dict) else {}
                    if "yesno" in first or "followup" in first or re.search(r"_q#\d+$", str(first.get("id", ""))):
                        return True
    return False


def load_conversations(path: str | Path) -> list[EvalConversation]:
    """The conversations of a JSONL or CoQA/QuAC-style file, in file order; ``QAError`` if unreadable."""
    path = Path(path)
    text, data = read_json_or_lines(path, "conversation file", "give a .jsonl or CoQA/QuAC-style .json file")
    if isinstance(data, dict) and "data" in data:
        conversations = _coqa_conversations(data, path)
    elif isinstance(data, dict):
        conversations = [_jsonl_conversation(data, path, "line 1", "1")]
    else:
        conversations = [_jsonl_conversation(record, path, f"line {n}", str(n)) for n, record in json_lines(text, path)]
    if not conversations:
        raise QAError(f"conversation file {path} holds no conversations")
    ids = [c.id for c in conversations]
    if len(set(ids)) != len(ids):
        raise QAError(f"{path}: two conversations share an id: give them distinct ids")
    return conversations


def _jsonl_conversation(record: Any, path: Path, where: str, default_id: str) -> EvalConversation:
    if not isinstance(record, dict) or not isinstance(record.get("turns"), list) or not record["turns"]:
        raise QAError(f"{path}, {where}: expected an object with a non-empty \"turns\" list")
    cid = str(record.get("id", default_id))
    turns = []
    for n, turn in enumerate(record["turns"]):
        at = f"{where}, turn {n + 1}"
        if not isinstance(turn, dict) or not isinstance(turn.get("question"), str) or not turn["question"].strip():
            raise QAError(f"{path}, {at}: every turn needs a non-empty \"question\" string")
        answers = turn.get("answers", [])
        if not isinstance(answers, list):
            raise QAError(f"{path}, {at}: \"answers\" must be a list of strings ([] when unanswerable)")
        turns.append(EvalQuestion(f"{cid}#{n}", turn["question"].strip(),
                                  _unique(_answer_text(a, path, at) for a in answers)))
    article = record.get("article")
    held_out = record.get("held_out", False)
    if not isinstance(held_out, bool):
        raise QAError(f"{path}, {where}: \"held_out\" must be true or false")
    return EvalConversation(cid, turns, [True] * len(turns), str(article) if article is not None else None,
                            held_out=held_out)


def _coqa_conversations(data: dict[str, Any], path: Path) -> list[EvalConversation]:
    conversations = []
    stories: dict[str, str] = {}  # story text -> id of its first conversation: repeated stories are one article
    try:
        for a, article in enumerate(data["data"]):
            title = str(article.get("title") or f"story {a}")
            for p, paragraph in enumerate(article["paragraphs"]):
                context = str(paragraph["context"])
                story = _story_text(context)
                cid = str(paragraph.get("id") or f"{a}-{p}")
                stories.setdefault(story, cid)
                turns, scored = [], []
                for n, qa in enumerate(paragraph["qas"]):
                    where = f"data[{a}].paragraphs[{p}].qas[{n}]"
                    if not isinstance(qa.get("question"), str) or not qa["question"].strip():
                        raise QAError(f"{path}, {where}: \"question\" must be a non-empty string")
                    answers = [_answer_text(x, path, where) for x in qa.get("answers", [])]
                    answers = [] if any(x.strip() == CANNOT_ANSWER for x in answers) else answers
                    turns.append(EvalQuestion(str(qa.get("id", f"{cid}#{n}")), qa["question"].strip(),
                                              _unique(answers), story, title))
                    scored.append(qa.get("yesno", "x") not in ("y", "n"))
                if turns:
                    conversations.append(EvalConversation(cid, turns, scored, stories[story], story, title))
    except (KeyError, TypeError, AttributeError) as exc:
        raise QAError(f"{path} is not valid CoQA/QuAC-style JSON (data/paragraphs/qas): "
                      f"{type(exc).__name__} {exc}") from None
    return conversations


def _story_text(context: str) -> str:
    """The story without QuAC's trailing CANNOTANSWER marker."""
    story = context.rstrip()
    if story.endswith(CANNOT_ANSWER):
        story = story[: -len(CANNOT_ANSWER)].rstrip()
    return story


def conversation_corpus(path: str | Path, conversations: Sequence[EvalConversation]) -> tuple[Path, Path]:
    """A corpus folder of the file's stories (one article each, id = its first conversation's id),
    and its index, cached by the file's content hash."""
    folder = cache_dir() / ("conv-" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16])
    records, seen = [], set()
    for c in conversations:
        if c.context is not None and c.article not in seen:
            seen.add(c.article)
            records.append({"id": c.article, "title": c.title or c.article, "text": c.context})
    corpus = folder / "corpus"
    _write_if_changed(corpus / "stories.json", json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    return corpus, folder / "index"


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
        elif corpus is not None and index is None:
            index = _index_beside(Path(corpus))
        qa = _questions.QA(corpus=corpus, index=index, reader=reader, embedder=embedder,
                           **({"backend": backend} if backend else {}))
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
    return _conversation_report(rows, source=str(path), corpus=str(qa.settings.corpus), reader=_name(qa.reader),
                                spans=spans, conversations=len(conversations),
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
        results.append(_turn_result(c, n, q, scored, answer, latency))
        tick(1)
    return results


def _turn_result(c: EvalConversation, n: int, q: EvalQuestion, scored: bool, answer: Answer,
                 seconds: float) -> TurnResult:
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


def inside(prediction: str, spans: Sequence[str]) -> bool:
    """The normalised prediction lies inside a normalised gold span (the conversational sets' evidence spans).

        inside("Moscow", ["the attack on a Moscow concert hall"]) is True
    """
    p = normalize_answer(prediction)
    return bool(p) and any(f" {p} " in f" {normalize_answer(s)} " for s in spans)


def same_article(article_id: str, wanted: str) -> bool:
    """``article_id`` (as the index has it: "stories.json#c1", "000_x.txt") is the article named ``wanted``."""
    return article_id == wanted or article_id.endswith("#" + wanted) or Path(article_id).name == wanted


def _figures(rows: Sequence[TurnResult]) -> TurnFigures:
    scored = [r for r in rows if r.scored]
    has = [r for r in scored if r.answerable]
    no = [r for r in scored if not r.answerable]
    answered = [r for r in scored if r.prediction is not None]
    known = [r for r in answered if r.own_article is not None]
    with_article = [r for r in has if r.own_article is not None or r.prediction is None]
    return TurnFigures(
        turns=len(scored), answerable=len(has),
        f1=_mean([r.f1 for r in has]), exact=_mean([r.exact for r in has]),
        right=_share(r.right for r in has),
        wrong_confident=sum(1 for r in scored if r.prediction is not None and not r.right and r.score >= CONFIDENT),
        right_in_article=_share(r.right and bool(r.own_article) for r in with_article) if known else None,
        in_article=_share(bool(r.own_article) for r in known),
        answered=_share(r.prediction is not None for r in has),
        abstention_recall=_share(r.prediction is None for r in no),
        latency_p50_ms=percentile([r.latency_ms for r in scored], 50),
    )


def _conversation_report(rows: dict[str, list[TurnResult]], out: str | Path | None, **run: Any
                         ) -> ConversationReport:
    figures = {
        name: {"first": _figures([r for r in results if r.turn == 0]),
               "follow-up": _figures([r for r in results if r.turn > 0])}
        for name, results in rows.items()
    }
    report = ConversationReport(runs=figures, rows=rows, **run)
    if out is not None:
        try:
            _write_atomic(Path(out), json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise QAError(f"cannot write the report to {out}: {exc}") from None
    return report


def run_label(run: str) -> str:
    return "no history" if run == NO_HISTORY else ("history" if run == ",".join(sorted(parse_parts("all")))
                                                   else run.replace(",", "+"))


def format_conversation_report(report: ConversationReport) -> str:
    """First turns and follow-ups, each run side by side, for the terminal."""
    r = report
    runs = list(r.runs)
    lines = [
        f"{r.source}: {r.conversations} conversations, {r.turns} turns, end to end over {r.corpus}",
        f"reader {r.reader}; right = " + ("prediction inside a gold evidence span (yes/no turns not scored)"
                                          if r.spans else f"F1 >= {RIGHT_F1}"),
        "",
    ]
    width = max(12, *(len(run_label(x)) + 2 for x in runs))
    rows = [("F1", "f1", _pct), ("EM", "exact", _pct), ("right", "right", _pct),
            (f"wrong at score >= {CONFIDENT}", "wrong_confident", str),
            ("right, own article", "right_in_article", _pct), ("cited from own article", "in_article", _pct),
            ("answered", "answered", _pct), ("abstained, unanswerable", "abstention_recall", _pct),
            ("latency p50", "latency_p50_ms", _ms)]
    for kind in ("first", "follow-up"):
        counts = r.runs[runs[0]][kind]
        lines.append(f"{kind + ' turns':26}" + "".join(f"{run_label(x):>{width}}" for x in runs)
                     + f"   ({counts.turns} scored, {counts.answerable} answerable)")
        for label, attr, fmt in rows:
            values = [getattr(r.runs[x][kind], attr) for x in runs]
            if all(v is None for v in values):
                continue
            lines.append(f"  {label:24}" + "".join(f"{fmt(v):>{width}}" for v in values))
        lines.append("")
    return "\n".join(lines).rstrip()


__all__ = [
    "ConversationReport", "EvalConversation", "TurnFigures", "TurnResult", "conversation_corpus",
    "evaluate_conversations", "format_conversation_report", "inside", "is_conversation_file",
    "load_conversations", "same_article",
]
