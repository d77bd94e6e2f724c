"""The JSON API (qa.api) with fake models: answers, conversations, articles, uploads, bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.api import build_api
from qa.pipeline import QA
from tests.conftest import ALPHA, BETA, FakeEmbedder
from tests.test_filters import ARTICLES, WeekdayReader
from tests.test_sources import BRIDGE, Site


@pytest.fixture
def news_files() -> dict[str, str]:
    """The shared news corpus (``tests.conftest``) plus a wire dump of dated articles, for filters."""
    return {"wire.json": json.dumps(ARTICLES), "alpha.txt": ALPHA, "beta.txt": BETA}


@pytest.fixture
def client(news_qa: QA) -> Iterator[TestClient]:
    with TestClient(build_api(news_qa, allow_private=True)) as c:
        yield c


def test_answer_is_the_json_of_qa_ask(client: TestClient, news_qa: QA) -> None:
    r = client.post("/api/answer", json={"question": "Who built the north bridge?"})
    assert r.status_code == 200
    body = r.json()
    assert body == json.loads(json.dumps(news_qa.answer("Who built the north bridge?").to_dict()
                                         | {"seconds": body["seconds"], "yes_or_no": False}))
    assert body["text"] == "Karl Olsen" and body["citations"][0]["article_id"] == "alpha.txt"
    asked = client.post("/api/answer", json={"question": "Did Karl Olsen build the north bridge?"}).json()
    assert asked["yes_or_no"] is True  # its words bear on the question; they are no yes or no


def test_filters_and_dates_in_the_api(client: TestClient, news_qa: QA) -> None:
    news_qa.reader = WeekdayReader()
    body = client.post("/api/answer", json={"question": "When did the mayor of Lyon open the new bridge?",
                                            "since": "2024-03-01", "source": "rhône"}).json()
    c = body["citations"][0]
    assert (body["text"], c["date"], c["site"], c["when"]) == ("Monday", "2024-03-26", "Daily Rhône",
                                                               "Monday (25 March 2024)")
    empty = client.post("/api/answer", json={"question": "When did the mayor open the bridge?", "until": "2020-01-01"})
    assert empty.status_code == 200 and empty.json()["text"] is None


@pytest.mark.parametrize("body, status, message", [
    ({"question": ""}, 422, "empty"),
    ({"question": "x" * 5000}, 422, "characters long"),
    ({"question": 42}, 422, "must be a string"),
    ({"question": "Who?", "since": "soon"}, 422, "not a date"),
    ({"question": "Who?", "since": "2024-03-02", "until": "2024-03-01"}, 422, "after until"),
    ({}, 422, "question: Field required"),
])
def test_bad_questions_get_the_python_api_message(client: TestClient, body: dict, status: int,
                                                  message: str | None) -> None:
    r = client.post("/api/answer", json=body)
    assert r.status_code == status
    if message:
        assert message in r.json()["error"]
    unparsed = client.post("/api/answer", content=b"{not json", headers={"content-type": "application/json"})
    assert unparsed.status_code == 422 and "JSON" in unparsed.json()["error"] and unparsed.json()["detail"]


def test_chat_follows_each_conversation_by_its_id(client: TestClient) -> None:
    def ask(conversation: str, question: str) -> dict:
        r = client.post("/api/chat", json={"question": question, "conversation": conversation})
        assert r.status_code == 200, r.text
        return r.json()

    ask("a", "Who built the north bridge?")
    ask("b", "Who built the south tower?")
    a, b = ask("a", "What did he build in Lund?"), ask("b", "What did she build in Vigo?")
    assert a["query"] == "What did Karl Olsen build in Lund?" and a["turn"] == 2 and a["conversation"] == "a"
    assert a["yes_or_no"] is False
    assert b["query"] == "What did Maria Lopez build in Vigo?"
    assert client.delete("/api/chat/a").json()["forgotten"] is True
    assert ask("a", "What did he build in Lund?")["query"] == "What did he build in Lund?"
    assert client.post("/api/chat", json={"question": "Who?", "conversation": ""}).status_code == 422
    nameless = client.post("/api/chat", json={"question": "Who?"})
    assert nameless.status_code == 422 and nameless.json()["error"] == "conversation: Field required"


def test_articles_are_listed_and_open_with_their_sentences(client: TestClient) -> None:
    listing = client.get("/api/articles").json()
    assert listing["total"] == 5
    lyon = next(a for a in listing["articles"] if a["id"] == "wire.json#lyon")
    assert (lyon["title"], lyon["date"], lyon["site"], lyon["sentences"]) == ("Lyon bridge", "2024-03-26",
                                                                              "Daily Rhône", 2)
    assert client.get("/api/articles", params={"limit": 2, "offset": 4}).json()["articles"][0]["id"]
    one = client.get("/api/articles/wire.json#lyon".replace("#", "%23")).json()
    s, e = one["sentence_spans"][1]
    assert one["text"][s:e] == "The bridge cost 40 million euros."
    assert client.get("/api/articles/nope.txt").status_code == 404
    assert client.get("/api/articles", params={"limit": 0}).status_code == 422


def test_articles_are_added_by_url_and_upload_and_indexed_in_the_background(client: TestClient,
                                                                            news_qa: QA) -> None:
    site = Site()
    try:
        url = site.page("/news/bridge.html", BRIDGE)
        r = client.post("/api/articles", json={"url": url})
        assert r.status_code == 202 and r.json()["results"][0]["status"] == "added"
        up = client.post("/api/articles", files={"file": ("../../notes.txt", b"Port notes\nThe ferry Nordlys "
                                                                             b"sailed at noon.", "text/plain")})
        assert up.status_code == 202 and up.json()["results"][0]["file"] == "uploads/notes.txt"
        client.app.state.indexer.wait(30)
        status = client.get("/api/status").json()
        assert status["updating"] is False and status["error"] is None and status["articles"] == 7
        assert client.post("/api/answer", json={"question": "Who opened the Pont Schuman?"}).json()["citations"]
        bad = client.post("/api/articles", json={"url": "ftp://example.org/x"})
        assert bad.status_code == 400 and "only http://" in bad.json()["error"]
        assert client.post("/api/articles", json={"url": url, "feed": url}).status_code == 400
        assert client.post("/api/articles", json={"nothing": 1}).status_code == 400
        junk = client.post("/api/articles", files={"file": ("x.exe", b"MZ", "application/octet-stream")})
        assert junk.status_code == 400 and "only" in junk.json()["error"]
    finally:
        site.server.shutdown()


def test_questions_are_answered_from_the_previous_index_while_it_updates(news_qa: QA) -> None:
    news_qa.index()

    class Slow(FakeEmbedder):
        def encode(self, texts: list[str], progress: bool = False):  # type: ignore[no-untyped-def]
            if len(texts) > 1:
                time.sleep(1.5)  # the update's embedding; questions embed one text
            return super().encode(texts, progress)

    news_qa.embedder = Slow()
    news_qa.indexes.loaded = None
    news_qa.index()
    with TestClient(build_api(news_qa)) as c:
        (news_qa.settings.corpus / "gamma.txt").write_text("Sven Berg built the east dam in Umea.\nIt is tall.")
        c.app.state.indexer.request()
        time.sleep(0.2)
        began = time.perf_counter()
        r = c.post("/api/answer", json={"question": "Who built the north bridge?"})
        assert r.status_code == 200 and r.json()["text"] == "Karl Olsen"
        assert time.perf_counter() - began < 1.0  # not held up by the update
        assert c.get("/api/status").json()["updating"] is True
        c.app.state.indexer.wait(30)
        assert c.post("/api/answer", json={"question": "Who built the east dam?"}).json()["text"] == "Sven Berg"


def test_the_openapi_page_describes_the_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/answer", "/api/chat", "/api/articles", "/api/status"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_a_conversation_survives_a_restart_of_the_server(news_qa: QA, tmp_path: Path) -> None:
    """`qa serve` stopped and started again between two turns of an /api/chat conversation (a real server)."""
    import urllib.request

    from qa.pipeline import QA
    from qa.serving.server import serve
    from tests.test_ui import _free_port

    def post(url: str, body: dict) -> dict:
        request = urllib.request.Request(url + "/api/chat", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    served = serve(news_qa, port=_free_port(), block=False)
    try:
        first = post(served.url, {"question": "Who built the north bridge?", "conversation": "desk-1"})
    finally:
        served.close()
    assert first["text"] == "Karl Olsen"
    # a new process would build a new QA over the same corpus and index
    again = QA(corpus=news_qa.settings.corpus, index=news_qa.settings.index, reader=news_qa.reader,
               embedder=news_qa.embedder, min_score=0.0)
    served = serve(again, port=_free_port(), block=False)
    try:
        follow = post(served.url, {"question": "What did he build in Lund?", "conversation": "desk-1"})
        with urllib.request.urlopen(served.url + "/api/chat/desk-1", timeout=30) as r:
            saved = json.loads(r.read())
    finally:
        served.close()
    assert follow["query"] == "What did Karl Olsen build in Lund?" and follow["turn"] == 2
    assert [t["question"] for t in saved["turns"]] == ["Who built the north bridge?", "What did he build in Lund?"]
    assert list((news_qa.settings.index / "conversations").glob("*.json"))
