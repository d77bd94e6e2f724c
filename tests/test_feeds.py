"""Feed subscriptions: polls against a local web server that answers conditional GETs the way real
feeds do (ETag, Last-Modified, 304), counting what is asked of it; backoff, the list on disk, the
poller thread and the CLI."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import Message
from email.utils import formatdate
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import cli
from qa.errors import SourceError
from qa.sources.feeds import (
    FEEDS,
    POLL_SECONDS,
    FeedPoller,
    Subscriptions,
    backoff,
    poll,
)
from qa.sources.fetch import fetch
from qa.sources.store import LEDGER, canonical
from tests.test_sources import BRIDGE, FERRY, Site, feed

STORM = FERRY.replace("Ferry rescue", "Storm warning").replace("212", "90")
RSS = "application/rss+xml"


class FeedSite(Site):
    """A ``Site`` whose answers carry an ETag and a Last-Modified, and which answers 304 to a request that
    sends either back unchanged; it counts requests and answers per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.answers: list[tuple[str, int]] = []
        self.sent: list[dict[str, str]] = []  # request headers, in order
        self.version = 0
        super().__init__()

    def answer(self, path: str, request: Message) -> tuple[int, str, bytes, dict[str, str]]:
        self.hits[path] += 1
        self.sent.append(dict(request))
        status, kind, body, headers = super().answer(path, request)
        modified = headers.get("Last-Modified", "")
        etag = f'"{hashlib.sha1(body).hexdigest()[:12]}"'
        if status == 200 and (request.get("If-None-Match") == etag or request.get("If-Modified-Since") == modified):
            status, body = 304, b""
        self.answers.append((path, status))
        validators = {"ETag": etag, "Last-Modified": modified} if status in {200, 304} else {}
        return status, kind, body, {**validators, "Content-Length": str(len(body))}

    def page(self, path: str, body: str | bytes, kind: str = "text/html; charset=utf-8", status: int = 200,
             **headers: str) -> str:
        self.version += 1  # each change gets a later Last-Modified (real time may not have moved a second)
        modified = formatdate(1_700_000_000 + 60 * self.version, usegmt=True)
        return super().page(path, body, kind, status, **{"Last-Modified": modified, **headers})

    def feed(self, path: str, links: list[str]) -> str:
        return self.page(path, feed(self.base, links), kind=RSS)

    def feed_answers(self, path: str) -> list[int]:
        return [status for p, status in self.answers if p == path]


@pytest.fixture
def site() -> Iterator[FeedSite]:
    s = FeedSite()
    s.page("/news/bridge.html", BRIDGE)
    s.page("/news/ferry.html", FERRY)
    s.page("/news/storm.html", STORM)
    yield s
    s.server.shutdown()


ARTICLES = ["/news/bridge.html", "/news/ferry.html", "/news/storm.html"]


def article_hits(site: FeedSite) -> dict[str, int]:
    return {path: site.hits[path] for path in ARTICLES}


def test_a_poll_adds_new_entries_and_an_unchanged_feed_costs_one_request(site: FeedSite, corpus: Path) -> None:
    url = site.feed("/feed.xml", ARTICLES[:2])
    Subscriptions(corpus).add(url)
    [first] = poll(corpus, allow_private=True)  # a new subscription is due at once
    assert first.status == "new items" and first.new_items == 2 and first.error is None
    assert [r.status for r in first.results] == ["added", "added"]
    assert article_hits(site) == {"/news/bridge.html": 1, "/news/ferry.html": 1, "/news/storm.html": 0}

    assert poll(corpus, allow_private=True) == []  # nothing is due before the interval has passed
    [second] = poll(corpus, allow_private=True, now=time.time() + POLL_SECONDS + 1)
    assert second.status == "not modified" and second.results == ()
    assert site.feed_answers("/feed.xml") == [200, 304]
    assert article_hits(site) == {"/news/bridge.html": 1, "/news/ferry.html": 1, "/news/storm.html": 0}
    conditional = site.sent[-1]
    assert conditional["If-None-Match"].startswith('"') and conditional["If-Modified-Since"].endswith("GMT")

    site.feed("/feed.xml", ARTICLES)  # a third entry: a new ETag and Last-Modified
    [third] = poll(corpus, allow_private=True, force=True)
    assert [r.status for r in third.results] == ["known", "known", "added"]
    assert third.status == "new items" and third.new_items == 1
    assert article_hits(site) == {"/news/bridge.html": 1, "/news/ferry.html": 1, "/news/storm.html": 1}
    assert site.feed_answers("/feed.xml") == [200, 304, 200]

    [state] = Subscriptions(corpus).list()
    assert (state.last_status, state.new_items, state.total_added, state.failures) == ("new items", 1, 3, 0)
    assert state.etag and state.last_modified and state.error is None
    [again] = poll(corpus, allow_private=True, force=True)
    assert again.status == "not modified"
    assert Subscriptions(corpus).list()[0].total_added == 3


