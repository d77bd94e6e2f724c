"""The chat UI's handlers, driven with fake models: no browser, no network."""

from __future__ import annotations

import html
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from qa import ui
from qa.errors import AccessError, CorpusError
from qa.pipeline import QA
from qa.schema import Answer, Article, Candidate, Citation, Passage
from qa.serving import server
from tests.conftest import ALPHA

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who offered Russia cooperation?"
HOSTILE = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>']


def load_script(path: Path) -> Any:
    """Import a script of the project (app.py, scripts/...) as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def qa(seed_corpus: Path, tmp_path: Path, fake_reader: Any, fake_embedder: Any) -> QA:
    return QA(corpus=seed_corpus, index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder)


def cited(text: str, answer: str, title: str = "Macron offers help", url: str | None = "https://example.com/a",
          ) -> tuple[Article, Answer]:
    """An article holding ``text`` and an answer citing the sentence that holds ``answer``."""
    article = Article("a1", title, text, "a1.txt", url=url)
    start = text.index(answer)
    s = text.rfind(". ", 0, start)
    s = 0 if s < 0 else s + 2
    e = text.find(".", start + len(answer)) + 1
    citation = Citation("a1", title, 1, text[s:e], start, start + len(answer), s, e, "a1.txt", url, 0.9)
    return article, Answer(QUESTION, answer, 0.87, [citation])


def assistant(history: list[dict[str, Any]]) -> str:
    assert history[-1]["role"] == "assistant"
    return history[-1]["content"]


# -- rendering ------------------------------------------------------------------------------


def test_answer_shows_text_score_title_and_marked_sentence() -> None:
    text = "Moscow was attacked on Friday. Emmanuel Macron offered Russia cooperation. Putin did not reply."
    article, answer = cited(text, "Emmanuel Macron")
    out = ui.render_answer(answer, {"a1": article})
    assert "<strong>Emmanuel Macron</strong>" in out
    assert "score 0.87" in out
    link = '<a href="https://example.com/a" target="_blank" rel="noopener noreferrer">Macron offers help</a>'
    assert link in out
    assert '<div class="qa-sentence"><mark>Emmanuel Macron</mark> offered Russia cooperation.</div>' in out


def test_citation_context_shows_neighbouring_sentences_with_the_answer_marked() -> None:
    text = "Moscow was attacked on Friday.\nEmmanuel Macron offered Russia cooperation. Putin did not reply."
    article, answer = cited(text.replace("\n", " "), "Emmanuel Macron")
    article = Article("a1", article.title, text, "a1.txt")
    out = ui.render_answer(answer, {"a1": article})
    context = out[out.index("<details"):out.index("</details>")]
    assert "<summary>Show article context</summary>" in context
    assert "Moscow was attacked on Friday.<br>" in context
    assert '<span class="qa-cited"><mark>Emmanuel Macron</mark> offered Russia cooperation.</span>' in context
    assert "Putin did not reply." in context


def test_citation_without_its_article_still_marks_the_answer_but_has_no_context() -> None:
    _, answer = cited("Intro here. Emmanuel Macron offered Russia cooperation.", "Emmanuel Macron", url=None)
    out = ui.render_answer(answer, {})
    assert "<mark>Emmanuel Macron</mark>" in out
    assert "<strong>Macron offers help</strong>" in out  # no url: the title is not a link
    assert "<details" not in out


def test_abstention_says_not_found_and_names_the_closest_candidate() -> None:
    answer = Answer("Who won the World Cup?", None, 0.04, alternatives=[Candidate("Gabriel Attal", 0.04)])
    out = ui.render_answer(answer, {})
    assert ui.NOT_FOUND in out
    assert "Gabriel Attal" in out and "0.04" in out
    assert "<mark>" not in out


def test_other_candidates_are_only_those_of_the_kind_asked_for() -> None:
    _, answer = cited("Intro here. Macron spoke on Monday.", "Monday")
    answer = Answer("Which day did Macron speak?", answer.text, answer.score, answer.citations,
                    alternatives=[Candidate("Moscow", 0.7, signals={"type_mismatch": 1.0}),
                                  Candidate("Friday", 0.3, signals={"type_mismatch": 0.0})])
    out = ui.render_answer(answer, {})
    assert "Other candidates: Friday (0.30)" in out and "Moscow" not in out


def test_long_candidates_are_clipped() -> None:
    answer = Answer("Who?", None, 0.01, alternatives=[Candidate("word " * 40, 0.01)])
    assert "word word" in ui.render_answer(answer) and "…" in ui.render_answer(answer)
    assert ("word " * 40).strip() not in ui.render_answer(answer)


def test_a_yes_or_no_question_says_why_and_shows_the_closest_passage_escaped() -> None:
    passage = Passage("a1", "Kyiv <b>denies</b>", 0, 0, 0, "Kyiv <script>x</script> has denied any role.")
    answer = Answer("Did Kyiv deny it?", None, 0.0, passages=[passage])
    out = ui.render_answer(answer, {})
    assert ui.NOT_FOUND in out and "yes or a no" in out and "Closest candidate" not in out
    assert "Kyiv &lt;b&gt;denies&lt;/b&gt;" in out and "&lt;script&gt;x&lt;/script&gt; has denied" in out
    assert "<script>" not in out and "<b>" not in out


def test_a_yes_or_no_question_answered_says_the_span_is_no_yes_or_no() -> None:
    _, answer = cited("Intro here. Macron will not hold direct talks with Vladimir Putin.", "Vladimir Putin")
    polar = Answer("Is Macron talking to him directly?", answer.text, answer.score, answer.citations,
                   query="Is Macron talking to Vladimir Putin directly?")
    out = ui.render_answer(polar, {})
    assert "not a yes or a no" in out and "<mark>Vladimir Putin</mark>" in out
    assert "not a yes or a no" not in ui.render_answer(answer, {})


def test_abstention_without_candidates() -> None:
    out = ui.render_answer(Answer("Who won the World Cup?", None, 0.0), {})
    assert ui.NOT_FOUND in out and "Closest" not in out


@pytest.mark.parametrize("hostile", HOSTILE)
def test_corpus_text_is_escaped_everywhere(hostile: str) -> None:
    text = f"Intro {hostile} here. {hostile} Mallory Evans offered Russia cooperation. After {hostile}."
    article, answer = cited(text, f"{hostile} Mallory", title=f"Title {hostile}",
                            url=f'https://example.com/?q="><{hostile[1:]}')
    answer = Answer(QUESTION, answer.text, answer.score, answer.citations,
                    alternatives=[Candidate(f"Eve {hostile}", 0.1)])
    out = ui.render_answer(answer, {"a1": article})
    tag = hostile[: hostile.index(" ") if " " in hostile else hostile.index(">")]  # "<script" / "<img"
    assert tag not in out
    assert html.escape(hostile) in out
    assert out.count(html.escape(hostile)) >= 5  # title, answer, sentence, context, candidate
    assert 'href="https://example.com/?q=&quot;&gt;&lt;' in out


def test_only_web_links_are_linked() -> None:
    article, answer = cited("Intro. Emmanuel Macron offered Russia cooperation.", "Emmanuel Macron",
                            url="javascript:alert(1)")
    out = ui.render_answer(answer, {"a1": article})
    assert "href" not in out and "javascript:" not in out


def test_escape_keeps_line_breaks() -> None:
    assert ui.escape("a < b\nc & d") == "a &lt; b<br>c &amp; d"


# -- handlers -------------------------------------------------------------------------------


def test_a_lone_question_appends_question_and_cited_answer(qa: QA) -> None:
    history = ui.converse(QUESTION, [], None, qa)
    assert history[0] == {"role": "user", "content": QUESTION}
    reply = assistant(history)
    answer = qa.answer(QUESTION)
    assert answer.text is not None
    assert f"<mark>{html.escape(answer.text)}</mark>" in reply
    assert html.escape(answer.citations[0].title) in reply
    assert "Show article context" in reply
    assert f"score {answer.score:.2f}" in reply


def test_a_lone_question_keeps_earlier_turns(qa: QA) -> None:
    history = ui.converse(QUESTION, [], None, qa)
    history = ui.converse("Who is the French Interior Minister?", history, None, qa)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]


def test_a_lone_question_escapes_the_question(qa: QA) -> None:
    history = ui.converse(f"{HOSTILE[0]} {QUESTION}", [], None, qa)
    assert "<script" not in history[0]["content"]
    assert html.escape(HOSTILE[0]) in history[0]["content"]


def test_hostile_corpus_reaches_the_chat_escaped(
    tmp_path: Path, fake_reader: Any, fake_embedder: Any,
) -> None:
    corpus = tmp_path / "hostile"
    corpus.mkdir()
    record = {"title": f"Evil {HOSTILE[1]}", "url": "https://example.com/<b>",
              "text": f"{HOSTILE[0]} Mallory Evans offered Russia cooperation on Monday.\n"
                      f"{HOSTILE[1]} Nobody else offered anything."}
    (corpus / "evil.json").write_text(json.dumps(record), encoding="utf-8")
    qa = QA(corpus=corpus, index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder)
    reply = assistant(ui.converse(QUESTION, [], None, qa))
    assert "<mark>Mallory Evans</mark>" in reply
    assert "<script" not in reply and "<img" not in reply and "<b>" not in reply
    assert html.escape(HOSTILE[0]) in reply and html.escape(HOSTILE[1]) in reply


def test_empty_question_is_a_message_not_a_crash(qa: QA) -> None:
    history = ui.converse("   ", [], None, qa)
    assert len(history) == 1  # no empty user bubble
    assert 'class="qa-error"' in assistant(history)
    assert "question is empty" in assistant(history)


def test_empty_corpus_is_a_message(tmp_path: Path, fake_reader: Any, fake_embedder: Any) -> None:
    (tmp_path / "empty").mkdir()
    qa = QA(corpus=tmp_path / "empty", index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder)
    with pytest.raises(CorpusError) as raised:
        qa.answer(QUESTION)
    reply = assistant(ui.converse(QUESTION, [], None, qa))
    assert 'class="qa-error"' in reply
    assert html.escape(str(raised.value)[1:]) in reply
    assert ui.corpus_status(qa).startswith(f"corpus {(tmp_path / 'empty').as_posix()}/: ")


def test_unexpected_failure_is_a_message(qa: QA, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(question: str, min_score: float | None = None) -> Answer:
        raise RuntimeError("boom <b>")

    monkeypatch.setattr(qa, "answer", broken)
    reply = assistant(ui.converse(QUESTION, [], None, qa))
    assert "server log" in reply and "boom" not in reply


def test_corpus_status_counts_articles_sentences_and_skipped_files(qa: QA) -> None:
    (qa.settings.corpus / "broken.txt").write_bytes(b"\xff\xfe\x00 not utf-8 \x00")
    index = qa.index()
    status = ui.corpus_status(qa)
    corpus = qa.settings.corpus.as_posix()
    assert status.startswith(f"1 article · {len(index.sentences)} sentences · corpus {corpus}/")
    assert "1 file skipped: broken.txt (" in status


# -- the app --------------------------------------------------------------------------------


def test_build_app_returns_blocks_with_a_safe_chatbot(qa: QA) -> None:
    app = ui.build_app(qa)
    assert isinstance(app, gr.Blocks)
    chatbots = [b for b in app.blocks.values() if isinstance(b, gr.Chatbot)]
    assert len(chatbots) == 1
    assert chatbots[0].sanitize_html and not chatbots[0].render_markdown and not chatbots[0].latex_delimiters


def test_serve_builds_the_qa_from_settings_and_binds_localhost(
    seed_corpus: Path, tmp_path: Path, fake_reader: Any, fake_embedder: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    launched: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: launched.update(host=self.config.host,
                                                                          port=self.config.port,
                                                                          app=self.config.app))
    server.serve(corpus=seed_corpus, index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder)
    assert launched["host"] == "127.0.0.1" and launched["port"] == 7860
    paths = {getattr(r, "path", None) for r in launched["app"].routes}
    assert {"/api/answer", "/api/chat", "/api/articles", "/docs"} <= paths  # the API beside the page
    assert (tmp_path / "index").exists()  # indexed before the first visitor

    with pytest.raises(AccessError, match="refusing to serve on 0.0.0.0 without a token"):
        server.serve(corpus=seed_corpus, index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder,
                     host="0.0.0.0", port=8123)
    server.serve(corpus=seed_corpus, index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder,
                 host="0.0.0.0", port=8123, token="alice=a-long-enough-secret")
    assert launched["host"] == "0.0.0.0" and launched["port"] == 8123
    server.serve(corpus=seed_corpus, index=tmp_path / "index", reader=fake_reader, embedder=fake_embedder,
                 host="0.0.0.0", port=8124, read_only=True)
    assert launched["port"] == 8124


def test_serve_refuses_a_qa_and_settings(qa: QA) -> None:
    with pytest.raises(TypeError, match="corpus"):
        server.serve(qa, corpus="elsewhere")


def test_app_py_passes_its_options_to_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_script(ROOT / "app.py")
    calls: list[dict[str, Any]] = []
    import qa.serving

    monkeypatch.setattr(qa.serving, "serve", lambda **kw: calls.append(kw))
    assert app.main(["--port", "8123", "--corpus", "news", "--index", "news-index", "--backend", "bf16",
                     "--allow-private", "--token", "alice=a-long-enough-secret", "--read-only"]) == 0
    assert calls == [{"host": None, "port": 8123, "corpus": Path("news"), "index": Path("news-index"),
                      "reader": None, "embedder": None, "backend": "bf16", "allow_private": True,
                      "token": ["alice=a-long-enough-secret"], "read_only": True}]
    assert app.main(["--port", "not-a-port"]) == 2  # click's usage error

    def fail(**kw: Any) -> None:
        raise CorpusError("corpus folder news does not exist")

    monkeypatch.setattr(qa.serving, "serve", fail)
    assert app.main([]) == 1


def test_import_qa_does_not_import_gradio() -> None:
    code = "import sys, qa; assert 'gradio' not in sys.modules, 'gradio imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_browser_checks_hostile_corpus_still_answers(tmp_path: Path) -> None:
    """scripts/check_ui.py --hostile serves scripted models; they must keep up with the pipeline."""
    check_ui = load_script(ROOT / "scripts" / "check_ui.py")
    answer = check_ui.hostile_qa(tmp_path).answer(QUESTION)
    assert answer.text == check_ui.NAME
    assert check_ui.PAYLOADS[1] in answer.citations[0].sentence  # the payloads reach the page as text


# -- conversations ------------------------------------------------------------------------------

@pytest.fixture
def two_articles_qa(two_articles: Path, tmp_path: Path, fake_reader: Any, fake_embedder: Any) -> QA:
    return QA(corpus=two_articles, index=tmp_path / "two-index", reader=fake_reader, embedder=fake_embedder,
              min_score=0.0)


def test_converse_keeps_a_separate_history_per_session(two_articles_qa: QA) -> None:
    a, b = two_articles_qa.chat(), two_articles_qa.chat()
    chat_a = ui.converse("Who built the north bridge?", [], a, two_articles_qa)
    chat_b = ui.converse("Who built the south tower?", [], b, two_articles_qa)
    chat_a = ui.converse("What did he build in Lund?", chat_a, a, two_articles_qa)
    chat_b = ui.converse("What did she build in Vigo?", chat_b, b, two_articles_qa)
    assert "Interpreted as: What did Karl Olsen build in Lund?" in assistant(chat_a)
    assert "Interpreted as: What did Maria Lopez build in Vigo?" in assistant(chat_b)
    assert [q for q, _ in a.turns] == ["Who built the north bridge?", "What did he build in Lund?"]
    assert len(chat_a) == len(chat_b) == 4
    # a first question is not "interpreted"
    assert "Interpreted as" not in chat_a[1]["content"]


def test_converse_after_a_bad_question_keeps_the_turns(two_articles_qa: QA) -> None:
    conversation = two_articles_qa.chat()
    chat = ui.converse("Who built the north bridge?", [], conversation, two_articles_qa)
    turns = conversation.history
    chat = ui.converse("   ", chat, conversation, two_articles_qa)
    assert conversation.history == turns and "qa-error" in assistant(chat)


def test_replay_shows_a_conversations_turns_again(two_articles_qa: QA) -> None:
    conversation = two_articles_qa.chat()
    chat = ui.converse("Who built the north bridge?", [], conversation, two_articles_qa)
    chat = ui.converse("What did he build in Lund?", chat, conversation, two_articles_qa)
    assert ui.replay(conversation, two_articles_qa) == chat


def test_converse_keeps_at_most_history_turns(tmp_path: Path, fake_reader: Any, fake_embedder: Any) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "alpha.txt").write_text(ALPHA, encoding="utf-8")
    small = QA(corpus=corpus, index=tmp_path / "i", reader=fake_reader, embedder=fake_embedder, history_turns=2)
    chat, conversation = [], small.chat()
    for q in ("Who built the bridge?", "What did it cost?", "When did it open?"):
        chat = ui.converse(q, chat, conversation, small)
    assert [q for q, _ in conversation.turns] == ["What did it cost?", "When did it open?"]


def test_interpreted_as_is_escaped() -> None:
    article, answer = cited("Macron offered help.", "Macron")
    from dataclasses import replace

    shown = ui.render_answer(replace(answer, query=f"Who {HOSTILE[0]}?"), {"a1": article})
    assert "<script" not in shown and f"Interpreted as: Who {html.escape(HOSTILE[0])}?" in shown
    withheld = ui.render_answer(Answer("What did he say?", None, 0.1, query="What did Macron say?"))
    assert "Interpreted as: What did Macron say?" in withheld


def test_app_has_a_new_conversation_button_and_per_session_state(qa: QA) -> None:
    app = ui.build_app(qa)
    buttons = [b for b in app.blocks.values() if isinstance(b, gr.Button)]
    assert "New conversation" in [b.value for b in buttons]
    assert any(isinstance(b, gr.State) for b in app.blocks.values())


def test_two_clients_of_a_running_server_are_two_conversations(two_articles_qa: QA) -> None:
    """The real Gradio server on 127.0.0.1; each gradio_client is its own browser session."""
    from gradio_client import Client

    app = server.serve(two_articles_qa, port=_free_port(), block=False)
    try:
        url = app.url
        a, b = Client(url, verbose=False), Client(url, verbose=False)
        a.predict("Who built the north bridge?", api_name="/ask")
        b.predict("Who built the south tower?", api_name="/ask")
        reply_a = a.predict("What did he build in Lund?", api_name="/ask")
        reply_b = b.predict("What did she build in Vigo?", api_name="/ask")
        text_a, text_b = json.dumps(reply_a), json.dumps(reply_b)
        assert "Interpreted as: What did Karl Olsen build in Lund?" in text_a and "Maria Lopez" not in text_a
        assert "Interpreted as: What did Maria Lopez build in Vigo?" in text_b
        a.predict(api_name="/new_conversation")
        again = json.dumps(a.predict("What did he build in Lund?", api_name="/ask"))
        assert "Interpreted as" not in again
    finally:
        app.close()


def test_an_open_chat_page_does_not_keep_the_server_from_stopping(two_articles_qa: QA) -> None:
    """A page holds a heartbeat stream that never ends; stopping (SIGTERM, Ctrl-C, ``close``) gives it
    ``SHUTDOWN_SECONDS``, where uvicorn alone would wait for it forever."""
    import time
    import urllib.request

    app = server.serve(two_articles_qa, port=_free_port(), block=False)
    stream = urllib.request.urlopen(app.url + "/gradio_api/heartbeat/tab-1", timeout=30)
    try:
        assert stream.readline().startswith(b"data:")  # the page's stream is open
        began = time.monotonic()
        app.close()
        assert not app.thread.is_alive() and time.monotonic() - began < server.SHUTDOWN_SECONDS + 4
    finally:
        stream.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_clearing_the_chat_forgets_the_conversation(two_articles_qa: QA, tmp_path: Path) -> None:
    from qa.conversation_store import ConversationStore

    store = ConversationStore(two_articles_qa, tmp_path / "conversations")
    app = ui.build_app(two_articles_qa, conversations=store)
    chat = next(b for b in app.blocks.values() if isinstance(b, gr.Chatbot))
    state = next(b for b in app.blocks.values() if isinstance(b, gr.State) and b.value == "")
    on_clear = [fn for fn in app.fns.values() if (chat._id, "clear") in fn.targets]
    assert len(on_clear) == 1 and on_clear[0].outputs[1]._id == state._id
    store.ask("tab-1", "Who built the north bridge?")
    messages, new, mirrored = on_clear[0].fn("tab-1")
    assert messages == [] and new == mirrored and new != "tab-1"
    assert not store.forget("tab-1")  # already forgotten, on disk too
    assert len(store.get("tab-1")) == 0


def test_the_page_adds_uploads_and_urls_then_lists_and_opens_articles(qa: QA, tmp_path: Path) -> None:
    from tests.test_sources import BRIDGE, Site

    site = Site()
    try:
        page = site.page("/news/bridge.html", BRIDGE)
        upload = tmp_path / "<b>harbour<i>.txt"
        upload.write_text("Harbour notes\nThe ferry Nordlys left Bergen at noon.", encoding="utf-8")
        junk = tmp_path / "junk.txt"
        junk.write_bytes(b"\x00\x01" * 50)
        from qa.editing import CorpusEditor

        indexer = qa.indexes
        editor = CorpusEditor(qa.settings.corpus, indexer, allow_private=True)
        added = ui.add_sources([str(upload), str(junk)], f"{page}\nftp://nowhere/x", editor, "tester")
        assert added.count(">added<") == 2 and "binary file" in added and "only http://" in added
        assert "<b>harbour" not in added and "&lt;b&gt;harbour&lt;i&gt;.txt" in added  # names are text
        indexer.wait(30)
        assert indexer.state["error"] is None and "3 articles" in ui.index_status(qa, indexer)
        rows = {r[4]: r for r in ui.article_rows(qa)}
        bridge = next(r for r in rows.values() if r[0] == "Lyon opens its new bridge")
        assert bridge[1:3] == ["2024-03-26", "Daily Rhône"]
        answer = qa.answer("Who is the mayor of Lyon, Grégory Doucet?")
        cited = [c for c in answer.citations if c.article_id == bridge[4]]
        view = ui.render_article(qa, bridge[4], [answer])
        assert "Pont Schuman" in view and view.count("<mark>") == len({c.sentence_index for c in cited}) >= 1
        assert "no longer in the corpus" in ui.render_article(qa, "gone.txt", [])
    finally:
        site.server.shutdown()


def test_citations_show_date_source_page_and_the_resolved_day() -> None:
    c = Citation("wire.json#lyon", "Lyon bridge", 0, "The mayor opened it on Monday.", 25, 31, 0, 30,
                 source="wire.json", date="2024-03-26", site="Daily <Rhône>", page=3, when="Monday (25 March 2024)")
    out = ui.render_citation(c)
    assert "Daily &lt;Rhône&gt; · 2024-03-26 · page 3 · wire.json" in out
    assert "When: Monday (25 March 2024)" in out
