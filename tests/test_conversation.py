"""Conversations: QA.chat(), Conversation.ask/turns/reset, answer(history=), with fake models."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import qa
from qa import QA, Conversation
from qa.errors import QuestionError
from tests.conftest import FakeEmbedder, FakeReader


def make_qa(corpus: Path, tmp_path: Path, **kw: object) -> QA:
    return QA(corpus=corpus, index=tmp_path / "index", reader=FakeReader(), embedder=FakeEmbedder(), min_score=0.0,
              **kw)


def test_chat_surface(two_articles: Path, tmp_path: Path) -> None:
    c = make_qa(two_articles, tmp_path).chat()
    assert isinstance(c, Conversation) and c.turns == [] and len(c) == 0
    first = c.ask("Who built the north bridge?")
    assert first.text == "Karl Olsen" and first.query == first.question
    follow = c.ask("What did he build in Lund?")
    assert follow.question == "What did he build in Lund?"
    assert follow.query == "What did Karl Olsen build in Lund?"
    assert follow.to_dict()["query"] == follow.query
    assert [q for q, _ in c.turns] == ["Who built the north bridge?", "What did he build in Lund?"]
    assert c.turns[1][1] is follow and c.history == [first, follow]
    c.reset()
    assert c.turns == [] and c.ask("What did he build in Lund?").query == "What did he build in Lund?"


def test_follow_up_stays_in_the_conversations_article(two_articles: Path, tmp_path: Path) -> None:
    pipeline = make_qa(two_articles, tmp_path)
    alone = pipeline.answer("When did it open?")
    assert alone.passages[0].article_id == "beta.txt"  # "open" thrice in beta: the likelier article alone
    first = pipeline.answer("Who built the north bridge?")
    follow = pipeline.answer("When did it open?", history=[first])
    assert follow.passages[0].article_id == "alpha.txt"
    # "it" is the bridge the last question named: the completed question alone finds alpha
    completed = pipeline.answer("When did it open?", history=[first], follow_up="complete")
    assert completed.query == "When did the north bridge open?"
    assert completed.passages[0].article_id == "alpha.txt"
    # each part can be switched off: with none, the follow-up reads like a first question
    bare = pipeline.answer("When did it open?", history=[first], follow_up="none")
    assert bare.passages[0].article_id == "beta.txt"


def test_stateless_history_equals_the_conversation(two_articles: Path, tmp_path: Path) -> None:
    pipeline = make_qa(two_articles, tmp_path)
    c = pipeline.chat()
    first = c.ask("Who built the north bridge?")
    assert pipeline.answer("What did he build in Lund?", history=[first]).query == \
        c.ask("What did he build in Lund?").query


def test_history_is_bounded(two_articles: Path, tmp_path: Path) -> None:
    c = make_qa(two_articles, tmp_path).chat(max_turns=2)
    for q in ("Who built the north bridge?", "Who built the south tower?", "What did he build in Lund?"):
        c.ask(q)
    assert [q for q, _ in c.turns] == ["Who built the south tower?", "What did he build in Lund?"]
    with pytest.raises(ValueError, match="max_turns"):
        make_qa(two_articles, tmp_path).chat(max_turns=0)
    assert make_qa(two_articles, tmp_path, history_turns=3).chat().max_turns == 3


@pytest.mark.parametrize("bad", ["", "   ", "x" * 1001])
def test_bad_follow_up_is_a_clear_error_and_keeps_the_conversation(
    two_articles: Path, tmp_path: Path, bad: str
) -> None:
    c = make_qa(two_articles, tmp_path).chat()
    c.ask("Who built the north bridge?")
    with pytest.raises(QuestionError, match="empty|limit"):
        c.ask(bad)
    assert len(c.turns) == 1
    assert c.ask("What did he build in Lund?").query == "What did Karl Olsen build in Lund?"


def test_history_from_a_removed_article_is_dropped(two_articles: Path, tmp_path: Path) -> None:
    pipeline = make_qa(two_articles, tmp_path)
    first = pipeline.answer("Who built the north bridge?")
    assert first.citations[0].article_id == "alpha.txt"
    (two_articles / "alpha.txt").unlink()
    pipeline.index()  # seen on the next check of the folder (Settings.rescan_seconds) or at once like this
    follow = pipeline.answer("What did he build in Lund?", history=[first])
    assert follow.query == "What did he build in Lund?"  # nothing left to complete it from
    assert all(p.article_id == "beta.txt" for p in follow.passages)


def test_many_conversations_share_one_qa_from_many_threads(two_articles: Path, tmp_path: Path) -> None:
    pipeline = make_qa(two_articles, tmp_path)
    pipeline.index()
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def talk(n: int) -> None:
        try:
            c = pipeline.chat()
            first = "Who built the north bridge?" if n % 2 else "Who built the south tower?"
            c.ask(first)
            results[n] = [c.ask("What did he build?" if n % 2 else "What did she build?").query, len(c.turns)]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n, (query, turns) in results.items():
        assert turns == 2
        assert query == ("What did Karl Olsen build?" if n % 2 else "What did Maria Lopez build?")


def test_module_level_chat_uses_the_default_qa(monkeypatch: pytest.MonkeyPatch, two_articles: Path,
                                               tmp_path: Path) -> None:
    monkeypatch.setattr(qa, "_default", make_qa(two_articles, tmp_path))
    c = qa.chat()
    c.ask("Who built the north bridge?")
    assert c.ask("What did he build in Lund?").query == "What did Karl Olsen build in Lund?"
    assert qa.answer("What did he build in Lund?", history=c.history[:1]).query == \
        "What did Karl Olsen build in Lund?"
    json.dumps(c.turns[0][1].to_dict())


class ThresholdReader(FakeReader):
    min_score = min_score_retrieved = 0.2
    min_score_follow_up = 0.9


def test_follow_ups_get_the_readers_follow_up_threshold(two_articles: Path, tmp_path: Path) -> None:
    pipeline = QA(corpus=two_articles, index=tmp_path / "index", reader=ThresholdReader(), embedder=FakeEmbedder())
    first = pipeline.answer("Who built the north bridge?")
    assert first.text == "Karl Olsen"
    alone = pipeline.answer("Who built the north bridge in Lund yesterday?")
    follow = pipeline.answer("Who built the north bridge in Lund yesterday?", history=[first])
    assert alone.text == "Karl Olsen" and alone.score == pytest.approx(0.8)  # 4 of 5 words: above 0.2
    assert follow.text is None and follow.alternatives[0].text == "Karl Olsen"  # ... and below 0.9
    assert pipeline.threshold(retrieved=True, follow_up=True) == 0.9
    assert pipeline.threshold(retrieved=True) == 0.2
    assert pipeline.threshold(0.5, retrieved=True, follow_up=True) == 0.5
    strict = QA(corpus=two_articles, index=tmp_path / "index", reader=ThresholdReader(), embedder=FakeEmbedder(),
                min_score_follow_up=0.3)
    assert strict.threshold(retrieved=True, follow_up=True) == 0.3 and strict.threshold(retrieved=True) == 0.2


@pytest.mark.parametrize("history", [["Who built the north bridge?"], "Who built it?", [{"text": "Karl Olsen"}]])
def test_history_that_is_not_answers_is_a_clear_error(two_articles: Path, tmp_path: Path, history: object) -> None:
    with pytest.raises(QuestionError, match="history must be a list of earlier answers"):
        make_qa(two_articles, tmp_path).answer("What did he build?", history=history)  # type: ignore[arg-type]


# -- the conversation model: ids, to_dict/from_dict, the store on disk ---------------------------


def test_a_conversation_round_trips_through_json(two_articles: Path, tmp_path: Path) -> None:
    pipeline = make_qa(two_articles, tmp_path)
    c = pipeline.chat(id="tab-7")
    c.ask("Who built the north bridge?")
    c.ask("What did he build in Lund?")
    saved = json.loads(json.dumps(c.to_dict()))
    back = Conversation.from_dict(saved, pipeline)
    assert back.id == "tab-7" and back.history == c.history and back.created == c.created
    # the follow-up after a reload reads the same as in the original conversation
    assert back.ask("When did it open?").query == c.ask("When did it open?").query
    assert len(pipeline.chat().id) == 32 and pipeline.chat().id != pipeline.chat().id


@pytest.mark.parametrize("bad", [None, {}, {"format": 1}, {"format": 1, "turns": [{"question": 3}]},
                                 {"format": 1, "turns": [], "id": "../etc"}, {"format": 99, "turns": []}])
def test_a_damaged_saved_conversation_is_a_clear_error(two_articles: Path, tmp_path: Path, bad: object) -> None:
    from qa.errors import QAError

    with pytest.raises(QAError, match="conversation"):
        Conversation.from_dict(bad, make_qa(two_articles, tmp_path))


def test_conversation_ids_are_checked(two_articles: Path, tmp_path: Path) -> None:
    from qa.errors import QAError

    for bad in ("", "../x", "a b", "x" * 201, "-lead"):
        with pytest.raises(QAError, match="conversation id"):
            make_qa(two_articles, tmp_path).chat(id=bad)


def test_the_store_keeps_conversations_across_a_restart(two_articles: Path, tmp_path: Path) -> None:
    from qa.conversation_store import ConversationStore

    folder = tmp_path / "conversations"
    store = ConversationStore(make_qa(two_articles, tmp_path), folder)
    store.ask("user:1", "Who built the north bridge?")
    assert len(store) == 1 and len(list(folder.glob("*.json"))) == 1
    again = ConversationStore(make_qa(two_articles, tmp_path), folder)  # a new process, the same folder
    answer, conversation = again.ask("user:1", "What did he build in Lund?")
    assert answer.query == "What did Karl Olsen build in Lund?" and len(conversation) == 2
    assert again.forget("user:1") and not list(folder.glob("*.json")) and not again.forget("user:1")


def test_the_store_expires_and_bounds_conversations(two_articles: Path, tmp_path: Path) -> None:
    import os
    import time

    from qa.conversation_store import ConversationStore

    folder = tmp_path / "conversations"
    pipeline = make_qa(two_articles, tmp_path)
    store = ConversationStore(pipeline, folder, limit=2, days=1)
    for n, id in enumerate(("a", "b", "c")):
        store.ask(id, "Who built the north bridge?")
        os.utime(store._path(id), (time.time() - 100 + n, time.time() - 100 + n))
    assert store.prune() == 1 and not store._path("a").exists()  # the least recently used beyond the limit
    old = time.time() - 2 * 86400
    os.utime(store._path("b"), (old, old))
    fresh = ConversationStore(pipeline, folder, limit=2, days=1)  # sweeps at start
    assert not store._path("b").exists() and len(fresh.get("c")) == 1 and len(fresh.get("b")) == 0


def test_a_damaged_conversation_file_starts_afresh_and_is_kept(two_articles: Path, tmp_path: Path) -> None:
    from qa.conversation_store import ConversationStore

    folder = tmp_path / "conversations"
    store = ConversationStore(make_qa(two_articles, tmp_path), folder)
    store.ask("x1", "Who built the north bridge?")
    store._path("x1").write_text("{not json", encoding="utf-8")
    fresh = ConversationStore(make_qa(two_articles, tmp_path), folder)
    assert len(fresh.get("x1")) == 0 and store._path("x1").with_suffix(".damaged").exists()


def test_a_store_in_memory_only(two_articles: Path, tmp_path: Path) -> None:
    from qa.conversation_store import ConversationStore

    pipeline = make_qa(two_articles, tmp_path, conversations="none", max_conversations=2)
    store = ConversationStore.for_qa(pipeline)
    assert store.folder is None
    for id in ("a", "b", "c"):
        store.ask(id, "Who built the north bridge?")
    assert len(store) == 2 and len(store.get("a")) == 0 and not (tmp_path / "index" / "conversations").exists()
    assert ConversationStore.for_qa(make_qa(two_articles, tmp_path)).folder == tmp_path / "index" / "conversations"


def test_turns_of_one_conversation_are_taken_one_at_a_time(two_articles: Path, tmp_path: Path) -> None:
    from qa.conversation_store import ConversationStore

    store = ConversationStore(make_qa(two_articles, tmp_path), tmp_path / "c")
    questions = ["Who built the north bridge?", "What did he build in Lund?"] * 4
    threads = [threading.Thread(target=store.ask, args=("same", q)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get("same")) == 8
    saved = json.loads(store._path("same").read_text(encoding="utf-8"))
    assert len(saved["turns"]) == 8