def test_a_failing_feed_backs_off_and_the_others_still_poll(site: FeedSite, corpus: Path) -> None:
    broken = site.page("/broken.xml", "oops", kind="text/plain", status=500)
    good = site.feed("/feed.xml", ARTICLES[:1])
    subscriptions = Subscriptions(corpus)
    subscriptions.add(broken)
    subscriptions.add(good)
    outcomes = {p.url: p for p in poll(corpus, allow_private=True, now=1000.0)}
    assert outcomes[canonical(broken)].status == "failed" and "HTTP 500" in outcomes[canonical(broken)].error
    assert outcomes[canonical(good)].status == "new items"
    state = {f.url: f for f in subscriptions.list()}
    failed = state[canonical(broken)]
    assert (failed.failures, failed.last_status, failed.next_poll) == (1, "failed", 1000.0 + 2 * POLL_SECONDS)
    assert "HTTP 500" in failed.error
    assert state[canonical(good)].next_poll == 1000.0 + POLL_SECONDS

    [only_good] = poll(corpus, allow_private=True, now=1000.0 + POLL_SECONDS)  # the broken one waits longer
    assert only_good.url == canonical(good)
    poll(corpus, allow_private=True, now=5000.0, force=True)
    failed = subscriptions.get(broken)
    assert failed is not None and (failed.failures, failed.next_poll) == (2, 5000.0 + 4 * POLL_SECONDS)

    site.feed("/broken.xml", ARTICLES[1:2])  # it recovers
    poll(corpus, allow_private=True, now=9000.0, force=True)
    recovered = subscriptions.get(broken)
    assert recovered is not None
    assert (recovered.failures, recovered.error, recovered.last_status) == (0, None, "new items")
    assert recovered.next_poll == 9000.0 + POLL_SECONDS

    assert [backoff(n) for n in (0, 1, 6, 7, 50)] == [900, 1800, 57600, 57600, 57600]
    assert backoff(6, interval=3600) == 24 * 3600  # capped at a day


def test_an_entry_that_failed_is_tried_again_on_the_next_poll(site: FeedSite, corpus: Path) -> None:
    url = site.feed("/feed.xml", [*ARTICLES[:1], "/news/missing.html"])
    Subscriptions(corpus).add(url)
    [first] = poll(corpus, allow_private=True)
    assert [r.status for r in first.results] == ["added", "failed"]
    assert first.status == "new items" and "1 of 2 entries failed" in first.error and "HTTP 404" in first.error
    feed_state = Subscriptions(corpus).get(url)
    assert feed_state is not None and feed_state.etag is None and feed_state.failures == 0
    site.page("/news/missing.html", STORM)
    [second] = poll(corpus, allow_private=True, force=True)  # a full GET, not a 304: the entry comes in now
    assert [r.status for r in second.results] == ["known", "added"] and second.error is None
    assert site.hits["/news/bridge.html"] == 1


def test_an_article_a_user_removed_does_not_come_back(site: FeedSite, corpus: Path) -> None:
    url = site.feed("/feed.xml", ARTICLES[:2])
    bridge = site.base + "/news/bridge.html"
    ledger = {"urls": {}, "texts": {}, "removed": {canonical(bridge): "web/x/bridge.json"}}
    (corpus / LEDGER).write_text(json.dumps(ledger), encoding="utf-8")
    Subscriptions(corpus).add(url)
    [outcome] = poll(corpus, allow_private=True)
    assert [(r.item, r.status) for r in outcome.results] == [(bridge, "removed"), (site.base + ARTICLES[1], "added")]
    assert site.hits["/news/bridge.html"] == 0


