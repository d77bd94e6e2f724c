from __future__ import annotations

from pathlib import Path

from qa.index import open_index
from qa.retrieval import HybridRetriever
from tests.conftest import FakeEmbedder


def retriever(corpus: Path, tmp_path: Path, **kw: int) -> HybridRetriever:
    embedder = FakeEmbedder()
    return HybridRetriever(open_index(corpus, tmp_path / "index", embedder), embedder, **kw)


def test_hits_rank_the_matching_sentence_first(seed_corpus: Path, tmp_path: Path) -> None:
    hits = retriever(seed_corpus, tmp_path).hits("Which broadcaster reported the proposal to the Russian services?")
    assert "BFMTV" in hits[0].sentence.text
    assert hits[0].dense_score is not None and -1.0 <= hits[0].dense_score <= 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_passages_widen_hits_and_never_overlap(seed_corpus: Path, tmp_path: Path) -> None:
    r = retriever(seed_corpus, tmp_path, window=1, top_passages=4)
    passages = r.retrieve("Who offered Russia cooperation against terrorism?")
    assert 1 <= len(passages) <= 4
    article = r.index.articles[passages[0].article_id]
    covered: set[int] = set()
    for p in passages:
        assert article.text[p.start : p.end] == p.text
        assert p.last - p.first + 1 <= 6
        sentences = set(range(p.first, p.last + 1))
        assert not sentences & covered
        covered |= sentences
    assert "offered Russia" in passages[0].text


def test_lexical_match_found_even_when_dense_is_weak(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Filler\n" + " ".join(f"Sentence number {i} is filler." for i in range(40))
                                  + " The zeppelin landed in Friedrichshafen.", encoding="utf-8")
    passages = retriever(corpus, tmp_path, top_passages=1).retrieve("Where did the zeppelin land?")
    assert "Friedrichshafen" in passages[0].text


def test_question_without_known_words_still_returns_dense_hits(seed_corpus: Path, tmp_path: Path) -> None:
    assert retriever(seed_corpus, tmp_path).retrieve("xyzzy plugh?")  # the reader decides to abstain
