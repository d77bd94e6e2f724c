"""The segmented index: updates in proportion to the change, merges, corpus-wide BM25, HNSW, the
write lock, and killed or concurrent writers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from qa import ingest
from qa.errors import IndexBusyError
from qa.index import SentenceIndex, lexical, merge, open_index
from qa.index.lock import write_lock
from tests.conftest import ROOT, FakeEmbedder
from tests.test_index import add

STORIES = [
    "A bridge opened in Lyon on Monday. It cost 40 million euros.",
    "Farmers in Kenya planted maize after the rains. The harvest is expected in June.",
    "The orchestra of Vienna played Mahler. The concert sold out in an hour.",
    "A ferry sank near Bergen. All passengers were rescued by the coast guard.",
]


def segments(folder: Path) -> list[dict]:
    return SentenceIndex.load(folder).manifest["segments"]


def test_an_update_writes_one_small_segment_and_reads_only_changed_files(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "index"
    seed = next(seed_corpus.iterdir())
    add(seed_corpus, "c.txt", STORIES[1])
    first = open_index(seed_corpus, folder, fake_embedder)
    old_segment = folder / segments(folder)[0]["name"]
    stamps = {p.name: p.stat().st_mtime_ns for p in old_segment.iterdir()}
    read: list[str] = []
    real_read_file = ingest.read_file
    monkeypatch.setattr(ingest, "read_file", lambda path, rel, problems=None: read.append(rel)
                        or real_read_file(path, rel, problems))
    add(seed_corpus, "b.txt", STORIES[0])
    index = open_index(seed_corpus, folder, fake_embedder)
    assert read == ["b.txt"]
    entries = segments(folder)
    assert [e["rows"] for e in entries] == [len(first.sentences), 2]
    assert {p.name: p.stat().st_mtime_ns for p in old_segment.iterdir()} == stamps  # never rewritten
    assert len(index.sentences) == len(first.sentences) + 2
    # a change to the old article deletes it by tombstone: its segment stays as it was
    add(seed_corpus, seed.name, seed.read_text(encoding="utf-8") + "\nA late line was added.")
    changed = open_index(seed_corpus, folder, fake_embedder)
    entries = segments(folder)
    assert entries[0]["deleted"] == [seed.name] and len(changed.articles) == 3
    assert changed.articles[seed.name].text.endswith("A late line was added.")
    hits = changed.search(fake_embedder.encode(["A late line was added."]), 100)[0]
    assert all(changed.sentences[p].article_id in changed.articles for p, _ in hits)
    assert len({changed.sentences[p].text for p, _ in hits}) == len(hits)  # no stale copy of the old rows


def test_same_content_under_another_name_is_not_embedded_again(
    seed_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "index"
    first = open_index(seed_corpus, folder, fake_embedder)
    seed = next(seed_corpus.iterdir())
    before = fake_embedder.encoded
    (seed_corpus / "moved").mkdir()
    seed.rename(seed_corpus / "moved" / seed.name)
    moved = open_index(seed_corpus, folder, fake_embedder)
    assert fake_embedder.encoded == before
    assert set(moved.articles) == {f"moved/{seed.name}"}
    np.testing.assert_array_equal(moved.vectors_of(moved.article_positions(f"moved/{seed.name}")),
                                  first.vectors_of(first.article_positions(seed.name)))
    for name in ("copy-a.txt", "copy-b.txt"):  # the same new text twice in one update: embedded once
        add(seed_corpus, name, STORIES[3])
    both = open_index(seed_corpus, folder, fake_embedder)
    assert fake_embedder.encoded == before + 2 and {"copy-a.txt", "copy-b.txt"} <= set(both.articles)


def test_small_segments_are_merged_and_optimize_leaves_one(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for n in range(merge.MAX_SEGMENTS + 3):
        add(corpus, f"story-{n:02d}.txt", f"Story {n} of the day\n" + STORIES[n % len(STORIES)])
        index = open_index(corpus, folder, fake_embedder)
        assert len(segments(folder)) <= merge.MAX_SEGMENTS
    assert len(index.articles) == merge.MAX_SEGMENTS + 3
    (corpus / "story-00.txt").unlink()
    query = fake_embedder.encode(["Who rescued the passengers of the ferry?"])
    before = open_index(corpus, folder, fake_embedder)
    found = sorted((round(s, 5), before.sentences[p].text) for p, s in before.search(query, 100)[0])
    optimized = open_index(corpus, folder, fake_embedder, optimize=True)
    entries = segments(folder)
    assert len(entries) == 1 and entries[0]["deleted"] == [] and entries[0]["articles"] == len(optimized.articles)
    after = sorted((round(s, 5), optimized.sentences[p].text) for p, s in optimized.search(query, 100)[0])
    assert after == found  # the same sentences with the same scores (their positions changed)
    add(corpus, "late.txt", STORIES[2])  # the generation before the merge is no longer kept: nor its segments
    open_index(corpus, folder, fake_embedder)
    assert len([p for p in folder.iterdir() if p.name.startswith("seg-")]) == 2


def test_bm25_weighs_words_by_the_whole_corpus_not_by_segment(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    # "harbour" is common in the big first segment; the one-sentence second segment alone would give it
    # a high IDF, and its short sentence would be of average length there
    add(corpus, "big.txt", "\n".join(f"The harbour of town {n} was busy." for n in range(30)) + "\nA quiet mill.")
    open_index(corpus, folder, fake_embedder)
    add(corpus, "small.txt", "The harbour flooded.")
    split = open_index(corpus, folder, fake_embedder)
    assert len(segments(folder)) == 2
    merged = open_index(corpus, folder, fake_embedder, optimize=True)
    for question in ("harbour mill", "flooded harbour", "busy town 7"):
        a = [(split.sentences[p].text, s) for p, s in split.lexical(question, 5)]
        b = [(merged.sentences[p].text, s) for p, s in merged.lexical(question, 5)]
        assert [t for t, _ in a] == [t for t, _ in b], question
        np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=1e-4)


def test_segments_tokenized_by_an_older_tokenizer_get_new_words_and_keep_their_vectors(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    add(corpus, "a.txt", STORIES[0])
    add(corpus, "b.txt", "Macron said the Islamic State in Khorasan (IS-K) had tried to attack France. "
                         "The U.S. embassy had warned of it.")
    # the older tokenizer: no joined terms
    monkeypatch.setattr(lexical, "joined_terms", lambda text: "")
    monkeypatch.setattr(lexical, "TOKENIZER", "bm25s-en-snowball")
    first = open_index(corpus, folder, fake_embedder)
    assert first.lexical("What does IS-K stand for?", 5) == []  # "IS-K" was no term at all
    monkeypatch.undo()
    before = fake_embedder.encoded
    index = open_index(corpus, folder, fake_embedder)
    assert fake_embedder.encoded == before  # the words are rewritten, the vectors kept
    assert not index.lexically_stale and all(e["lexical"] == lexical.TOKENIZER for e in segments(folder))
    for question, words in (("What does IS-K stand for?", "Khorasan"), ("Who warned the U.S.?", "U.S. embassy")):
        hits = index.lexical(question, 5)
        assert hits and words in index.sentences[hits[0][0]].text, question
    np.testing.assert_array_equal(index.vectors_of(index.article_positions("b.txt")),
                                  first.vectors_of(first.article_positions("b.txt")))


def test_names_written_with_hyphens_or_full_stops_are_one_term() -> None:
    assert lexical.joined_terms("the Islamic State in Khorasan (IS-K), the U.S. and F-16s") == "is_k u_s f_16s"
    assert lexical.joined_terms("COVID-19 rose 3.5 points; a well-known e-mail") == "covid_19 3_5 e_mail"
    assert lexical.joined_terms("Al-Qaeda and www.example.com") == ""  # every word is kept as it is


def test_large_segments_get_hnsw_that_agrees_with_exact_search(tmp_path: Path) -> None:
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    rng = random.Random(0)
    words = ["bridge", "ferry", "harbour", "maize", "concert", "orchestra", "river", "mayor", "court", "budget",
             "school", "storm"]
    lines = [" ".join(rng.choice(words) for _ in range(6)) + f" item{n}." for n in range(400)]
    add(corpus, "many.txt", "\n".join(lines[:200]))
    add(corpus, "more.txt", "\n".join(lines[200:]))
    embedder = FakeEmbedder(dimension=64)
    ann = open_index(corpus, folder, embedder, ann_min_rows=100)
    assert segments(folder)[0]["dense"] == "HNSW32,SQ8" and ann.manifest["dense"] == ["HNSW32,SQ8"]
    exact = open_index(corpus, tmp_path / "exact", embedder)
    assert exact.manifest["dense"] == ["flat"]
    queries = embedder.encode([" ".join(rng.choice(words) for _ in range(3)) for _ in range(20)])
    recall = np.mean([len({p for p, _ in a} & {p for p, _ in e}) / 10
                      for a, e in zip(ann.search(queries, 10), exact.search(queries, 10))])
    assert recall >= 0.7  # SQ8 codes of a hashed bag of words: many near-ties; real vectors: docs/index.md
    # a deleted article's rows are never returned by the approximate index either
    add(corpus, "other.txt", "bridge ferry harbour")
    add(corpus, "many.txt", "\n".join(lines[:10]))
    updated = open_index(corpus, folder, embedder, ann_min_rows=100)
    assert segments(folder)[0]["deleted"] == ["many.txt"]
    hits = updated.search(queries, 50)
    assert all(updated.sentences[p].article_id in updated.articles for row in hits for p, _ in row)
    assert max(p for row in hits for p, _ in row) >= 400  # the new segments' rows, after the old one's


def test_a_held_write_lock_makes_a_writer_fail_clearly(tmp_path: Path) -> None:
    with write_lock(tmp_path / "index"):
        child = subprocess.run(
            [sys.executable, "-c", "from pathlib import Path; from qa.index.lock import write_lock\n"
             "with write_lock(Path('index'), timeout=0.2): pass"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert child.returncode != 0 and "IndexBusyError" in child.stderr and "another process" in child.stderr
    with write_lock(tmp_path / "index", timeout=0.2):  # released: free again
        pass
    assert issubclass(IndexBusyError, Exception)


# A writer in its own process, slowed down so that kills and races land in the middle of a write.
WRITER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from qa.index import open_index
    from tests.conftest import FakeEmbedder

    class Slow(FakeEmbedder):
        def encode(self, texts, progress=False):
            time.sleep(float(sys.argv[3]))
            return super().encode(texts, progress)

    embedder = Slow()
    index = open_index(Path(sys.argv[1]), Path(sys.argv[2]), embedder)
    print(json.dumps({"encoded": embedder.encoded, "articles": len(index.articles)}))
""")


