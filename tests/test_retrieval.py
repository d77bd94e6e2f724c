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


def test_a_question_naming_an_articles_title_ranks_that_article_up(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "quake.txt").write_text("2008 Sichuan earthquake\nThe earthquake struck on 12 May 2008. Nearly 70,000 "
                                      "people died. Schools collapsed across the province.", encoding="utf-8")
    (corpus / "study.txt").write_text("Seismic research\nIn 2002 a study warned that an earthquake in Sichuan "
                                      "could occur. Its author was a geologist.", encoding="utf-8")
    (corpus / "other.txt").write_text("Sichuan cuisine\nSichuan food is spicy. Peppers are used.", encoding="utf-8")
    question = "In what year did the earthquake in Sichuan occur?"
    plain = retriever(corpus, tmp_path, title_weight=0)
    named = plain.titles.named(question)
    assert list(named) == ["quake.txt"] and abs(named["quake.txt"] - 2 / 3) < 1e-9  # 2008, sichuan, earthquak
    assert plain.titles.named("What is spicy in Sichuan?") == {}  # "Sichuan cuisine": one title term of two

    def rank(r: HybridRetriever) -> int:
        return next(i for i, h in enumerate(r.hits(question)) if "12 May 2008" in h.sentence.text)

    titled = HybridRetriever(plain.index, plain.embedder, title_weight=1.0)
    assert rank(titled) < rank(plain)
    score_of = {h.sentence.text: h.score for h in plain.hits(question)}
    assert all(score_of[h.sentence.text] == h.score for h in titled.hits(question))  # order only, scores kept
    plain.index.withdraw(["quake.txt"])
    assert plain.titles.named(question) == {}


def test_titles_are_read_without_sqlite_json_functions(tmp_path: Path) -> None:
    import sqlite3

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Sichuan cuisine\nSichuan food is spicy.", encoding="utf-8")
    segment = retriever(corpus, tmp_path).index.segments[0]
    assert segment.titles() == ["Sichuan cuisine"]
    real = segment._db

    class WithoutJson:  # an SQLite built without the JSON functions
        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if "json_extract" in sql:
                raise sqlite3.OperationalError("no such function: json_extract")
            return real.execute(sql, *args)

    segment._db = WithoutJson()  # type: ignore[assignment]
    assert segment.titles() == ["Sichuan cuisine"]  # read once per process: from memory now
    import qa.index.segment as segments

    segments._TITLES.clear()
    assert segment.titles() == ["Sichuan cuisine"]  # and without JSON functions


def test_a_question_naming_a_site_ranks_its_articles_up(tmp_path: Path) -> None:
    import json

    from qa.filters import Filters

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [
        {"id": "rhone", "title": "A bridge for Lyon", "site": "Daily Rhône", "date": "2024-03-26",
         "text": "The mayor opened the bridge on Monday. The new bridge cost 40 million euros, officials said."},
        {"id": "times", "title": "Lyon's bridge opens", "site": "Lyon Times", "date": "2024-03-26",
         "text": "Crowds watched the opening. The new bridge cost 45 million euros, according to the council."},
        {"id": "x", "title": "Short", "site": "AP", "text": "According to AP, it rained."},
    ]
    (corpus / "wire.json").write_text(json.dumps(records), encoding="utf-8")
    question = "How much did the new bridge cost, according to the daily rhône?"
    plain = retriever(corpus, tmp_path, title_weight=0)
    assert plain.titles.sites_named(question) == ["Daily Rhône"]  # whole words, any case
    assert plain.titles.sites_named("Where was the bridge opened, according to the council?") == []
    assert plain.titles.sites_named("What did AP say?") == []  # too short a name to look for

    def rank(r: HybridRetriever, where: Filters | None = None) -> int:
        return next(i for i, h in enumerate(r.hits(question, where=where)) if "40 million" in h.sentence.text)

    named = HybridRetriever(plain.index, plain.embedder, title_weight=0.5)
    assert rank(named) < rank(plain)
    assert rank(named, Filters.parse(since="2024-01-01")) < rank(plain, Filters.parse(since="2024-01-01"))
    # a source asked for is honoured: the site the question names does not bring its articles back
    only_times = named.hits(question, where=Filters.parse(source="Lyon Times"))
    assert {h.sentence.article_id for h in only_times} == {"wire.json#times"}


def test_a_question_naming_a_date_ranks_the_articles_of_that_week_up(tmp_path: Path) -> None:
    import json

    from qa.dates import dates_named
    from qa.filters import Filters

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [  # the same council, two openings; the question's words fit the later one better
        {"id": "may", "title": "School", "date": "2024-05-07",
         "text": "The mayor opened the new school. The mayor said the school opened on time."},
        {"id": "march", "title": "Bridge", "date": "2024-03-26",
         "text": "Crowds watched. On Monday the mayor cut a ribbon at the bridge."},
    ]
    (corpus / "wire.json").write_text(json.dumps(records), encoding="utf-8")
    question = "What did the mayor open on 25 March 2024?"
    assert dates_named(question)[0].isoformat() == "2024-03-25"
    plain = retriever(corpus, tmp_path, title_weight=0)
    named = HybridRetriever(plain.index, plain.embedder, title_weight=0.5)

    def rank(r: HybridRetriever, where: Filters | None = None) -> int:
        return next(i for i, h in enumerate(r.hits(question, where=where)) if "ribbon" in h.sentence.text)

    assert rank(named) < rank(plain)
    # the dates a user asked for bound it: a window outside them adds nothing
    outside = Filters.parse(since="2024-05-01")
    assert [h.sentence.text for h in named.hits(question, where=outside)] == \
        [h.sentence.text for h in plain.hits(question, where=outside)]


def test_the_passage_after_an_answer_goes_on_with_its_speaker_and_skips_to_where_they_are_named(
        tmp_path: Path) -> None:
    from qa.retrieval import passage_after

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "Talks\nAna Ribeiro said the bridge was ready. She added that tolls would be low. Councillors disagreed. "
        "The weather was fine. Later, Ribeiro thanked the workers. It rained.", encoding="utf-8")
    index = retriever(corpus, tmp_path).index
    text = index.articles["a.txt"].text
    first = text.index("the bridge was ready") + len("the bridge was ready")
    goes_on = passage_after(index, "a.txt", first, "Ana Ribeiro")
    assert goes_on is not None and goes_on.text.startswith("Ana Ribeiro said") and \
        goes_on.text.endswith("tolls would be low.")  # "She added" goes on; the councillors do not
    end = text.index("tolls would be low.") + len("tolls would be low.")
    skipped = passage_after(index, "a.txt", end, "Ana Ribeiro")
    assert skipped is not None and skipped.text == "Later, Ribeiro thanked the workers."
    assert passage_after(index, "a.txt", first, None).text.count(".") == 4  # no speaker: four sentences
    assert passage_after(index, "gone.txt", 0, "Ana Ribeiro") is None
