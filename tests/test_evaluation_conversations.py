"""Conversation files: loading (JSONL and CoQA/QuAC-style), scoring turns with and without history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.evaluation import (
    evaluate_conversations,
    format_conversation_report,
    inside,
    is_conversation_file,
    load_conversations,
    same_article,
)
from qa.pipeline import QA
from tests.conftest import ALPHA, BETA, FakeEmbedder, FakeReader


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def coqa_file(path: Path) -> Path:
    """Two stories in the CoQA/QuAC span format: yes/no turns, a CANNOTANSWER turn."""
    def qa(qid: str, question: str, answer: str, context: str, yesno: str = "x") -> dict:
        start = context.find(answer)
        return {"id": qid, "question": question, "yesno": yesno, "followup": "y",
                "answers": [{"text": answer, "answer_start": start}]}

    alpha, beta = ALPHA + " CANNOTANSWER", BETA + " CANNOTANSWER"
    data = {"data": [
        {"title": "Bridge", "paragraphs": [{"id": "s1", "context": alpha, "qas": [
            qa("s1_q#0", "Who built the north bridge?", "Karl Olsen built the north bridge", alpha),
            qa("s1_q#1", "Did he build it in Lund?", "in Lund", alpha, yesno="y"),
            qa("s1_q#2", "What did he build in Lund?", "Karl Olsen built the north bridge in Lund", alpha),
            qa("s1_q#3", "Who paid for it?", "CANNOTANSWER", alpha),
        ]}]},
        {"title": "Tower", "paragraphs": [{"id": "s2", "context": beta, "qas": [
            qa("s2_q#0", "Who built the south tower?", "Maria Lopez", beta),
            qa("s2_q#1", "What did she build in Vigo?", "Maria Lopez built the south tower", beta),
        ]}]},
    ]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def corpus(two_articles: Path) -> Path:
    return two_articles


def fake_qa(corpus: Path | None, index: Path) -> QA:
    return QA(corpus=corpus, index=index, reader=FakeReader(), embedder=FakeEmbedder(), min_score=0.0)


def test_jsonl_conversations_are_scored_first_turn_and_follow_ups_apart(corpus: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "conv.jsonl", [
        {"id": "bridge", "article": "alpha.txt", "turns": [
            {"question": "Who built the north bridge?", "answers": ["Karl Olsen"]},
            {"question": "What did it cost?", "answers": ["Karl Olsen"]},  # the fake reader's answer, in alpha
        ]},
        {"id": "tower", "article": "beta.txt", "turns": [
            {"question": "Who built the south tower?", "answers": ["Maria Lopez"]},
            {"question": "What did she build in Vigo?", "answers": ["Maria Lopez"]},
        ]},
    ])
    assert is_conversation_file(path)
    report = evaluate_conversations(path, qa=fake_qa(corpus, tmp_path / "index"), progress=False)
    assert list(report.runs) == ["none", "complete,context,focus"]
    first, follow = report.runs["complete,context,focus"]["first"], report.runs["complete,context,focus"]["follow-up"]
    assert (first.turns, follow.turns) == (2, 2)
    assert first.f1 == 1.0 and first.right_in_article == 1.0
    assert follow.right == 1.0 and follow.in_article == 1.0
    rows = {(r.conversation, r.turn): r for r in report.rows["complete,context,focus"]}
    assert rows[("tower", 1)].query == "What did Maria Lopez build in Vigo?"
    assert all(r.query == r.question for r in report.rows["none"])
    text = format_conversation_report(report)
    assert "no history" in text and "history" in text and "follow-up turns" in text


def test_no_history_runs_alone_and_ablations_get_a_column_each(corpus: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "conv.jsonl", [{"id": "c", "turns": [
        {"question": "Who built the north bridge?", "answers": ["Karl Olsen"]},
        {"question": "When did it open?", "answers": ["spring"]}]}])
    pipeline = fake_qa(corpus, tmp_path / "index")
    assert list(evaluate_conversations(path, qa=pipeline, history=False, progress=False).runs) == ["none"]
    runs = evaluate_conversations(path, qa=pipeline, follow_ups=["complete", "focus", "all"], progress=False).runs
    assert list(runs) == ["none", "complete", "focus", "complete,context,focus"]
    assert runs["none"]["follow-up"].in_article is None  # the file names no article


def test_coqa_style_file_is_answered_from_its_own_stories(tmp_path: Path) -> None:
    path = coqa_file(tmp_path / "coqa.json")
    assert is_conversation_file(path)
    conversations = load_conversations(path)
    assert [c.id for c in conversations] == ["s1", "s2"] and conversations[0].scored == [True, False, True, True]
    assert conversations[0].turns[3].answers == [] and not conversations[0].context.endswith("CANNOTANSWER")
    report = evaluate_conversations(path, qa=None, reader=FakeReader(), embedder=FakeEmbedder(), progress=False)
    assert report.spans and report.conversations == 2 and report.turns == 6
    history = report.runs["complete,context,focus"]
    assert history["first"].turns == 2 and history["follow-up"].turns == 3  # the yes/no turn is not scored
    assert history["first"].right == 1.0  # "Karl Olsen" lies inside "Karl Olsen built the north bridge"
    assert history["follow-up"].abstention_recall is not None
    assert all(same_article(r.cited_article, r.conversation) for r in report.rows["none"] if r.turn == 0)


def test_write_report(corpus: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "conv.jsonl", [{"id": "c", "turns": [{"question": "Who built it?", "answers": []}]}])
    out = tmp_path / "out" / "report.json"
    evaluate_conversations(path, qa=fake_qa(corpus, tmp_path / "index"), progress=False, out=out)
    saved = json.loads(out.read_text())
    assert saved["rows"]["none"][0]["question"] == "Who built it?"


def test_inside_and_same_article() -> None:
    assert inside("Moscow", ["the attack on a Moscow concert hall"])
    assert inside("the Moscow", ["an attack in Moscow."])
    assert not inside("Mos", ["Moscow"]) and not inside("", ["Moscow"]) and not inside("the", ["the hall"])
    assert same_article("stories.json#s1", "s1") and same_article("000_x.txt", "000_x.txt")
    assert not same_article("stories.json#s10", "s1")


@pytest.mark.parametrize(("content", "message"), [
    ('{"id": "c", "turns": []}\n', "non-empty \"turns\""),
    ('{"id": "c", "turns": [{"question": ""}]}\n', "non-empty \"question\""),
    ('{"id": "c", "turns": [{"question": "Who?", "answers": "x"}]}\n', "must be a list"),
    ('{"id": "c", "turns": [{"question": "Who?"}]}\n{"id": "c", "turns": [{"question": "Why?"}]}\n', "share an id"),
    ('{"id": "c", "turns": [{"question": "Who?"}]}\nnot json\n', "line 2: invalid JSON"),
])
def test_bad_conversation_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QAError, match=message):
        load_conversations(path)


def test_question_files_are_not_conversation_files(tmp_path: Path) -> None:
    questions = write_jsonl(tmp_path / "q.jsonl", [{"question": "Who?", "answers": []}])
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [
        {"context": "c", "qas": [{"id": "1", "question": "Who?", "answers": []}]}]}]}))
    assert not is_conversation_file(questions) and not is_conversation_file(squad)
    assert not is_conversation_file(tmp_path / "missing.json")


def test_cli_evaluates_a_conversation_file(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import qa.cli
    import qa.evaluation.runs

    monkeypatch.setattr(qa.evaluation.runs, "QA",
                        lambda corpus=None, index=None, reader=None, embedder=None: fake_qa(corpus, tmp_path / "i"))
    path = write_jsonl(tmp_path / "conv.jsonl", [{"id": "c", "article": "alpha.txt", "turns": [
        {"question": "Who built the north bridge?", "answers": ["Karl Olsen"]},
        {"question": "When did it open?", "answers": ["spring"]}]}])
    result = CliRunner().invoke(qa.cli.cli, ["eval", str(path), "--corpus", str(corpus), "--follow-up", "focus"])
    assert result.exit_code == 0, result.output
    assert "follow-up turns" in result.output and "focus" in result.output and "no history" in result.output
    misuse = CliRunner().invoke(qa.cli.cli, ["eval", str(path), "--mode", "reader"])
    assert misuse.exit_code == 2 and "end to end" in misuse.output


def test_a_plain_squad_shaped_file_is_read_as_conversations_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                       ) -> None:
    from click.testing import CliRunner

    import qa.cli
    import qa.evaluation.runs

    monkeypatch.setattr(qa.evaluation.runs, "QA", lambda corpus=None, index=None, reader=None, embedder=None:
                        fake_qa(corpus, tmp_path / "i"))
    data = json.loads(coqa_file(tmp_path / "coqa.json").read_text())
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for n, turn in enumerate(paragraph["qas"]):
                turn.pop("yesno"), turn.pop("followup")
                turn["id"] = f"t{n}"
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(data))
    assert not is_conversation_file(plain)
    assert len(load_conversations(plain)) == 2
    result = CliRunner().invoke(qa.cli.cli, ["eval", str(plain), "--conversations"])
    assert result.exit_code == 0, result.output
    assert "2 conversations" in result.output and "follow-up turns" in result.output
