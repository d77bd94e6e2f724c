"""A conversation with the articles: each question is answered with the earlier turns in view.

    from qa import QA
    c = QA(corpus="articles/").chat()
    c.ask("Who offered Russia cooperation?").text          # 'Emmanuel Macron'
    r = c.ask("Which day?")
    r.query                                                 # 'Which day did Emmanuel Macron offer Russia cooperation?'
    c.turns                                                 # [(question, Answer), ...]
    saved = c.to_dict()                                     # JSON-ready: id, times, turns
    c = Conversation.from_dict(saved, qa)                   # the same conversation, e.g. after a restart

A ``Conversation`` holds its id and its last ``max_turns`` answers (each answer knows its
question, the standalone query it was read as and its citations), so it is cheap to create,
and many conversations may share one ``QA`` from many threads. The chat page, ``/api/chat``,
``qa chat`` and ``qa eval`` all go through it; ``qa.conversation_store`` keeps them on disk.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.schema import Answer

if TYPE_CHECKING:
    from qa.filters import Filters
    from qa.pipeline import QA

FORMAT = 1  # version of ``to_dict``'s layout
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")  # what a conversation id may be: safe in URLs and logs


class Conversation:
    """The turns of one conversation over a ``QA``; ``ask`` answers the next question.

    ``id``: any id matching ``ID`` (default: a new random one). ``follow_up``: what follow-ups take from
    the history, as ``Settings.follow_up`` (default: the settings').
    """

    def __init__(self, qa: QA, max_turns: int | None = None, id: str | None = None, follow_up: str | None = None):
        limit = qa.settings.history_turns if max_turns is None else max_turns
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_turns must be a positive number of turns, not {limit!r}")
        self.id = check_id(id) if id is not None else uuid.uuid4().hex
        self.qa = qa
        self.max_turns = limit
        self.follow_up = follow_up
        self.created = self.updated = time.time()
        self._answers: deque[Answer] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def ask(self, question: str, min_score: float | None = None, where: Filters | None = None) -> Answer:
        """Answer ``question`` in the light of the earlier turns, and remember it as the latest turn.

        A question that fails the checks (empty, too long) raises ``QuestionError`` and leaves the
        conversation as it was.
        """
        answer = self.qa.answer(question, min_score=min_score, history=self.history, where=where,
                                follow_up=self.follow_up)
        with self._lock:
            self._answers.append(answer)
            self.updated = time.time()
        return answer

    @property
    def history(self) -> list[Answer]:
        """The remembered answers, oldest first (what ``QA.answer(..., history=)`` takes)."""
        with self._lock:
            return list(self._answers)

    @property
    def turns(self) -> list[tuple[str, Answer]]:
        """The remembered (question, answer) pairs, oldest first."""
        return [(a.question, a) for a in self.history]

    def reset(self) -> None:
        """Forget every turn: the next question starts a new conversation (with the same id)."""
        with self._lock:
            self._answers.clear()
            self.updated = time.time()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"format", "id", "created", "updated", "max_turns", "follow_up", "turns": [Answer, ...]}``."""
        with self._lock:
            return {"format": FORMAT, "id": self.id, "created": self.created, "updated": self.updated,
                    "max_turns": self.max_turns, "follow_up": self.follow_up,
                    "turns": [a.to_dict() for a in self._answers]}

    @classmethod
    def from_dict(cls, data: Any, qa: QA) -> Conversation:
        """The conversation ``to_dict`` gave, over ``qa``; ``QAError`` naming what is wrong if malformed."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("turns"), list):
            raise QAError(f"not a saved conversation (format {FORMAT} with a list of turns)")
        try:
            conversation = cls(qa, max_turns=data.get("max_turns"), id=data.get("id"), follow_up=data.get("follow_up"))
            answers = [Answer.from_dict(t) for t in data["turns"]]
            conversation.created = float(data.get("created", conversation.created))
            conversation.updated = float(data.get("updated", conversation.updated))
        except (ValueError, TypeError) as exc:
            raise QAError(f"not a saved conversation: {exc}") from None
        conversation._answers.extend(answers)
        return conversation

    def __len__(self) -> int:
        return len(self._answers)

    def __repr__(self) -> str:
        return f"Conversation({self.id!r}, {len(self)} turns, max_turns={self.max_turns})"


def check_id(id: Any) -> str:
    """``id`` if it is a usable conversation id, else ``QAError`` saying what one looks like."""
    if not isinstance(id, str) or not ID.fullmatch(id):
        raise QAError(f"conversation id {id!r}: use 1-200 letters, digits, '_', '-', '.' or ':', "
                      "starting with a letter or digit")
    return id
