"""A conversation with the articles: each question is answered with the earlier turns in view.

    from qa import QA
    c = QA(corpus="articles/").chat()
    c.ask("Who offered Russia cooperation?").text          # 'Emmanuel Macron'
    r = c.ask("What did he propose to the Russian services?")
    r.query                                                 # 'What did Emmanuel Macron propose to ...'
    c.turns                                                 # [(question, Answer), ...]
    c.reset()

A ``Conversation`` holds nothing but its last ``max_turns`` answers (each answer knows
its question, the standalone query and its citations), so it is cheap to create, and
many conversations may share one ``QA`` from many threads.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from qa.schema import Answer

if TYPE_CHECKING:
    from qa.filters import Filters
    from qa.pipeline import QA


class Conversation:
    """The turns of one conversation over a ``QA``; ``ask`` answers the next question."""

    def __init__(self, qa: QA, max_turns: int | None = None):
        limit = qa.settings.history_turns if max_turns is None else max_turns
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_turns must be a positive number of turns, not {limit!r}")
        self.qa = qa
        self.max_turns = limit
        self._answers: deque[Answer] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def ask(self, question: str, min_score: float | None = None, where: Filters | None = None) -> Answer:
        """Answer ``question`` in the light of the earlier turns, and remember it as the latest turn.

        A question that fails the checks (empty, too long) raises ``QuestionError`` and leaves the
        conversation as it was.
        """
        history = self.history
        answer = self.qa.answer(question, min_score=min_score, history=history, where=where)
        with self._lock:
            self._answers.append(answer)
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
        """Forget every turn: the next question starts a new conversation."""
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)

    def __repr__(self) -> str:
        return f"Conversation({len(self)} turns, max_turns={self.max_turns})"
