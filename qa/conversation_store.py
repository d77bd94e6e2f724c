"""Conversations that outlive the process: one JSON file each, bounded in number, expiring.

    store = ConversationStore(qa, Path("index/conversations"))
    answer, conversation = store.ask("tab-1", "Who offered Russia cooperation?")
    store.ask("tab-1", "Which day?")          # after a restart too: the turns are read back from disk
    store.forget("tab-1")

``qa serve`` keeps the conversations of ``/api/chat`` and of the chat page here (``Settings.conversations``:
by default ``<index>/conversations``), so a restart or a page reload loses nothing. Each file is
written atomically (``qa.files``) and named by a hash of the id, so any client-chosen id is a safe
file name. A conversation untouched for ``days`` is gone; past ``limit`` conversations, the
least recently used are dropped first. Without a folder, conversations live in memory only
(the ``limit`` most recently used).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.conversation import Conversation, check_id
from qa.errors import QAError
from qa.files import write_atomic

if TYPE_CHECKING:
    from qa.filters import Filters
    from qa.pipeline import QA
    from qa.schema import Answer

log = logging.getLogger(__name__)

CACHED = 256  # conversations kept loaded in memory besides their files
PRUNE_EVERY = 50  # saves between two sweeps of the folder for expired and surplus conversations


class ConversationStore:
    """The conversations of one ``QA``, by id: loaded on first use, saved after every turn."""

    def __init__(self, qa: QA, folder: str | Path | None, limit: int = 1000, days: float = 7.0):
        if limit < 1 or days <= 0:
            raise QAError(f"a conversation store needs a positive limit and lifetime, not {limit} and {days} days")
        self.qa = qa
        self.folder = Path(folder) if folder is not None else None
        self.limit, self.seconds = limit, days * 86400.0
        self._cache: OrderedDict[str, Conversation] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._saves = 0
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.prune()

    @classmethod
    def for_qa(cls, qa: QA) -> ConversationStore:
        """The store ``qa``'s settings name: ``Settings.conversations`` ("" for ``<index>/conversations``,
        "none" for memory only), ``max_conversations`` and ``conversation_days``."""
        s = qa.settings
        name = s.conversations.strip()
        folder = None if name.lower() == "none" else Path(name) if name else s.index / "conversations"
        return cls(qa, folder, s.max_conversations, s.conversation_days)

    def get(self, id: str, keep: bool = True) -> Conversation:
        """The conversation ``id``: from memory, else from its file, else a new one (not saved until a turn).
        ``keep=False``: a conversation only looked at (``GET /api/chat/{id}``) is not cached when new."""
        check_id(id)
        with self._lock:
            found = self._cache.get(id)
            if found is not None:
                self._cache.move_to_end(id)
                return found
        conversation = self._load(id)
        if conversation is None:
            conversation = self.qa.chat(id=id)
            if not keep:
                return conversation
        with self._lock:
            conversation = self._cache.setdefault(id, conversation)
            self._cache.move_to_end(id)
            while len(self._cache) > (CACHED if self.folder is not None else self.limit):
                self._cache.popitem(last=False)
        return conversation

    def ask(self, id: str, question: str, min_score: float | None = None,
            where: Filters | None = None) -> tuple[Answer, Conversation]:
        """The next turn of conversation ``id`` (turns of one conversation are taken one at a time), saved."""
        with self.turn(id) as conversation:
            answer = conversation.ask(question, min_score=min_score, where=where)
        return answer, conversation

    @contextmanager
    def turn(self, id: str) -> Iterator[Conversation]:
        """Conversation ``id`` for one turn, taken one at a time (the page and the API may share an id),
        saved afterwards if it has turns."""
        with self._turn(id):
            conversation = self.get(id)
            yield conversation
            if len(conversation):
                self.save(conversation)

    def save(self, conversation: Conversation) -> None:
        """Write ``conversation`` to its file (atomically); now and then sweep out expired and surplus ones."""
        if self.folder is None:
            return
        try:
            write_atomic(self._path(conversation.id), json.dumps(conversation.to_dict(), ensure_ascii=False))
        except OSError as exc:  # the answer was given; losing its memory must not fail the request
            log.warning("could not save conversation %s: %s", conversation.id, exc)
        with self._lock:
            self._saves += 1
            sweep = self._saves % PRUNE_EVERY == 0
        if sweep:
            self.prune()

    def forget(self, id: str) -> bool:
        """Drop conversation ``id`` from memory and disk; whether it was known."""
        check_id(id)
        with self._lock:
            known = self._cache.pop(id, None) is not None
        if self.folder is not None:
            path = self._path(id)
            known = known or path.exists()
            path.unlink(missing_ok=True)
        return known

    def prune(self) -> int:
        """Delete conversations untouched for longer than the lifetime, then the least recently used beyond
        ``limit``; how many were deleted."""
        if self.folder is None:
            return 0
        now, files = time.time(), []
        for path in self.folder.glob("*.json"):
            try:
                files.append((path.stat().st_mtime, path))
            except OSError:
                continue
        files.sort()
        doomed = [p for m, p in files if now - m > self.seconds]
        alive = [p for m, p in files if now - m <= self.seconds]
        doomed += alive[: max(0, len(alive) - self.limit)]
        for path in doomed:
            path.unlink(missing_ok=True)
        if doomed:
            with self._lock:  # a conversation whose file went must not come back from memory
                gone = {p.name for p in doomed}
                for id in [i for i in self._cache if self._path(i).name in gone]:
                    del self._cache[id]
        return len(doomed)

    def __len__(self) -> int:
        if self.folder is None:
            return len(self._cache)
        return sum(1 for _ in self.folder.glob("*.json"))

    def _load(self, id: str) -> Conversation | None:
        if self.folder is None:
            return None
        path = self._path(id)
        try:
            if time.time() - path.stat().st_mtime > self.seconds:
                path.unlink(missing_ok=True)
                return None
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            conversation = Conversation.from_dict(data, self.qa)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, QAError) as exc:  # a damaged file: start afresh, keep it aside for a look
            log.warning("conversation %s could not be read (%s): starting it afresh", id, exc)
            path.replace(path.with_suffix(".damaged"))
            return None
        if conversation.id != id:  # a hash collision, in theory
            return None
        return conversation

    def _path(self, id: str) -> Path:
        assert self.folder is not None
        return self.folder / (hashlib.sha256(id.encode("utf-8")).hexdigest()[:32] + ".json")

    @contextmanager
    def _turn(self, id: str) -> Iterator[None]:
        with self._lock:
            lock = self._locks.setdefault(id, threading.Lock())
            if len(self._locks) > 4 * self.limit:  # ids seen long ago: their locks are free
                for other in [k for k, v in self._locks.items() if k != id and not v.locked()]:
                    del self._locks[other]
        with lock:
            yield
