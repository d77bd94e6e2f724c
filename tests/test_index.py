from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from qa.errors import CorpusError, CorruptIndexError
from qa.index import CURRENT, SentenceIndex, open_index
from tests.conftest import FakeEmbedder


def add(corpus: Path, name: str, text: str) -> None:
    (corpus / name).write_text(text, encoding="utf-8")
    # mtime resolution can be coarse: make every write visible to the cheap signature check
    stat = (corpus / name).stat()
    os.utime(corpus / name, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_built_on_first_use_then_loaded(seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    index = open_index(seed_corpus, tmp_path / "index", fake_embedder)
    assert len(index.articles) == 1 and len(index.sentences) >= 14
    m = index.manifest
    assert m["embedder"] == "fake-embedder" and m["dimension"] == 256 and m["fingerprint"]
    assert {"faiss-cpu", "transformers"} <= set(m["versions"])
    encoded = fake_embedder.encoded
    again = open_index(seed_corpus, tmp_path / "index", fake_embedder)
    assert fake_embedder.encoded == encoded  # served from disk, nothing re-embedded
    assert [s.text for s in again.sentences] == [s.text for s in index.sentences]
    query = fake_embedder.encode(["Macron offered Russia increased cooperation"])
    assert again.search(query, 3)[0][0][0] == index.search(query, 3)[0][0][0]


def test_an_index_split_by_another_splitter_is_rebuilt(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    from qa.index.toc import publish, read_current
    from qa.sentences import SPLITTER

    folder = tmp_path / "index"
    first = open_index(seed_corpus, folder, fake_embedder)
    assert first.manifest["splitter"] == SPLITTER == "sentencex+repairs"
    old = {k: v for k, v in read_current(folder).items() if k != "splitter"}  # as pySBD-era indexes were
    publish(folder, old)
    assert SentenceIndex.load(folder).splitter == "pysbd"
    encoded = fake_embedder.encoded
    rebuilt = open_index(seed_corpus, folder, fake_embedder)
    assert rebuilt.manifest["splitter"] == SPLITTER and fake_embedder.encoded > encoded


def test_added_changed_removed_articles_are_picked_up(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "index"
    first = open_index(seed_corpus, folder, fake_embedder)
    seed_sentences = len(first.sentences)
    add(seed_corpus, "b.txt", "Second story\nA bridge opened in Lyon. It cost 40 million euros.")
    before = fake_embedder.encoded
    added = open_index(seed_corpus, folder, fake_embedder)
    assert set(added.articles) == {*first.articles, "b.txt"}
    assert fake_embedder.encoded - before == 3  # only the new article's sentences were embedded
    add(seed_corpus, "b.txt", "Second story\nA bridge opened in Nice.")
    changed = open_index(seed_corpus, folder, fake_embedder)
    assert "Nice" in changed.articles["b.txt"].text
    assert [s.text for s in changed.article_sentences("b.txt")] == ["Second story", "A bridge opened in Nice."]
    (seed_corpus / "b.txt").unlink()
    removed = open_index(seed_corpus, folder, fake_embedder)
    assert set(removed.articles) == set(first.articles) and len(removed.sentences) == seed_sentences
    # reused vectors are the very vectors first computed
    np.testing.assert_allclose(removed.vectors_of([0]), first.vectors_of([0]))


def test_another_embedder_rebuilds(seed_corpus: Path, tmp_path: Path) -> None:
    open_index(seed_corpus, tmp_path / "index", FakeEmbedder("model-a"))
    other = FakeEmbedder("model-b", dimension=128)
    index = open_index(seed_corpus, tmp_path / "index", other)
    assert index.manifest["embedder"] == "model-b" and index.dimension == 128
    assert other.encoded >= len(index.sentences)


def test_touched_but_unchanged_files_are_not_reembedded(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    open_index(seed_corpus, tmp_path / "index", fake_embedder)
    before = fake_embedder.encoded
    seed = next(seed_corpus.iterdir())
    add(seed_corpus, seed.name, seed.read_text(encoding="utf-8"))
    open_index(seed_corpus, tmp_path / "index", fake_embedder)
    assert fake_embedder.encoded == before


def test_interrupted_build_leaves_previous_index(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.index import lexical

    folder = tmp_path / "index"
    original = open_index(seed_corpus, folder, fake_embedder)
    add(seed_corpus, "b.txt", "Second story\nA bridge opened in Lyon.")

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(lexical, "write", crash)  # dies half-way through writing the new segment
    with pytest.raises(KeyboardInterrupt):
        open_index(seed_corpus, folder, fake_embedder)
    survivor = SentenceIndex.load(folder)
    assert set(survivor.articles) == set(original.articles)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    updated = open_index(seed_corpus, folder, fake_embedder)  # the next run catches up
    assert "b.txt" in updated.articles


def _segment(folder: Path) -> Path:
    return folder / SentenceIndex.load(folder).manifest["segments"][0]["name"]


@pytest.mark.parametrize("damage", ["pointer", "toc", "vectors", "articles", "spans", "lexical", "meta"])
def test_corrupt_index_is_reported_and_rebuilt(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    folder = tmp_path / "index"
    open_index(seed_corpus, folder, fake_embedder)
    segment = _segment(folder)
    target = {"pointer": folder / CURRENT, "toc": folder / (folder / CURRENT).read_text().strip(),
              "vectors": segment / "vectors.npy", "articles": segment / "articles.sqlite",
              "spans": segment / "spans.npy", "lexical": segment / "lexical" / "indptr.csc.index.npy",
              "meta": segment / "segment.json"}[damage]
    target.write_bytes(b"\x00garbage")
    with pytest.raises(CorruptIndexError, match=str(folder)):
        SentenceIndex.load(folder)
    with caplog.at_level(logging.WARNING, logger="qa.index"):
        rebuilt = open_index(seed_corpus, folder, fake_embedder)
    assert "rebuilding" in caplog.text
    assert len(rebuilt.sentences) >= 14 and SentenceIndex.load(folder).manifest["sentences"] == len(rebuilt.sentences)


def test_index_of_the_previous_format_is_rebuilt(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "index"
    (folder / "gen-0123456789ab").mkdir(parents=True)
    (folder / CURRENT).write_text("gen-0123456789ab\n")
    with pytest.raises(CorruptIndexError, match="format 1"):
        SentenceIndex.load(folder)
    with caplog.at_level(logging.WARNING, logger="qa.index"):
        index = open_index(seed_corpus, folder, fake_embedder)
    assert "format 1" in caplog.text and len(index.articles) == 1
    assert not (folder / "gen-0123456789ab").exists()  # the old generation is cleaned up


def test_empty_corpus_says_how_to_add_articles(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    (tmp_path / "corpus").mkdir()
    with pytest.raises(CorpusError, match="add .txt"):
        open_index(tmp_path / "corpus", tmp_path / "index", fake_embedder)
