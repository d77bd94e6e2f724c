"""Feed subscriptions, polled on a schedule: ``qa feeds add URL`` once, then ``qa watch`` (or ``qa serve``)
brings in each new article as the feed announces it.

The list lives in the corpus folder as ``.qa-feeds.json`` (hidden, so the corpus reader ignores it),
rewritten whole through a temporary file and a rename on every change. A poll is a conditional GET
(``If-None-Match`` / ``If-Modified-Since`` from the feed's last answer): a 304 costs one request and
nothing else is fetched. Otherwise entries already in the ledger (``.qa-sources.json``) are "known"
and not fetched again, entries a user removed from the corpus stay out ("removed"), and the rest are
added like ``qa add`` adds pages. A feed that fails is tried again later and later (the interval
doubled per consecutive failure, up to 64 times, at most a day), while the others go on.

    subscriptions = Subscriptions("seeds")
    subscriptions.add("https://example.org/rss.xml")
    for outcome in poll("seeds"):
        print(outcome.url, outcome.status, outcome.new_items)
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from qa.errors import QAError, SourceError
from qa.files import write_atomic
from qa.sources.add import AddResult, Fetcher, add_feed_entries
from qa.sources.fetch import check_url, fetch
from qa.sources.store import canonical, ledger_lock

log = logging.getLogger(__name__)

FEEDS = ".qa-feeds.json"
POLL_SECONDS = 900.0  # the default interval between polls of one feed (Settings.feed_poll_seconds)
MAX_BACKOFF_SECONDS = 24 * 3600.0
MAX_DOUBLINGS = 6
TICK_SECONDS = 30.0  # the poller looks for due feeds at least this often
NEW = "new items"
NOT_MODIFIED = "not modified"
NO_NEW = "no new items"
FAILED = "failed"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


@dataclass(frozen=True)
class Feed:
    """One subscription and the outcome of its last poll."""

    url: str  # canonical (qa.sources.store.canonical)
    added: str  # ISO time of subscribing
    etag: str | None = None  # validators of the feed's last full answer, sent back on the next poll
    last_modified: str | None = None
    last_poll: str | None = None  # ISO time
    last_status: str | None = None  # new items, not modified, no new items, failed; None before the first poll
    new_items: int = 0  # articles added or updated by the last poll
    total_added: int = 0  # ... by every poll since subscribing
    error: str | None = None  # why the last poll failed, or which of its entries did
    failures: int = 0  # consecutive failed polls
    next_poll: float = 0.0  # epoch seconds; 0: due now

    def due(self, now: float) -> bool:
        return self.next_poll <= now

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feed:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class FeedPoll:
    """What one poll of one feed did."""

    url: str
    status: str  # new items, not modified, no new items, failed
    results: tuple[AddResult, ...] = ()  # one per feed entry (none after a 304 or a failure)
    error: str | None = None
    next_poll: float = 0.0

    @property
    def new_items(self) -> int:
        return sum(r.status in {"added", "updated"} for r in self.results)

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "new_items": self.new_items, "error": self.error,
                "next_poll": self.next_poll, "results": [r.to_dict() for r in self.results]}


class Subscriptions:
    """The feeds a corpus folder is subscribed to, kept in ``<corpus>/.qa-feeds.json``.

    Every change re-reads the file under the corpus's sources lock (``qa.sources.store.ledger_lock``: a
    thread lock and a file lock) and rewrites it, so the server's poller, a request adding a feed and
    ``qa watch`` or ``qa feeds`` in another process never lose each other's changes.
    """

    def __init__(self, corpus: str | Path):
        self.corpus = Path(corpus)
        self.path = self.corpus / FEEDS

    def list(self) -> list[Feed]:
        """The subscriptions, in the order they were added."""
        with ledger_lock(self.corpus):
            return list(self._load().values())

    def get(self, url: str) -> Feed | None:
        with ledger_lock(self.corpus):
            return self._load().get(canonical(url))

    def add(self, url: str) -> Feed:
        """Subscribe to the feed at ``url`` (http or https, with a host); already subscribed: the existing one."""
        check_url(url, allow_private=True)  # the address is checked when it is fetched, not here
        key = canonical(url)
        with ledger_lock(self.corpus):
            feeds = self._load()
            if key not in feeds:
                feeds[key] = Feed(key, _iso(time.time()))
                self._save(feeds)
            return feeds[key]

    def remove(self, url: str) -> Feed:
        """Unsubscribe; the articles it brought stay in the corpus. ``SourceError`` for a feed not subscribed."""
        key = canonical(url)
        with ledger_lock(self.corpus):
            feeds = self._load()
            if key not in feeds:
                raise SourceError(f"{url}: not a subscribed feed (`qa feeds list` shows them)")
            gone = feeds.pop(key)
            self._save(feeds)
            return gone

    def record(self, feed: Feed) -> None:
        """Store the outcome of a poll, unless the feed was unsubscribed meanwhile."""
        with ledger_lock(self.corpus):
            feeds = self._load()
            if feed.url in feeds:
                feeds[feed.url] = feed
                self._save(feeds)

    def _load(self) -> dict[str, Feed]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            feeds = [Feed.from_dict(item) for item in json.loads(raw)["feeds"]]
            return {f.url: f for f in feeds}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            aside = self.path.with_name(FEEDS + ".damaged")
            os.replace(self.path, aside)
            log.warning("%s is damaged (%s): set aside as %s; starting with no subscriptions",
                        self.path, exc, aside.name)
            return {}

    def _save(self, feeds: dict[str, Feed]) -> None:
        body = {"feeds": [f.to_dict() for f in feeds.values()], "updated": _iso(time.time())}
        self.corpus.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(body, indent=1, ensure_ascii=False) + "\n")


def backoff(failures: int, interval: float = POLL_SECONDS) -> float:
    """Seconds until a feed that failed ``failures`` times in a row is tried again."""
    return min(interval * 2 ** min(failures, MAX_DOUBLINGS), MAX_BACKOFF_SECONDS)


def poll_feed(feed: Feed, corpus: str | Path, allow_private: bool = False, fetcher: Fetcher = fetch,
              now: float | None = None, interval: float = POLL_SECONDS) -> tuple[Feed, FeedPoll]:
    """Poll one feed: its state after the poll, and what the poll did. Never raises for the feed's faults."""
    now = time.time() if now is None else now
    conditional = {k: v for k, v in (("If-None-Match", feed.etag), ("If-Modified-Since", feed.last_modified)) if v}
    try:
        # fetchers that know no conditional GET (the tests' fakes) are only ever asked plain GETs
        fetched = fetcher(feed.url, allow_private=allow_private, **({"headers": conditional} if conditional else {}))
        results = [] if fetched.status == 304 else add_feed_entries(fetched, corpus, allow_private, fetcher)
    except SourceError as exc:
        return _failed(feed, str(exc), now, interval)
    outcome = FeedPoll(feed.url, NOT_MODIFIED, tuple(results), next_poll=now + interval)
    etag, modified = feed.etag, feed.last_modified
    failed = [r for r in results if not r.ok]
    if fetched.status != 304:
        outcome = replace(outcome, status=NEW if outcome.new_items else NO_NEW)
        # an entry that failed (a page that timed out) is tried again on the next poll: no validators, no 304
        etag, modified = (None, None) if failed else (fetched.etag, fetched.last_modified)
    error = None
    if failed:
        error = f"{len(failed)} of {len(results)} entries failed, first {failed[0].item}: {failed[0].error}"
        outcome = replace(outcome, error=error)
    after = replace(feed, etag=etag, last_modified=modified, last_poll=_iso(now), last_status=outcome.status,
                    new_items=outcome.new_items, total_added=feed.total_added + outcome.new_items, error=error,
                    failures=0, next_poll=outcome.next_poll)
    return after, outcome


