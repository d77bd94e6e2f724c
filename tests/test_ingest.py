from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.ingest import read_corpus


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_reads_every_format_recursively(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Storm hits coast\nThe storm hit the coast on Monday. Roads closed.")
    write(tmp_path / "notes" / "b.md", "# Markets rally\n\nShares rose 3% on Tuesday.")
    write(tmp_path / "c.html", "<html><head><title>Vote &amp; count</title><script>var x=1;</script></head>"
          "<body><nav>Home | About</nav><article><h1>Vote count</h1><p>Polls closed at <b>8pm</b>.</p>"
          "<p>Turnout was 61%.</p></article><footer>(c) paper</footer></body></html>")
    write(tmp_path / "d.json", json.dumps([
        {"title": "Rates", "text": "The bank held rates.", "url": "https://example.com/rates", "date": "2024-03-01"},
        {"text": "Untitled piece about rain.\nIt rained a lot."},
    ]))
    write(tmp_path / "e.jsonl", json.dumps({"id": "x1", "title": "Wheat", "text": "Wheat prices fell."}) + "\n\n"
          + json.dumps({"title": "Oil", "text": "Oil rose."}) + "\n")
    corpus = read_corpus(tmp_path)
    by_id = {a.id: a for a in corpus.articles}
    assert set(by_id) == {"a.txt", "notes/b.md", "c.html", "d.json#0", "d.json#1", "e.jsonl#x1", "e.jsonl#3"}
    assert by_id["a.txt"].title == "Storm hits coast"
    assert by_id["notes/b.md"].title == "Markets rally"
    html = by_id["c.html"]
    assert html.title == "Vote & count"
    assert "Polls closed at 8pm." in html.text and "Turnout was 61%." in html.text
    assert "var x" not in html.text and "Home | About" not in html.text and "(c) paper" not in html.text
    assert by_id["d.json#0"].url == "https://example.com/rates" and by_id["d.json#0"].date == "2024-03-01"
    assert by_id["d.json#1"].title == "d 1"  # first line ends with a full stop: not a title
    assert by_id["e.jsonl#x1"].title == "Wheat"
    assert corpus.skipped == []


def test_title_falls_back_to_file_name(tmp_path: Path) -> None:
    write(tmp_path / "long_story-2024.txt", "A single long paragraph that reads like a sentence, not a title.")
    assert read_corpus(tmp_path).articles[0].title == "long story 2024"


def test_bad_files_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "good.txt", "Good news\nAll is well.")
    write(tmp_path / "empty.txt", "   \n")
    write(tmp_path / "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    write(tmp_path / "latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"))
    write(tmp_path / "broken.json", "{not json")
    write(tmp_path / "notext.jsonl", json.dumps({"title": "no text field"}) + "\n")
    write(tmp_path / "image.png", b"\x89PNG")  # not an article suffix: ignored, not a warning
    with caplog.at_level(logging.WARNING, logger="qa.ingest"):
        corpus = read_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good.txt"]
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.txt", "broken.json", "notext.jsonl line 1",
                            "notext.jsonl"}
    assert "binary" in reasons["binary.txt"] and "UTF-8" in reasons["latin1.txt"]
    for name in reasons:
        assert name in caplog.text


def test_a_bad_jsonl_line_loses_only_that_record(tmp_path: Path) -> None:
    write(tmp_path / "feed.jsonl", json.dumps({"title": "One", "text": "First."}) + "\n{oops\n"
          + json.dumps({"title": "Three", "text": "Third."}) + "\n")
    corpus = read_corpus(tmp_path)
    assert [a.title for a in corpus.articles] == ["One", "Three"]
    assert [s.path for s in corpus.skipped] == ["feed.jsonl line 2"]


def test_ids_and_digests_are_stable(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Title\nBody text here.")
    first = read_corpus(tmp_path).articles[0]
    again = read_corpus(tmp_path).articles[0]
    assert (first.id, first.digest) == (again.id, again.digest)
    write(tmp_path / "a.txt", "Title\nBody text changed.")
    assert read_corpus(tmp_path).articles[0].digest != first.digest


def test_windows_line_endings_are_normalised(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Title\r\nFirst line.\r\nSecond line.")
    assert read_corpus(tmp_path).articles[0].text == "Title\nFirst line.\nSecond line."


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")


def test_seed_article_gets_a_readable_title(seed_corpus: Path) -> None:
    title = read_corpus(seed_corpus).articles[0].title
    assert title.startswith("Fresh from engaging in a war of words") and title.endswith("…")
    assert len(title) <= 80
