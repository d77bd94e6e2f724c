"""Reading evaluation files: questions (JSONL or SQuAD v1.1/v2.0 JSON) and conversations (JSONL with
"turns", or CoQA/QuAC-style JSON), each with every acceptable answer.

    load_questions("eval/seed_questions.jsonl")[0].answers  # ['Emmanuel Macron', 'Macron']
    load_conversations("eval/seed_conversations.jsonl")[0].turns

A question file holds one ``{"question": ..., "answers": [...]}`` per line, an empty ``answers``
meaning unanswerable; a conversation file one ``{"id": ..., "article": ..., "turns": [...]}`` per
line. SQuAD and CoQA/QuAC files keep each question's paragraph (``context``) and article title.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.evaluation.metrics import answerable
from qa.files import read_text
from qa.squad import squad_paragraphs, squad_questions

CANNOT_ANSWER = "CANNOTANSWER"  # QuAC's answer to an unanswerable turn


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
        return answerable(self.answers)


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


# -- both kinds -------------------------------------------------------------------------------


def read_json_or_lines(path: Path, what: str, hint: str) -> tuple[str, Any]:
    """The text of ``path`` (``.xz`` or not) and its JSON document, or None for the document when it is JSON Lines;
    ``QAError`` naming ``what`` when it is missing, unreadable or empty."""
    text = read_text(path, what, hint)
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


def answer_text(answer: Any, path: Path, where: str) -> str:
    """The text of a gold answer, a string or SQuAD's ``{"text": ..., "answer_start": ...}``;
    ``QAError`` naming ``where`` in ``path`` otherwise."""
    if isinstance(answer, dict):
        answer = answer.get("text")
    if not isinstance(answer, str):
        raise QAError(f"{path}, {where}: every answer must be a string, not {answer!r}")
    return answer


def unique(items: Iterable[str]) -> list[str]:
    """The items without repeats, in first-seen order."""
    return list(dict.fromkeys(items))


# -- questions ----------------------------------------------------------------------------------


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """The questions of a JSONL or SQuAD v1.1/v2.0 file, in file order; ``QAError`` if unreadable.

        load_questions("eval/seed_questions.jsonl")[0].answers  # ['Emmanuel Macron', 'Macron']
    """
    return read_questions(path)[1]


def read_questions(path: str | Path) -> tuple[str, list[EvalQuestion]]:
    """("squad" or "jsonl", the questions): ``load_questions`` that also says which kind of file it read."""
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
    answers = [answer_text(a, path, where) for a in raw]
    context, title = record.get("context"), record.get("title")
    if context is not None and not isinstance(context, str):
        raise QAError(f"{path}, {where}: \"context\" must be a string")
    qid = record.get("id", default_id)
    return EvalQuestion(str(qid), question.strip(), unique(answers), context,
                        str(title) if title is not None else None)


def _squad_questions(data: dict[str, Any], path: Path) -> list[EvalQuestion]:
    questions = []
    try:
        for q in squad_questions(data["data"]):
            qa = q.qa
            question = _squad_question_text(qa, path, q.where)
            answers = [] if qa.get("is_impossible") else \
                [answer_text(x, path, q.where) for x in qa.get("answers", [])]
            questions.append(EvalQuestion(
                str(qa.get("id", f"{q.article}-{q.paragraph}-{q.index}")), question, unique(answers),
                str(q.context), str(q.title or f"article {q.article}"),
            ))
    except (KeyError, TypeError, AttributeError) as exc:
        raise QAError(f"{path} is not valid SQuAD JSON (data/paragraphs/qas): {type(exc).__name__} {exc}") \
            from None
    return questions


def _squad_question_text(qa: dict[str, Any], path: Path, where: str) -> str:
    """The stripped "question" of a SQuAD or CoQA/QuAC record; ``QAError`` naming ``where`` otherwise."""
    if not isinstance(qa.get("question"), str) or not qa["question"].strip():
        raise QAError(f"{path}, {where}: \"question\" must be a non-empty string")
    return qa["question"].strip()


# -- conversations ------------------------------------------------------------------------------


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
                record = json.loads(first)
                return isinstance(record, dict) and "turns" in record
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
                                  unique(answer_text(a, path, at) for a in answers)))
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
        for paragraph in squad_paragraphs(data["data"]):
            title = str(paragraph.title or f"story {paragraph.article}")
            story = _story_text(str(paragraph.context))
            cid = str(paragraph.record.get("id") or f"{paragraph.article}-{paragraph.paragraph}")
            stories.setdefault(story, cid)
            turns, scored = [], []
            for q in paragraph.questions():
                qa = q.qa
                question = _squad_question_text(qa, path, q.where)
                answers = [answer_text(x, path, q.where) for x in qa.get("answers", [])]
                answers = [] if any(x.strip() == CANNOT_ANSWER for x in answers) else answers
                turns.append(EvalQuestion(str(qa.get("id", f"{cid}#{q.index}")), question,
                                          unique(answers), story, title))
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


__all__ = [
    "CANNOT_ANSWER", "EvalConversation", "EvalQuestion", "answer_text", "is_conversation_file", "json_lines",
    "load_conversations", "load_questions", "read_json_or_lines", "read_questions", "unique",
]
