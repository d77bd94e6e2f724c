from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.squad import read_squad, squad_paragraphs, squad_questions

DATA = [
    {"title": "Paris", "paragraphs": [
        {"context": "The Eiffel Tower was finished in 1889.",
         "qas": [{"id": "q1", "question": "When was the Eiffel Tower finished?",
                  "answers": [{"text": "1889", "answer_start": 33}]}]},
        {"context": "No questions here.", "qas": []},
    ]},
    {"paragraphs": [{"context": "Cows give milk.", "qas": [
        {"id": "q2", "question": "What do cows give?", "answers": [{"text": "milk", "answer_start": 10}]},
        {"id": "q3", "question": "Do cows fly?", "answers": [], "is_impossible": True},
    ]}]},
]


@pytest.mark.parametrize("name", ["squad.json", "squad.json.xz"])
def test_read_squad_gives_the_data_list_of_json_and_xz(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = json.dumps({"version": "v2.0", "data": DATA})
    if name.endswith(".xz"):
        with lzma.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    assert read_squad(path) == DATA


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    ('{"questions": []}', 'needs a "data" list'),
    ("[1, 2]", 'needs a "data" list'),
])
def test_read_squad_names_the_file_when_it_is_not_squad(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "train.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(QAError, match=message) as err:
        read_squad(path)
    assert str(path) in str(err.value)


def test_read_squad_names_a_broken_xz_file(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json.xz"
    path.write_bytes(b"not xz at all")
    with pytest.raises(QAError, match="cannot read SQuAD file"):
        read_squad(path)


def test_squad_questions_walk_in_file_order_with_their_place() -> None:
    questions = list(squad_questions(DATA))
    assert [q.qa["id"] for q in questions] == ["q1", "q2", "q3"]
    assert [q.where for q in questions] == [
        "data[0].paragraphs[0].qas[0]", "data[1].paragraphs[0].qas[0]", "data[1].paragraphs[0].qas[1]"]
    assert questions[0].title == "Paris" and questions[1].title is None
    assert questions[2].context == "Cows give milk."


def test_squad_paragraphs_keep_paragraphs_without_questions() -> None:
    paragraphs = list(squad_paragraphs(DATA))
    assert [(p.article, p.paragraph, len(list(p.questions()))) for p in paragraphs] == [(0, 0, 1), (0, 1, 0), (1, 0, 2)]


def test_the_walk_raises_where_the_shape_breaks() -> None:
    with pytest.raises(KeyError):
        list(squad_questions([{"title": "x", "paragraphs": [{"qas": []}]}]))
    with pytest.raises(AttributeError):
        list(squad_questions(["not an article"]))  # type: ignore[list-item]