def _failed(feed: Feed, error: str, now: float, interval: float) -> tuple[Feed, FeedPoll]:
    failures = feed.failures + 1
    after = replace(feed, last_poll=_iso(now), last_status=FAILED, new_items=0, error=error, failures=failures,
                    next_poll=now + backoff(failures, interval))
    return after, FeedPoll(feed.url, FAILED, error=error, next_poll=after.next_poll)


def poll(corpus: str | Path, allow_private: bool = False, fetcher: Fetcher = fetch, now: float | None = None,
         force: bool = False, interval: float = POLL_SECONDS,
         cancel: threading.Event | None = None) -> list[FeedPoll]:
    """Poll every subscribed feed that is due (every one with ``force``), one after another, recording
    each outcome as it comes; ``cancel`` set stops before the next feed."""
    subscriptions = Subscriptions(corpus)
    outcomes = []
    for feed in subscriptions.list():
        if cancel is not None and cancel.is_set():
            break
        at = time.time() if now is None else now
        if not force and not feed.due(at):
            continue
        try:
            after, outcome = poll_feed(feed, corpus, allow_private, fetcher, at, interval)
        except Exception as exc:  # a bug met on one feed's answer: that feed fails and backs off, the others go on
            log.exception("polling the feed %s failed", feed.url)
            after, outcome = _failed(feed, f"{type(exc).__name__}: {exc}", at, interval)
        subscriptions.record(after)
        outcomes.append(outcome)
        log.info("feed %s: %s (%d new)%s", feed.url, outcome.status, outcome.new_items,
                 f": {outcome.error}" if outcome.error else "")
    return outcomes


