"""Serving a team (qa.serving, qa.editing, qa.sources.trash/audit): tokens, read-only, remove and restore,
the bound on model calls (429 / 503 with Retry-After), metrics and request logs, updated articles."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.api import build_api
from qa.editing import CorpusEditor
from qa.errors import AccessError
from qa.pipeline import QA
from qa.serving.access import Tokens, for_host, is_loopback
from qa.serving.gate import Busy, Gate, TimedOut
from qa.sources import audit
from qa.sources.trash import TRASH, trashed
from tests.conftest import ALPHA, BETA, FakeEmbedder, FakeReader

ALICE = "alice=alice-secret-0123"
BOB = "bob=bob-secret-456789"


@pytest.fixture
def team(news_qa: QA) -> Iterator[TestClient]:
    """The API of a server with two writers' tokens."""
    with TestClient(build_api(news_qa, tokens=Tokens.parse([ALICE, BOB]))) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.split('=', 1)[1]}"}


# -- who may write ------------------------------------------------------------------------------


def test_tokens_are_named_and_checked() -> None:
    tokens = Tokens.parse(f"{ALICE}, {BOB}")
    assert tokens.names == ["alice", "bob"]
    assert tokens.name_of("Bearer bob-secret-456789") == "bob" and tokens.name_of("alice-secret-0123") == "alice"
    assert tokens.name_of("Bearer alice-secret-012") is None and tokens.name_of(None) is None
    assert Tokens.parse("a-bare-secret-token").names == ["editor"]
    with pytest.raises(AccessError, match="too short"):
        Tokens.parse("carol=short")
    with pytest.raises(AccessError, match="two tokens are named 'alice'"):
        Tokens.parse([ALICE, "alice=another-secret-99"])
    with pytest.raises(AccessError, match="valid token"):
        tokens.writer("Bearer nope-nope-nope")
    with pytest.raises(AccessError, match="read-only"):
        Tokens.parse(ALICE, read_only=True).writer("Bearer alice-secret-0123")


def test_a_public_bind_needs_a_token_or_read_only() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    with pytest.raises(AccessError, match="refusing to serve on 0.0.0.0 without a token"):
        for_host("0.0.0.0", None)
    assert for_host("0.0.0.0", ALICE).writes_need_token
    assert for_host("0.0.0.0", None, read_only=True).read_only
    local = for_host("127.0.0.1", "")
    assert local.writer(None) == "local" and not local.writes_need_token  # one person's server, as before
    assert for_host("127.0.0.1", ALICE).writes_need_token  # a token set: every write needs one


def test_writes_need_a_valid_token_and_reads_do_not(team: TestClient, news_qa: QA) -> None:
    corpus = news_qa.settings.corpus
    for headers in ({}, {"Authorization": "Bearer wrong-wrong-wrong"}, {"Authorization": "Basic x"}):
        r = team.post("/api/articles", json={"url": "http://127.0.0.1:9/x"}, headers=headers)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer" and "token" in r.json()["error"]
        assert team.delete("/api/articles/alpha.txt", headers=headers).status_code == 401
        assert team.post("/api/restore", json={"ids": ["alpha.txt"]}, headers=headers).status_code == 401
        assert team.post("/api/index", headers=headers).status_code == 401
    assert (corpus / "alpha.txt").exists() and not audit.read(corpus)  # nothing happened, nothing logged
    assert team.post("/api/answer", json={"question": "Who built the north bridge?"}).json()["text"] == "Karl Olsen"
    assert team.get("/api/articles").json()["total"] == 2
    assert team.get("/api/status").json()["writes"] == "token"
    r = team.post("/api/index", headers=bearer(BOB))
    assert r.status_code == 202
    assert audit.read(corpus)[-1] | {"time": ""} == {"time": "", "who": "bob", "action": "reindex", "via": "api",
                                                    "items": []}


def test_a_read_only_server_refuses_every_write(news_qa: QA) -> None:
    with TestClient(build_api(news_qa, tokens=Tokens.parse(ALICE, read_only=True))) as c:
        r = c.delete("/api/articles/alpha.txt", headers=bearer(ALICE))
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        assert c.get("/api/status").json()["writes"] == "read-only"
        assert c.post("/api/answer", json={"question": "Who built the south tower?"}).json()["text"] == "Maria Lopez"


# -- remove, restore ----------------------------------------------------------------------------