def test_subscriptions_are_kept_on_disk_and_a_damaged_list_is_set_aside(
    corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    subscriptions = Subscriptions(corpus)
    first = subscriptions.add("HTTPS://Example.org/rss.xml#top")
    assert first.url == "https://example.org/rss.xml" and first.next_poll == 0
    assert subscriptions.add("https://example.org/rss.xml") == first  # twice: the same subscription
    subscriptions.add("http://example.com/atom")
    reloaded = Subscriptions(corpus).list()
    assert [f.url for f in reloaded] == ["https://example.org/rss.xml", "http://example.com/atom"]
    assert reloaded[0] == first
    assert Subscriptions(corpus).remove("https://example.org/rss.xml").url == first.url
    assert [f.url for f in Subscriptions(corpus).list()] == ["http://example.com/atom"]

    (corpus / FEEDS).write_text('{"feeds": [{"url": ', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.sources.feeds"):
        assert Subscriptions(corpus).list() == []
    assert "damaged" in caplog.text
    assert (corpus / (FEEDS + ".damaged")).read_text(encoding="utf-8") == '{"feeds": [{"url": '
    assert not (corpus / FEEDS).exists()
    Subscriptions(corpus).add("https://example.org/rss.xml")
    assert len(Subscriptions(corpus).list()) == 1


def test_bad_urls_and_unknown_feeds_are_clear_errors(corpus: Path) -> None:
    subscriptions = Subscriptions(corpus)
    with pytest.raises(SourceError, match="only http:// and https://"):
        subscriptions.add("ftp://example.org/rss")
    with pytest.raises(SourceError, match="names no host"):
        subscriptions.add("http:///rss")
    with pytest.raises(SourceError, match=r"https://example\.org/nope: not a subscribed feed"):
        subscriptions.remove("https://example.org/nope")
    assert not (corpus / FEEDS).exists()


def test_the_poller_thread_outlives_failures_and_stops_promptly(site: FeedSite, corpus: Path) -> None:
    url = site.feed("/feed.xml", ARTICLES[:1])
    Subscriptions(corpus).add(url)
    fetched: list[str] = []
    updates: list[float] = []
    arrived = threading.Event()

    def flaky(address: str, **kwargs: object) -> object:
        fetched.append(address)
        if len(fetched) == 1:
            raise RuntimeError("a bug met on the first answer")
        return fetch(address, **kwargs)

    def update_index() -> None:
        updates.append(time.time())
        if len(updates) == 1:
            raise RuntimeError("the index update failed")
        arrived.set()

    poller = FeedPoller(corpus, on_new=update_index, interval=0.2, allow_private=True, fetcher=flaky)
    poller.start()
    try:
        deadline = time.time() + 10
        while not updates and time.time() < deadline:
            time.sleep(0.05)
        assert updates, "the feed never came in after its failed poll"
        site.feed("/feed.xml", ARTICLES[:2])
        poller.wake()
        assert arrived.wait(10), "no round after the failed index update"
    finally:
        began = time.perf_counter()
        poller.stop()
    assert time.perf_counter() - began < 2 and not poller.running
    state = poller.state
    feed_state = state["feeds"][url]
    assert feed_state["total_added"] == 2 and feed_state["error"] is None and feed_state["failures"] == 0
    assert feed_state["last_poll"] and feed_state["status"] in {"new items", "not modified"}
    assert isinstance(state["last_duration"], float) and state["last_round"] and not state["running"]
    site.feed("/feed.xml", ARTICLES)
    [now] = poller.poll_now()  # in this thread, the poller stopped or not
    assert now.new_items == 1 and len(updates) == 3


def test_a_feed_that_meets_a_bug_fails_alone(site: FeedSite, corpus: Path) -> None:
    first, second = site.feed("/one.xml", ARTICLES[:1]), site.feed("/two.xml", ARTICLES[1:2])
    Subscriptions(corpus).add(first)
    Subscriptions(corpus).add(second)

    def buggy(address: str, **kwargs: object) -> object:
        if address == first:
            raise RuntimeError("boom")
        return fetch(address, **kwargs)

    outcomes = {p.url: p for p in poll(corpus, allow_private=True, fetcher=buggy, now=100.0)}
    assert outcomes[first].status == "failed" and outcomes[first].error == "RuntimeError: boom"
    assert outcomes[second].new_items == 1
    state = Subscriptions(corpus).get(first)
    assert state is not None and (state.failures, state.next_poll) == (1, 100.0 + 2 * POLL_SECONDS)


def test_the_feeds_and_watch_commands(site: FeedSite, corpus: Path) -> None:
    runner = CliRunner()
    url = site.feed("/feed.xml", ARTICLES[:2])
    where = ["--corpus", str(corpus)]
    added = runner.invoke(cli, ["feeds", "add", url, url, *where])
    assert added.exit_code == 0 and added.output == f"subscribed {url}\nalready subscribed {url}\n"
    listed = runner.invoke(cli, ["feeds", "list", *where])
    assert listed.exit_code == 0 and "never" in listed.output and url in listed.output

    polled = runner.invoke(cli, ["feeds", "poll", *where, "--allow-private", "--no-index"])
    assert polled.exit_code == 0, polled.output
    assert f"new items     {url} (2 new)" in polled.output
    assert f"added     {site.base}/news/bridge.html -> web/" in polled.output
    [row] = json.loads(runner.invoke(cli, ["feeds", "list", "--json", *where]).output)
    assert (row["url"], row["last_status"], row["new_items"], row["total_added"]) == (url, "new items", 2, 2)

    refused = runner.invoke(cli, ["feeds", "poll", *where, "--no-index"])  # loopback without --allow-private
    assert refused.exit_code == 1 and "private network" in refused.output

    other = site.feed("/other.xml", ARTICLES[2:])
    runner.invoke(cli, ["feeds", "add", other, *where])
    watched = runner.invoke(cli, ["watch", "--once", *where, "--allow-private", "--no-index"])
    assert watched.exit_code == 0, watched.output
    assert f"new items     {other} (1 new)" in watched.output
    assert url not in watched.output  # polled just now (and refused): not due yet

    removed = runner.invoke(cli, ["feeds", "remove", other, *where])
    assert removed.exit_code == 0 and removed.output == f"unsubscribed {other}\n"
    unknown = runner.invoke(cli, ["feeds", "remove", other, *where])
    assert unknown.exit_code == 1 and f"Error: {other}: not a subscribed feed" in unknown.output
    assert runner.invoke(cli, ["feeds", "add", "ftp://x/y", *where]).exit_code == 1
    assert runner.invoke(cli, ["feeds", "add", *where]).exit_code == 2
