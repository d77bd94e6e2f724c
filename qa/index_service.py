"""The index a ``QA`` answers from, through its life: loaded on first use, compared with the corpus
folder now and then, brought up to date in the background while questions go on being answered
from the index already loaded.

    service = IndexService(settings, embedder)
    service.current()          # the index to answer from (the folder re-checked every rescan_seconds)
    service.update()           # bring it up to date now (qa index)
    service.request()          # ... or in a background thread (qa serve, after an article is added)
    service.state              # {"updating": ..., "started": ..., "finished": ..., "error": ..., ...}
    service.withdraw(ids)      # articles removed from the corpus stop being answered from at once

Updates are one at a time (a lock); a request during an update schedules one more. ``QA`` builds one
from its settings (``QA.indexes``); the chat page and the API share it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from qa.backends import serial_blas
from qa.errors import QAError
from qa.index import SentenceIndex, open_index

if TYPE_CHECKING:
    from qa.index import Embedder
    from qa.index.writer import ArticleEncoder
    from qa.settings import Settings

log = logging.getLogger(__name__)
_clock = time.monotonic  # when the corpus was last checked; tests move it


class IndexService:
    """The index of ``settings.corpus`` in ``settings.index``, embedded with ``embedder``."""

    def __init__(self, settings: Settings, embedder: Embedder):
        self.settings = settings
        self.embedder = embedder
        self.loaded: SentenceIndex | None = None  # what questions are answered from
        self._lock = threading.Lock()  # one update at a time
        self._checked = -math.inf  # when the corpus was last compared with the index (_clock)
        self._thread: threading.Thread | None = None
        self._again = False
        self._requests = threading.Lock()
        self.state: dict[str, Any] = {"updating": False, "started": None, "finished": None, "error": None,
                                      "articles": None, "sentences": None}
        # called with the seconds of each update that loaded another index (metrics; not the rescans that found none)
        self.observers: list[Callable[[float], None]] = []
        self._withdrawn: set[str] = set()  # removed from the corpus, not yet out of the index on disk
        self._reload = False  # the next update reads the index from disk (after a reinstate)

    def update(self, progress: bool = False, rebuild: bool = False, optimize: bool = False,
               encoder: ArticleEncoder | None = None) -> SentenceIndex:
        """The up-to-date index of the corpus, updated first if the corpus or embedder changed.
        ``optimize``: merge it into one segment; ``encoder``: how new articles are embedded (default: here)."""
        with self._lock:
            s = self.settings
            began = time.monotonic()
            loaded, self._reload = (None if self._reload else self.loaded), False
            index = open_index(s.corpus, s.index, self.embedder, progress=progress, rebuild=rebuild,
                               loaded=loaded, ann_min_rows=s.ann_min_rows, encoder=encoder, optimize=optimize)
            # articles removed while this update read the corpus: withdrawn until an update leaves them out
            self._withdrawn = {a for a in self._withdrawn if a in index.articles}
            if index is not self.loaded:
                serial_blas()  # numpy's idle BLAS threads would spin against the models' (qa.backends)
                index.withdraw(self._withdrawn)
                self.loaded = index
                for observe in self.observers:
                    observe(time.monotonic() - began)
            self._checked = _clock()
            return index

    def withdraw(self, article_ids: Iterable[str]) -> None:
        """Stop answering from these articles now (their files have left the corpus; the next update
        writes their tombstones into the index on disk)."""
        ids = set(article_ids)
        self._withdrawn |= ids
        if self.loaded is not None:
            self.loaded.withdraw(ids)

    def reinstate(self, article_ids: Iterable[str]) -> None:
        """Undo ``withdraw`` for articles brought back (``qa restore``): the next update reads the index
        from disk again rather than keep the copy they were withdrawn from."""
        ids = set(article_ids)
        self._withdrawn -= ids
        self._reload = True
        self._checked = -math.inf

    def current(self) -> SentenceIndex:
        """The index questions are answered from: ``update()``, but the corpus folder is compared with it
        at most once every ``Settings.rescan_seconds`` (stat-ing every file of a large corpus costs more
        than answering); between checks, and while another thread updates it, the loaded index serves as it is."""
        index = self.loaded
        if index is not None and _clock() - self._checked < self.settings.rescan_seconds:
            return index
        if index is not None:
            if not self._lock.acquire(blocking=False):
                return index  # another thread is updating the index: questions go on with the one loaded
            self._lock.release()
        return self.update()

    # -- in the background ----------------------------------------------------------------------

    def request(self) -> None:
        """Bring the index up to date in a background thread; during an update, once more after it."""
        with self._requests:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="qa-indexer", daemon=True)
            self.state.update(updating=True, started=time.time(), error=None)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the background update (if any) ends, or ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                index = self.update()
                self.state.update(articles=len(index.articles), sentences=len(index.sentences), error=None)
            except QAError as exc:
                self.state["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - the server must survive; the log keeps the traceback
                log.exception("background index update failed")
                self.state["error"] = f"the index update failed ({type(exc).__name__}); see the server log"
            with self._requests:
                if not self._again:
                    self.state.update(updating=False, finished=time.time())
                    return
                self._again = False
