"""qa: answers to questions over a folder of news articles, with citations.

    from qa import answer
    r = answer("Who offered Russia cooperation?")
    r.text, r.score, r.citations[0].sentence

    from qa import chat
    c = chat()                                   # a conversation: follow-ups know who "he" is
    c.ask("Who offered Russia cooperation?"); c.ask("On which day did he make the offer?")

``import qa`` is cheap: models, torch and FAISS load on first use.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from qa.errors import CorpusError, CorruptIndexError, ModelError, QAError, QuestionError
from qa.schema import Answer, Article, Candidate, Citation, Hit, Passage, Sentence, Span

if TYPE_CHECKING:
    from qa.conversation import Conversation
    from qa.pipeline import QA

__version__ = "0.1.0"
__all__ = [
    "QA", "answer", "chat", "Conversation", "Answer", "Article", "Candidate", "Citation", "Hit", "Passage",
    "Sentence", "Span",
    "QAError", "QuestionError", "CorpusError", "CorruptIndexError", "ModelError",
]

_default: QA | None = None
_default_lock = threading.Lock()


def default_qa() -> QA:
    """The shared ``QA`` over the default corpus and index (``seeds/``, ``index/`` or ``QA_*``)."""
    global _default
    with _default_lock:
        if _default is None:
            from qa.pipeline import QA

            _default = QA()
        return _default


def answer(question: str, min_score: float | None = None, history: list[Answer] | None = None) -> Answer:
    """Answer ``question`` from the default corpus; ``text`` is None when the articles don't say.
    ``history``: earlier answers of the conversation, for a follow-up question."""
    return default_qa().answer(question, min_score=min_score, history=history)


def chat(max_turns: int | None = None) -> Conversation:
    """A new conversation over the default corpus (one shared ``QA``): ``chat().ask(question)``."""
    return default_qa().chat(max_turns=max_turns)


def __getattr__(name: str) -> Any:
    if name == "QA":
        from qa.pipeline import QA

        return QA
    if name == "Conversation":
        from qa.conversation import Conversation

        return Conversation
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
