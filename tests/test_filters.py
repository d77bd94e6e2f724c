"""Dates and sources reach the citations; --since/--until/--source narrow what is searched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qa.errors import QuestionError
from qa.filters import Filters
from qa.pipeline import QA
from qa.schema import Passage, Reading, Span
from tests.conftest import FakeEmbedder, FakeReader

ARTICLES = [
    {"id": "lyon", "title": "Lyon bridge", "date": "2024-03-26", "site": "Daily Rhône",
     "text": "The mayor of Lyon opened the new bridge on Monday. The bridge cost 40 million euros."},
    {"id": "nice", "title": "Nice bridge", "date": "2024-01-10", "site": "Riviera Post",
     "text": "The mayor of Nice opened the old bridge again on Friday. The repairs cost 2 million euros."},
    {"id": "undated", "title": "Paris bridge", "site": "Seine Daily",
     "text": "The mayor of Paris opened a bridge on Sunday. It cost 90 million euros."},
]


class WeekdayReader(FakeReader):
    """Answers with the first weekday of the passage that shares most words with the question."""

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        readings = []
        for question, passages in items:
            words = set(re.findall(r"\w+", question.lower()))
            spans = []
            for n, p in enumerate(passages):
                m = re.search(r"Monday|Friday|Sunday", p.text)
                overlap = len(words & set(re.findall(r"\w+", p.text.lower()))) / max(1, len(words))
                if m:
                    spans.append(Span(n, m.start(), m.end(), m.group(), min(0.99, overlap)))
            spans.sort(key=lambda s: -s.score)
            readings.append(Reading(spans, [0.1] * len(passages)))
        return readings


@pytest.fixture
def news(tmp_path: Path) -> Path:
    corpus = tmp_path / "news"
    corpus.mkdir()
    (corpus / "wire.json").write_text(json.dumps(ARTICLES), encoding="utf-8")
    return corpus


def make(corpus: Path, tmp_path: Path, reader: FakeReader | None = None) -> QA:
    return QA(corpus=corpus, index=tmp_path / "index", reader=reader or WeekdayReader(), embedder=FakeEmbedder())


def test_citations_carry_date_and_source_and_resolve_relative_days(news: Path, tmp_path: Path) -> None:
    answer = make(news, tmp_path).answer("When did the mayor of Lyon open the new bridge?")
    assert answer.text == "Monday"
    c = answer.citations[0]
    assert (c.article_id, c.date, c.site) == ("wire.json#lyon", "2024-03-26", "Daily Rhône")
    assert c.when == "Monday (25 March 2024)"
    assert json.loads(json.dumps(answer.to_dict()))["citations"][0]["when"] == "Monday (25 March 2024)"


def test_filters_narrow_the_articles_searched(news: Path, tmp_path: Path) -> None:
    qa = make(news, tmp_path, FakeReader())
    question = "Which mayor opened the bridge?"
    def cited(**kw: str) -> set[str]:
        answer = qa.answer(question, where=Filters.parse(**kw))
        return {p.article_id for p in answer.passages}

    assert cited() == {"wire.json#lyon", "wire.json#nice", "wire.json#undated"}
    assert cited(since="2024-03-01") == {"wire.json#lyon"}
    assert cited(until="2024-02-01") == {"wire.json#nice"}
    assert cited(since="2024-01-01", until="2024-12-31") == {"wire.json#lyon", "wire.json#nice"}
    assert cited(source="seine") == {"wire.json#undated"}  # no date needed without a date bound
    assert cited(source="wire.json") == {"wire.json#lyon", "wire.json#nice", "wire.json#undated"}
    assert cited(source="Le Monde") == set()
    assert qa.answer(question, where=Filters.parse(source="Le Monde")).text is None


def test_bad_filters_are_clear_errors() -> None:
    with pytest.raises(QuestionError, match="not a date"):
        Filters.parse(since="yesterday-ish")
    with pytest.raises(QuestionError, match="after until"):
        Filters.parse(since="2024-03-02", until="2024-03-01")
    assert Filters.parse() is None and Filters.parse(source="  ") is None


def test_filters_hold_inside_an_hnsw_segment_too(tmp_path: Path) -> None:
    from qa.index import open_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"id": f"a{n}", "title": f"Story {n}", "site": "Wire A" if n % 2 else "Wire B",
                "date": f"2024-03-{1 + n % 28:02d}",
                "text": "\n".join(f"Harbour {n} report line {m} about ferries and bridges." for m in range(30))}
               for n in range(10)]
    (corpus / "wire.json").write_text(json.dumps(records), encoding="utf-8")
    embedder = FakeEmbedder(dimension=64)
    ann = open_index(corpus, tmp_path / "ann", embedder, ann_min_rows=100)
    exact = open_index(corpus, tmp_path / "exact", embedder)
    assert ann.manifest["dense"] == ["HNSW32,SQ8"] and exact.manifest["dense"] == ["flat"]
    query = embedder.encode(["harbour report about ferries"])
    for where in (Filters.parse(source="Wire A"), Filters.parse(since="2024-03-05", until="2024-03-06")):
        found = [(ann.sentences[p].article_id, round(s, 5)) for p, s in ann.search(query, 20, where)[0]]
        truth = [(exact.sentences[p].article_id, round(s, 5)) for p, s in exact.search(query, 20, where)[0]]
        assert found and sorted(found) == sorted(truth)
        assert all(ann.allows(a, where) for a, _ in found)