def log_failures(outcomes: list[FeedPoll]) -> None:
    """A warning in the log per feed that failed: what a ``FeedPoller`` does after a round by default."""
    for outcome in outcomes:
        if not outcome.ok:
            log.warning("feed %s failed: %s", outcome.url, outcome.error)


class FeedPoller:
    """Polls a corpus folder's due feeds in a daemon thread, and says when articles came in.

        poller = FeedPoller(corpus, on_new=indexer.request)  # qa.index_service
        poller.start()      # at server startup
        poller.state        # for a status endpoint
        poller.stop()       # at shutdown

    ``on_new`` is called after a round that added or updated an article. ``on_round`` sees every round's
    outcomes first (``last_duration`` already set); it replaces the default, ``log_failures``, so a hook
    that records metrics calls that too. A round that raises is logged and the next one comes all the same.
    """

    def __init__(self, corpus: str | Path, on_new: Callable[[], None], interval: float = POLL_SECONDS,
                 allow_private: bool = False, fetcher: Fetcher = fetch,
                 on_round: Callable[[list[FeedPoll]], None] | None = None):
        if interval <= 0:
            raise ValueError(f"a feed poller needs an interval above 0 s, not {interval} (0: start none)")
        self.corpus = Path(corpus)
        self.on_new = on_new
        self.on_round = on_round or log_failures  # qa watch prints the outcomes instead
        self.interval = float(interval)
        self.allow_private = allow_private
        self.fetcher = fetcher
        self.last_round: str | None = None
        self.last_duration: float | None = None
        self.last_error: str | None = None  # why the thread's last round broke off, if it did
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._rounds = threading.Lock()  # the thread's rounds and poll_now() take turns
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Poll in a daemon thread until ``stop()``."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="qa-feed-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread: at once when it waits, after the feed it is polling when it polls."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Look for due feeds now (a feed was just subscribed), not at the next tick."""
        self._wake.set()

    def poll_now(self) -> list[FeedPoll]:
        """Poll every feed now, due or not, in the caller's thread."""
        return self.poll_round(force=True)

    def poll_round(self, force: bool = False, cancel: threading.Event | None = None) -> list[FeedPoll]:
        """One round: poll the due feeds (all with ``force``; ``cancel`` set: no more of them), then tell
        ``on_round`` and ``on_new``."""
        with self._rounds:
            began = time.perf_counter()
            self.last_round = _iso(time.time())
            try:
                outcomes = poll(self.corpus, self.allow_private, self.fetcher, force=force, interval=self.interval,
                                cancel=cancel)
            finally:
                self.last_duration = round(time.perf_counter() - began, 3)
        self.on_round(outcomes)
        if any(o.new_items for o in outcomes):
            self.on_new()
        return outcomes

    def run(self) -> None:
        """Poll due feeds until ``stop()``, looking every ``min(interval, 30)`` seconds or when woken; in the
        caller's thread (``qa watch``: Ctrl-C ends it) or the one ``start()`` makes."""
        tick = min(self.interval, TICK_SECONDS)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.poll_round(cancel=self._stop)  # stop() need not wait for the feeds left in the round
                self.last_error = None
            except QAError as exc:  # an index update that found the index busy, say
                self.last_error = str(exc)
                log.warning("after polling the feeds of %s: %s", self.corpus, exc)
            except Exception as exc:  # the thread outlives any one round: a full disk, a bug
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("polling the feeds of %s failed; trying again in %g s", self.corpus, tick)
            self._wake.wait(tick)

    @property
    def state(self) -> dict[str, Any]:
        """For a status endpoint: the poller, its last round, and each feed's last poll."""
        try:
            feeds = Subscriptions(self.corpus).list()
        except OSError as exc:
            feeds = []
            log.warning("cannot read the feed subscriptions of %s: %s", self.corpus, exc)
        return {
            "running": self.running, "interval": self.interval, "last_round": self.last_round,
            "last_duration": self.last_duration, "error": self.last_error,
            "feeds": {f.url: {"last_poll": f.last_poll, "status": f.last_status, "new_items": f.new_items,
                              "total_added": f.total_added, "error": f.error, "failures": f.failures,
                              "next_poll": _iso(f.next_poll) if f.next_poll else None} for f in feeds},
        }


__all__ = ["FEEDS", "POLL_SECONDS", "Feed", "FeedPoll", "FeedPoller", "Subscriptions", "add_feed_entries",
           "backoff", "log_failures", "poll", "poll_feed"]