def _writer(tmp_path: Path, corpus: Path, folder: Path, delay: float) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    return subprocess.Popen([sys.executable, str(script), str(corpus), str(folder), str(delay)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)


def test_two_writers_at_once_are_serialised(tmp_path: Path) -> None:
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for n, story in enumerate(STORIES):
        add(corpus, f"s{n}.txt", story)
    writers = [_writer(tmp_path, corpus, folder, 0.5) for _ in range(2)]
    results = [json.loads(w.communicate(timeout=60)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    assert sorted(r["encoded"] for r in results) == [0, 8]  # one built it, the other found it built
    assert all(r["articles"] == len(STORIES) for r in results)
    assert len(segments(folder)) == 1


def test_killed_writers_always_leave_an_index_that_answers(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    add(corpus, "s0.txt", STORIES[0])
    open_index(corpus, folder, fake_embedder)
    rng = random.Random(7)
    query = fake_embedder.encode(["bridge in Lyon"])
    for n in range(1, 21):  # a growing corpus, a writer killed at a random moment of each update
        add(corpus, f"s{n}.txt", f"Update {n}\n" + STORIES[n % len(STORIES)])
        writer = _writer(tmp_path, corpus, folder, rng.uniform(0.0, 0.3))
        time.sleep(rng.uniform(0.2, 1.2))
        writer.send_signal(signal.SIGKILL)
        writer.communicate()
        index = SentenceIndex.load(folder)  # never corrupt, whatever the moment
        assert index.search(query, 3)[0] and index.lexical("bridge Lyon", 3)
        assert {index.sentences[p].article_id for p, _ in index.search(query, 50)[0]} <= set(index.articles)
    final = open_index(corpus, folder, fake_embedder)
    assert len(final.articles) == 21 and not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