def test_a_removed_article_is_not_cited_at_once_and_comes_back_on_restore(team: TestClient, news_qa: QA) -> None:
    corpus = news_qa.settings.corpus
    question = {"question": "Who built the north bridge?"}
    assert team.post("/api/answer", json=question).json()["citations"][0]["article_id"] == "alpha.txt"
    r = team.delete("/api/articles/alpha.txt", headers=bearer(ALICE))
    assert r.status_code == 200 and r.json()["results"][0] | {"title": None} == {
        "item": "alpha.txt", "status": "removed", "file": "alpha.txt", "articles": ["alpha.txt"], "title": None,
        "error": None}
    # at once: before the background update has written the tombstone
    body = team.post("/api/answer", json=question).json()
    assert all(c["article_id"] != "alpha.txt" for c in body["citations"])
    assert "alpha.txt" not in {a["id"] for a in team.get("/api/articles").json()["articles"]}
    assert not (corpus / "alpha.txt").exists()
    kept = list((corpus / TRASH).rglob("alpha.txt"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == ALPHA  # nothing lost
    team.app.state.indexer.wait(30)
    assert "alpha.txt" not in news_qa.current_index().articles  # and after the update, on disk too
    listed = team.get("/api/trash").json()["removed"]
    assert [(e["file"], e["who"]) for e in listed] == [("alpha.txt", "alice")]
    assert team.delete("/api/articles/alpha.txt", headers=bearer(ALICE)).status_code == 404  # gone already

    r = team.post("/api/restore", json={"ids": ["alpha.txt"]}, headers=bearer(BOB))
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "restored"
    team.app.state.indexer.wait(30)
    assert team.post("/api/answer", json=question).json()["citations"][0]["article_id"] == "alpha.txt"
    assert (corpus / "alpha.txt").read_text(encoding="utf-8") == ALPHA
    assert team.get("/api/trash").json()["removed"] == []
    assert [(line["who"], line["action"], line["items"]) for line in audit.read(corpus)] == [
        ("alice", "remove", ["alpha.txt"]), ("alice", "remove", ["alpha.txt"]), ("bob", "restore", ["alpha.txt"])]
    assert audit.read(corpus)[1]["results"][0].startswith("failed")


def test_restore_straight_after_remove_cites_the_article_again(news_qa: QA) -> None:
    """Removed and restored before any update ran: the index on disk never changed, and the article
    withdrawn in memory must come back all the same."""
    news_qa.index()
    editor = CorpusEditor(news_qa.settings.corpus, news_qa.indexes, background=False)
    editor.remove("alice", ["beta.txt"])
    assert "beta.txt" not in news_qa.current_index().articles
    editor.restore("alice", ["beta.txt"])
    assert news_qa.answer("Who built the south tower?").citations[0].article_id == "beta.txt"


def test_remove_takes_files_and_explains_what_it_cannot(news_qa: QA) -> None:
    corpus = news_qa.settings.corpus
    (corpus / "wire.jsonl").write_text(json.dumps({"id": "1", "title": "One", "text": "First story here."}) + "\n" +
                                       json.dumps({"id": "2", "title": "Two", "text": "Second story here."}) + "\n",
                                       encoding="utf-8")
    editor = CorpusEditor(corpus, None)
    results = editor.remove("alice", ["wire.jsonl#1", "nowhere.txt", "../outside.txt", ".qa-audit.jsonl"])
    assert [r.status for r in results] == ["failed"] * 4
    assert "one of 2 articles in wire.jsonl: remove the file (wire.jsonl)" in (results[0].error or "")
    assert "no article or file 'nowhere.txt'" in (results[1].error or "")
    whole = editor.remove("alice", ["wire.jsonl"])[0]
    assert whole.status == "removed" and whole.articles == ["wire.jsonl#1", "wire.jsonl#2"]
    (corpus / "wire.jsonl").write_text(json.dumps({"title": "New", "text": "A new wire."}) + "\n", encoding="utf-8")
    clash = editor.restore("alice", ["wire.jsonl#2"])[0]
    assert clash.status == "failed" and "in the corpus again" in (clash.error or "")
    assert [e["file"] for e in trashed(corpus)] == ["wire.jsonl"]  # still kept
    assert editor.restore("alice", ["never-removed.txt"])[0].error.startswith("'never-removed.txt' is not in the trash")


def test_a_removed_feed_entry_stays_removed_and_a_changed_page_says_updated(news_qa: QA, tmp_path: Path) -> None:
    from tests.test_sources import BRIDGE, Site

    corpus = news_qa.settings.corpus
    site = Site()
    try:
        page = site.page("/news/bridge.html", BRIDGE)
        rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Daily</title><item><title>Bridge</title>'
               f"<link>{page}</link></item></channel></rss>")
        feed = site.page("/feed.xml", rss, kind="application/rss+xml")
        editor = CorpusEditor(corpus, news_qa.indexes, allow_private=True, background=False)
        added = editor.add("alice", feeds=[feed])
        assert [r.status for r in added] == ["added"]
        article_id = added[0].file
        assert editor.remove("alice", [f"{article_id}#0"])[0].status == "removed"  # by its article id
        again = editor.add("alice", feeds=[feed])
        assert [r.status for r in again] == ["removed"] and not (corpus / article_id).exists()
        # a user adding the URL by hand means it: it comes back
        assert editor.add("alice", urls=[page])[0].status == "added"
        site.page("/news/bridge.html", BRIDGE.replace("40 million euros", "42 million euros"))
        updated = editor.add("bob", urls=[page])[0]
        assert updated.status == "updated"
        record = json.loads((corpus / article_id).read_text(encoding="utf-8"))
        assert record["updated"] == time.strftime("%Y-%m-%d")
        answer = news_qa.answer("Who opened the new Pont Schuman bridge?")
        cited = [c for c in answer.citations if c.source == article_id]
        assert cited and cited[0].updated == record["updated"]
        from qa.ui import render_citation

        assert f"updated {record['updated']}" in render_citation(cited[0])
    finally:
        site.server.shutdown()


# -- overload -----------------------------------------------------------------------------------


def test_the_gate_serves_in_order_and_turns_away_past_its_line() -> None:
    gate = Gate(limit=1, waiting=1, seconds=5)
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with gate.slot():
            holding.set()
            release.wait(5)
            order.append("first")

    def second() -> None:
        with gate.slot():
            order.append("second")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    holding.wait(5)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    deadline = time.monotonic() + 5
    while gate.queued < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(Busy) as busy, gate.slot():
        pass
    assert busy.value.retry_after >= 1 and gate.turned_away == 1
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["first", "second"] and gate.running == 0 and gate.queued == 0


def test_an_async_call_past_its_time_limit_is_timed_out_and_frees_its_slot_when_done() -> None:
    gate = Gate(limit=1, waiting=4, seconds=0.3)

    async def scenario() -> tuple[Any, Any, Any]:
        slow = asyncio.ensure_future(gate.run(time.sleep, 0.6))
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(gate.run(lambda: "late"))
        results = await asyncio.gather(slow, waiting, return_exceptions=True)
        await asyncio.sleep(0.5)  # the slow call finishes in its thread
        return (*results, await gate.run(lambda: "after"))

    slow, waiting, after = asyncio.run(scenario())
    assert isinstance(slow, TimedOut) and isinstance(waiting, TimedOut)
    assert after == "after" and gate.running == 0 and gate.timed_out == 2


class SlowReader(FakeReader):
    def read_many(self, items: list[Any]) -> list[Any]:
        time.sleep(0.4)
        return super().read_many(items)


def test_past_capacity_the_api_answers_429_with_retry_after(news_qa: QA) -> None:
    news_qa.index()
    news_qa.reader = SlowReader()
    with TestClient(build_api(news_qa, gate=Gate(limit=1, waiting=1, seconds=10))) as c:
        statuses: list[tuple[int, str | None]] = []

        def ask() -> None:
            r = c.post("/api/answer", json={"question": "Who built the north bridge?"})
            statuses.append((r.status_code, r.headers.get("Retry-After")))

        threads = [threading.Thread(target=ask) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(s for s, _ in statuses)
        assert len(codes) == 6 and codes.count(200) >= 2 and set(codes) <= {200, 429}
        assert 429 in codes and all(int(ra) >= 1 for s, ra in statuses if s == 429)
        metrics = c.get("/metrics").text
        assert 'qa_busy_total{reason="busy"}' in metrics


# -- metrics and logs ---------------------------------------------------------------------------


def test_metrics_and_one_log_line_per_request(team: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="qa.requests"):
        team.post("/api/answer", json={"question": "Who built the north bridge?"})
        team.post("/api/answer", json={"question": "Who won the 1930 world cup?"})
        team.delete("/api/articles/nowhere.txt", headers=bearer(ALICE))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "qa.requests"]
    assert [(x["route"], x["status"]) for x in lines] == [("/api/answer", 200), ("/api/answer", 200),
                                                         ("/api/articles/{article_id:path}", 404)]
    assert lines[-1]["who"] == "alice" and "who" not in lines[0] and lines[0]["ms"] > 0
    text = team.get("/metrics").text
    assert 'qa_requests_total{method="POST",route="/api/answer",status="200"} 2.0' in text
    assert 'qa_answers_total{outcome="answered"} 1.0' in text and 'qa_answers_total{outcome="abstained"} 1.0' in text
    for stage in ("interpret", "retrieve", "read"):
        assert f'qa_stage_seconds_count{{stage="{stage}"}} 2.0' in text
    assert "qa_index_articles 2.0" in text and "qa_index_sentences 6.0" in text
    assert "qa_model_calls_limit" in text and "qa_index_generation" in text


# -- feeds, the CLI and the page ----------------------------------------------------------------


def test_feed_subscriptions_through_the_api_need_a_token(team: TestClient, news_qa: QA) -> None:
    url = "http://127.0.0.1:9/feed.xml"
    assert team.post("/api/feeds", json={"url": url}).status_code == 401
    r = team.post("/api/feeds", json={"url": url}, headers=bearer(ALICE))
    assert r.status_code == 201 and r.json()["feed"]["url"] == url
    assert [f["url"] for f in team.get("/api/feeds").json()["feeds"]] == [url]
    assert team.delete("/api/feeds", params={"url": url}).status_code == 401
    assert team.delete("/api/feeds", params={"url": url}, headers=bearer(BOB)).status_code == 200
    missing = team.delete("/api/feeds", params={"url": url}, headers=bearer(BOB))
    assert missing.status_code == 400 and url in missing.json()["error"]
    assert [(x["who"], x["action"]) for x in audit.read(news_qa.settings.corpus)] == [
        ("alice", "subscribe"), ("bob", "unsubscribe")]


def test_qa_remove_and_restore_on_the_command_line(news_qa: QA) -> None:
    from click.testing import CliRunner

    from qa.cli import cli

    corpus = str(news_qa.settings.corpus)
    runner = CliRunner()
    r = runner.invoke(cli, ["remove", "alpha.txt", "ghost.txt", "--corpus", corpus, "--no-index"])
    assert r.exit_code == 1 and "removed   alpha.txt" in r.output and "failed    ghost.txt" in r.output
    listing = runner.invoke(cli, ["restore", "--list", "--corpus", corpus])
    assert listing.exit_code == 0 and listing.output.startswith("alpha.txt  removed ")
    r = runner.invoke(cli, ["restore", "alpha.txt", "--corpus", corpus, "--no-index"])
    assert r.exit_code == 0 and "restored  alpha.txt" in r.output
    assert runner.invoke(cli, ["restore", "--corpus", corpus]).output == "The trash is empty.\n"
    lines = audit.read(corpus)
    assert [x["action"] for x in lines] == ["remove", "restore"] and lines[0]["who"].startswith("cli")


def test_the_page_lets_only_a_signed_in_writer_remove_and_restore(news_qa: QA) -> None:
    from qa import ui

    news_qa.index()
    page = ui.build_app(news_qa, tokens=Tokens.parse(ALICE))
    fns = {fn.fn.__name__: fn.fn for fn in page.fns.values() if fn.fn is not None}
    who, message, _, cleared = fns["sign_in"]("not-the-token-at-all")
    assert who is None and "valid token" in message and cleared == ""
    refused = fns["remove"]("alpha.txt", None)[0]
    assert "Sign in with a token" in refused and (news_qa.settings.corpus / "alpha.txt").exists()
    who, message, _, _ = fns["sign_in"]("alice-secret-0123")
    assert who == "alice" and "Signed in as alice" in message
    done, _, rows, _, trash = fns["remove"]("alpha.txt", who)
    assert ">removed<" in done and "alpha.txt" not in {r[4] for r in rows}
    assert [v for _, v in trash["choices"]] == ["alpha.txt"]
    back = fns["bring_back"]("alpha.txt", who)[0]
    assert ">restored<" in back
    assert [(x["who"], x["action"], x["via"]) for x in audit.read(news_qa.settings.corpus)] == [
        ("alice", "remove", "page"), ("alice", "restore", "page")]
    read_only = ui.build_app(news_qa, tokens=Tokens.parse(None, read_only=True))
    assert any(getattr(b, "elem_id", None) == "qa-read-only" for b in read_only.blocks.values())


def test_the_page_says_busy_retrying_and_answers_once_a_slot_is_free(news_qa: QA) -> None:
    from qa import ui

    news_qa.index()
    gate = Gate(limit=1, waiting=0, seconds=10)
    page = ui.build_app(news_qa, gate=gate)
    send = next(fn.fn for fn in page.fns.values() if fn.fn is not None and fn.fn.__name__ == "send")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.slot():
            held.set()
            release.wait(10)

    threading.Thread(target=hold).start()
    held.wait(5)
    updates = send("Who built the north bridge?", [], "", "", "", "")
    history, _, _, box, status = next(updates)
    assert status == "Busy, retrying…" and box == "Who built the north bridge?" and history == []
    release.set()
    *_, (history, cid, _, box, status) = list(updates)
    assert "Karl Olsen" in history[-1]["content"] and box == "" and "Busy" not in status
    gate_full = Gate(limit=1, waiting=0, seconds=0.5)
    busy_page = ui.build_app(news_qa, gate=gate_full)
    busy_send = next(fn.fn for fn in busy_page.fns.values() if fn.fn is not None and fn.fn.__name__ == "send")
    with gate_full.slot():
        *_, (history, *_rest) = list(busy_send("Who built the north bridge?", [], "", "", "", ""))
    assert "The server is busy answering other questions: try again in" in history[-1]["content"]


def test_looking_at_unknown_conversations_keeps_nothing(news_qa: QA) -> None:
    from dataclasses import replace

    news_qa.settings = replace(news_qa.settings, conversations="none")  # kept in memory only: countable
    with TestClient(build_api(news_qa)) as c:
        store = c.app.state.conversations
        for n in range(5):
            assert c.get(f"/api/chat/never-asked-{n}").json()["turns"] == []
        assert len(store) == 0
        c.post("/api/chat", json={"question": "Who built the north bridge?", "conversation": "asked"})
        assert len(store) == 1 and len(c.get("/api/chat/asked").json()["turns"]) == 1


def test_removing_the_same_file_twice_keeps_both_versions_in_the_trash(news_qa: QA) -> None:
    """A restore shortens the trash list; the next removals must not reuse a folder still holding a file."""
    corpus = news_qa.settings.corpus
    editor = CorpusEditor(corpus, None)
    editor.remove("alice", ["alpha.txt"])
    editor.remove("alice", ["beta.txt"])
    editor.restore("alice", ["alpha.txt"])
    (corpus / "beta.txt").write_text("Beta, second version.", encoding="utf-8")
    assert editor.remove("alice", ["beta.txt"])[0].status == "removed"
    kept = sorted(p.read_text(encoding="utf-8") for p in (corpus / TRASH).rglob("beta.txt"))
    assert kept == sorted([BETA, "Beta, second version."])
    assert editor.restore("alice", ["beta.txt"])[0].status == "restored"
    assert (corpus / "beta.txt").read_text(encoding="utf-8") == "Beta, second version."
    assert editor.restore("alice", ["beta.txt"])[0].status == "failed"  # the corpus holds one again
    assert [e["file"] for e in trashed(corpus)] == ["beta.txt"]


def test_the_update_metric_counts_updates_not_rescans(news_qa: QA) -> None:
    with TestClient(build_api(news_qa)) as c:
        for _ in range(3):
            c.get("/api/status")  # each re-checks the corpus (rescan_seconds=0) and finds nothing new
        (news_qa.settings.corpus / "gamma.txt").write_text("Ines Duarte built the west pier.", encoding="utf-8")
        c.get("/api/status")
        assert "qa_index_update_seconds_count 2.0" in c.get("/metrics").text  # the first load, and gamma


def test_qa_remove_of_the_last_article_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import qa.cli
    from qa.cli import cli

    corpus = tmp_path / "one"
    corpus.mkdir()
    (corpus / "alpha.txt").write_text(ALPHA, encoding="utf-8")
    monkeypatch.setattr(qa.cli, "make_qa", lambda c, i, e, r: QA(corpus=c, index=i, reader=FakeReader(),
                                                                  embedder=FakeEmbedder()))
    index = str(tmp_path / "index")
    qa.cli.make_qa(corpus, index, None, None).index()
    r = CliRunner().invoke(cli, ["remove", "alpha.txt", "--corpus", str(corpus), "--index", index])
    assert r.exit_code == 0, r.output
    assert "removed   alpha.txt" in r.output and "no articles left" in r.output
    r = CliRunner().invoke(cli, ["restore", "alpha.txt", "--corpus", str(corpus), "--index", index])
    assert r.exit_code == 0 and "1 articles, 3 sentences indexed" in r.output
