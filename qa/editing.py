"""Changing the corpus, written once for the CLI, the API and the page: store (or remove, or restore)
the sources, write the audit line, and bring the index along.

    editor = CorpusEditor(corpus, qa.indexes)               # qa serve: index updates in the background
    editor.add("alice", urls=["https://example.org/news/1"], via="api")
    editor.remove("alice", ["web/example-org/news-1-1a2b3c4d5e.json"], via="api")   # not cited from now on

A removed article stops being answered from at once (``IndexService.withdraw``); the index on disk
catches up in the update that follows. ``background=False`` (the CLI) updates it before returning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.sources import audit
from qa.sources.add import AddResult, add_feed, add_urls, save_upload
from qa.sources.trash import TrashResult, remove, restore

if TYPE_CHECKING:
    from qa.index_service import IndexService


class CorpusEditor:
    """The writes to one corpus folder, by whoever is named in each call."""

    def __init__(self, corpus: str | Path, indexes: IndexService | None = None, allow_private: bool = False,
                 background: bool = True):
        self.corpus = Path(corpus)
        self.indexes = indexes
        self.allow_private = allow_private
        self.background = background

    def add(self, who: str, urls: Iterable[str] = (), feeds: Iterable[str] = (),
            uploads: Iterable[tuple[str, bytes]] = (), via: str = "") -> list[AddResult]:
        """Fetch ``urls`` and ``feeds`` and store ``uploads`` (name, bytes); one result per item."""
        self.corpus.mkdir(parents=True, exist_ok=True)
        results: list[AddResult] = []
        uploads = list(uploads)
        for name, data in uploads:
            results.append(save_upload(self.corpus, name, data))
        urls = [u for u in urls if u and u.strip()]
        if urls:
            results += add_urls(urls, self.corpus, self.allow_private)
        feeds = list(feeds)
        for feed in feeds:
            results += add_feed(feed, self.corpus, self.allow_private)
        action = "feed" if feeds and not urls and not uploads else "upload" if uploads and not urls else "add"
        items = [n for n, _ in uploads] + urls + feeds
        audit.record(self.corpus, who, action, items, results, via)
        if any(r.status in {"added", "updated"} for r in results):
            self.refresh()
        return results

    def failed_uploads(self, who: str, results: Sequence[AddResult], via: str = "") -> None:
        """Record uploads turned away before they reached ``add`` (over the size limit, gone)."""
        if results:
            audit.record(self.corpus, who, "upload", [r.item for r in results], results, via)

    def remove(self, who: str, ids: Iterable[str], via: str = "") -> list[TrashResult]:
        """Move the articles' files to the corpus's trash; they are not cited from this moment on."""
        ids = list(ids)
        results = remove(self.corpus, ids, who)
        audit.record(self.corpus, who, "remove", ids, results, via)
        gone = [a for r in results if r.ok for a in r.articles]
        if gone:
            if self.indexes is not None:
                self.indexes.withdraw(gone)
            self.refresh()
        return results

    def restore(self, who: str, ids: Iterable[str], via: str = "") -> list[TrashResult]:
        """Bring removed articles back from the trash (cited again once the index has them)."""
        ids = list(ids)
        results = restore(self.corpus, ids, who)
        audit.record(self.corpus, who, "restore", ids, results, via)
        back = [a for r in results if r.ok for a in r.articles]
        if back:
            if self.indexes is not None:
                self.indexes.reinstate(back)
            self.refresh()
        return results

    def subscribe(self, who: str, url: str, via: str = "") -> Any:
        """Subscribe the corpus to the feed at ``url`` (polled by ``qa serve`` and ``qa watch``); the ``Feed``."""
        from qa.sources.feeds import Subscriptions

        feed = Subscriptions(self.corpus).add(url)
        audit.record(self.corpus, who, "subscribe", [feed.url], (), via)
        return feed

    def unsubscribe(self, who: str, url: str, via: str = "") -> Any:
        """Stop polling the feed at ``url`` (``SourceError`` if the corpus is not subscribed to it)."""
        from qa.sources.feeds import Subscriptions

        feed = Subscriptions(self.corpus).remove(url)
        audit.record(self.corpus, who, "unsubscribe", [feed.url], (), via)
        return feed

    def reindex(self, who: str, via: str = "") -> None:
        """Compare the corpus folder with the index and bring the index up to date."""
        audit.record(self.corpus, who, "reindex", [], (), via)
        self.refresh()

    def refresh(self) -> Any:
        """Bring the index along: in the background (a server), or now (a command)."""
        if self.indexes is None:
            return None
        if self.background:
            self.indexes.request()
            return None
        return self.indexes.update()
