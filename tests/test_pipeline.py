from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import qa
from qa.errors import QuestionError
from qa.pipeline import QA, normalize_answer
from qa.schema import Answer, Citation, Passage, Reading, Span
from tests.conftest import FakeEmbedder, FakeReader


def make_qa(corpus: Path, tmp_path: Path, **kw: object) -> QA:
    return QA(corpus=corpus, index=tmp_path / "index", reader=FakeReader(), embedder=FakeEmbedder(), **kw)


def test_answer_surface_and_offsets(seed_corpus: Path, tmp_path: Path) -> None:
    pipeline = make_qa(seed_corpus, tmp_path)
    r = pipeline.answer("  Who is the French Interior Minister who said all countries are affected?  ")
    assert r.question == "Who is the French Interior Minister who said all countries are affected?"
    assert r.text  # the fake reader answers with a capitalised pair of words
    assert 0.0 <= r.score <= 1.0
    c = r.citations[0]
    article = pipeline.index().articles[c.article_id]
    assert article.text[c.start : c.end] == r.text
    assert c.sentence == article.text[c.sentence_start : c.sentence_end]
    assert c.sentence_start <= c.start < c.end <= c.sentence_end
    assert c.title == article.title and c.sentence_index >= 0
    d = r.to_dict()
    json.dumps(d)
    assert d["text"] == r.text and d["citations"][0]["start"] == c.start


def test_abstains_below_min_score(seed_corpus: Path, tmp_path: Path) -> None:
    r = make_qa(seed_corpus, tmp_path).answer("Who won the football match in Madrid yesterday evening?")
    assert r.text is None and r.citations == [] and not r.answered
    forced = make_qa(seed_corpus, tmp_path, min_score=0.0).answer("Who offered Russia cooperation?")
    assert forced.text is not None


class ScriptedReader:
    min_score = min_score_retrieved = 0.5
    calibration = None

    def __init__(self, spans: list[Span]):
        self.spans = spans

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        return [Reading(self.spans, [0.1] * len(ps)) for _, ps in items]


class FixedRetriever:
    def __init__(self, passages: list[Passage]):
        self.passages = passages

    def retrieve(self, question: str, top_passages: int | None = None, context: str = "",
                 articles: Any = None, where: Any = None) -> list[Passage]:
        return self.passages


def test_duplicate_spans_merge_and_best_wins() -> None:
    passages = [Passage("a", "A", 0, 0, 100, "The Macron plan. Mr Putin said no."),
                Passage("b", "B", 3, 3, 0, "Emmanuel Macron spoke.")]
    spans = [Span(0, 4, 10, "Macron", 0.7), Span(1, 9, 15, "Macron", 0.6), Span(0, 20, 25, "Putin", 0.65)]
    r = QA(reader=ScriptedReader(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer("Who?")
    assert r.text == "Macron" and r.score == 0.7
    assert [(c.article_id, c.start) for c in r.citations] == [("a", 104), ("b", 9)]
    assert r.citations[0].sentence == "The Macron plan."
    assert [a.text for a in r.alternatives] == ["Putin"]


def test_low_scores_abstain_but_keep_the_candidate() -> None:
    passages = [Passage("a", "A", 0, 0, 0, "Macron spoke.")]
    r = QA(reader=ScriptedReader([Span(0, 0, 6, "Macron", 0.3)]), embedder=FakeEmbedder(),
           retriever=FixedRetriever(passages)).answer("Who?")
    assert r.text is None and r.score == 0.3 and r.alternatives[0].text == "Macron"


@pytest.mark.parametrize("bad", ["", "   \n\t", "x" * 1001, None, 42])
def test_bad_questions_raise_a_clear_error(seed_corpus: Path, tmp_path: Path, bad: object) -> None:
    with pytest.raises(QuestionError):
        make_qa(seed_corpus, tmp_path).answer(bad)  # type: ignore[arg-type]


def test_answer_many_matches_answer(seed_corpus: Path, tmp_path: Path) -> None:
    pipeline = make_qa(seed_corpus, tmp_path)
    questions = ["Who offered Russia cooperation?", "Which broadcaster carried the remarks?"]
    many = pipeline.answer_many(questions)
    assert [a.text for a in many] == [pipeline.answer(q).text for q in questions]


def test_new_article_is_answered_without_restart(seed_corpus: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder is compared with the index at most every rescan_seconds: a new article is answered
    from once that much time has passed (or right after an explicit index())."""
    now = [1000.0]
    monkeypatch.setattr("qa.index_service._clock", lambda: now[0])
    pipeline = make_qa(seed_corpus, tmp_path, rescan_seconds=2.0)
    pipeline.answer("Who offered Russia cooperation?")
    (seed_corpus / "bridge.txt").write_text("Bridge news\nThe Pont Neuf reopened after repairs in Toulouse.",
                                            encoding="utf-8")
    now[0] += 1.0
    early = pipeline.answer("Which bridge reopened after repairs in Toulouse?")
    assert all(p.article_id != "bridge.txt" for p in early.passages)  # not looked for yet
    now[0] += 1.5
    r = pipeline.answer("Which bridge reopened after repairs in Toulouse?")
    assert r.citations and r.citations[0].article_id == "bridge.txt"


def test_rescan_seconds_zero_checks_every_question(seed_corpus: Path, tmp_path: Path) -> None:
    pipeline = make_qa(seed_corpus, tmp_path, rescan_seconds=0)
    pipeline.answer("Who offered Russia cooperation?")
    (seed_corpus / "bridge.txt").write_text("Bridge news\nThe Pont Neuf reopened after repairs in Toulouse.",
                                            encoding="utf-8")
    r = pipeline.answer("Which bridge reopened after repairs in Toulouse?")
    assert r.citations and r.citations[0].article_id == "bridge.txt"


def test_normalize_answer_matches_squad() -> None:
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an Apple a day") == "apple day"


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, qa; print(any(m in sys.modules for m in ('torch', 'faiss', 'transformers')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert callable(qa.answer) and qa.QA is QA


def test_spans_across_sentences_are_dropped_and_citations_match_the_answer() -> None:
    text = "Talks ended. The Kremlin said no. Kremlin aides agreed."
    passages = [Passage("a", "A", 0, 2, 0, text)]
    spans = [Span(0, 6, 24, "ended. The Kremlin", 0.9),  # crosses a sentence boundary
             Span(0, 13, 24, "The Kremlin", 0.8), Span(0, 34, 41, "Kremlin", 0.6)]
    r = QA(reader=ScriptedReader(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer("Who?")
    assert r.text == "The Kremlin" and r.score == 0.8
    assert [text[c.start : c.end] for c in r.citations] == ["The Kremlin"]  # "Kremlin aides" lacks "The Kremlin"
    assert r.citations[0].sentence == "The Kremlin said no."


def test_overlapping_passages_cite_a_place_once() -> None:
    passages = [Passage("a", "A", 0, 1, 0, "Macron spoke. Putin listened."),
                Passage("a", "A", 1, 1, 14, "Putin listened.")]
    spans = [Span(0, 14, 19, "Putin", 0.9), Span(1, 0, 5, "Putin", 0.8)]
    r = QA(reader=ScriptedReader(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer("Who?")
    assert r.text == "Putin" and [(c.article_id, c.start) for c in r.citations] == [("a", 14)]


def _name_check_model() -> dict[str, Any]:
    """A verifier model that trusts the reader's span score but distrusts answers to questions whose
    names the passage lacks (as a fitted one learns from swapped-name pairs)."""
    from qa.verification import Signals

    names = Signals.names()
    coef = [0.0] * len(names)
    coef[names.index("span_logit")] = 1.0
    coef[names.index("any_name_missing")] = -4.0
    return {"features": names, "mean": [0.0] * len(names), "scale": [1.0] * len(names), "coef": coef,
            "intercept": 0.0}


class CalibratedReader(ScriptedReader):
    calibration = {"given": _name_check_model(), "retrieved": _name_check_model()}


def test_calibrated_score_is_the_verifiers_probability_and_decides_abstention() -> None:
    from qa.verification import Signals, predict

    passages = [Passage("a", "A", 0, 0, 0, "French Interior Minister Gérald Darmanin spoke on Monday.")]
    span = Span(0, 25, 40, "Gérald Darmanin", 0.9)
    pipeline = QA(reader=CalibratedReader([span]), embedder=FakeEmbedder(), retriever=FixedRetriever(passages))
    supported = pipeline.answer("Who is the French Interior Minister?")
    assert supported.text == "Gérald Darmanin" and supported.reader_score == 0.9
    assert supported.score == pytest.approx(predict(_name_check_model(), Signals(**supported.signals)), abs=1e-3)
    assert supported.score == pytest.approx(0.9, abs=1e-3)  # every name is in the passage
    swapped = pipeline.answer("Who is the Belgian Interior Minister?")
    assert swapped.text is None and swapped.signals["any_name_missing"] == 1.0
    assert swapped.score < 0.5 and swapped.alternatives[0].text == "Gérald Darmanin"
    assert "signals" in swapped.to_dict() and swapped.to_dict()["reader_score"] == 0.9
    given = pipeline.read("Who is the Belgian Interior Minister?", passages)
    assert given.text is None  # the model for given passages applies in reader mode


def test_read_many_matches_read() -> None:
    passages = [Passage("a", "A", 0, 0, 0, "Macron spoke.")]
    pipeline = QA(reader=ScriptedReader([Span(0, 0, 6, "Macron", 0.8)]), embedder=FakeEmbedder(),
                  retriever=FixedRetriever(passages))
    many = pipeline.read_many([("Who spoke?", passages), ("Who?", passages)])
    assert [a.text for a in many] == [pipeline.read("Who spoke?", passages).text] * 2


def test_plain_text_passages_are_read_and_bad_ones_are_a_clear_error() -> None:
    from qa.errors import QuestionError

    pipeline = QA(reader=ScriptedReader([Span(1, 0, 6, "Macron", 0.8)]), embedder=FakeEmbedder(),
                  retriever=FixedRetriever([]))
    r = pipeline.read("Who spoke?", ["Putin listened.", "Macron spoke."])
    assert r.text == "Macron" and [(c.article_id, c.sentence) for c in r.citations] == [("given-1", "Macron spoke.")]
    one = QA(reader=ScriptedReader([Span(0, 0, 6, "Macron", 0.8)]), embedder=FakeEmbedder(),
             retriever=FixedRetriever([]))
    assert one.read("Who spoke?", "Macron spoke.").citations[0].article_id == "given-0"
    for bad in ([], None, [3], ["  "], {"text": "Macron spoke."}):
        with pytest.raises(QuestionError, match="passage"):
            pipeline.read("Who spoke?", bad)


class CountingReader(CalibratedReader):
    """Spans by passage text; remembers how many passages each call read."""

    def __init__(self, spans_by_text: dict[str, list[tuple[int, int, float]]]):
        super().__init__([])
        self.spans_by_text = spans_by_text
        self.calls: list[list[int]] = []

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        self.calls.append([len(ps) for _, ps in items])
        readings = []
        for _, ps in items:
            spans = [Span(n, s, e, p.text[s:e], score) for n, p in enumerate(ps)
                     for s, e, score in self.spans_by_text.get(p.text, [])]
            readings.append(Reading(sorted(spans, key=lambda x: -x.score), [0.1] * len(ps)))
        return readings


PASSAGES = [Passage("a", "A", 0, 0, 0, "Macron spoke first."), Passage("b", "B", 0, 0, 0, "Putin spoke later."),
            Passage("c", "C", 0, 0, 0, "Scholz spoke last.")]


def test_a_confident_top_passage_ends_the_reading() -> None:
    reader = CountingReader({PASSAGES[0].text: [(0, 6, 0.9)], PASSAGES[1].text: [(0, 5, 0.95)]})
    pipeline = QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(PASSAGES))
    r = pipeline.answer("Who spoke?")
    assert reader.calls == [[1]]  # only the top passage was read
    assert r.text == "Macron" and r.score == pytest.approx(0.9, abs=1e-3)
    assert len(r.passages) == 3  # the answer still lists what retrieval found
    reader.calls.clear()
    full = QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(PASSAGES), early_exit=1.0)
    assert full.answer("Who spoke?").text == "Putin" and reader.calls == [[3]]


def test_an_unsure_top_passage_reads_the_rest_as_one_reading() -> None:
    reader = CountingReader({PASSAGES[0].text: [(0, 6, 0.3)], PASSAGES[2].text: [(0, 6, 0.8)]})  # 0.3: below the exit
    pipeline = QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(PASSAGES))
    staged = pipeline.answer_many(["Who spoke?", "Who else spoke?"])
    assert reader.calls == [[1, 1], [2, 2]]  # the top passages of both questions, then the rest of both
    at_once = QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(PASSAGES), early_exit=1.0)
    expected = at_once.answer("Who spoke?")
    assert [a.text for a in staged] == [expected.text] * 2 and expected.text == "Scholz"
    assert staged[0].score == pytest.approx(expected.score)
    assert [(c.article_id, c.start, c.end) for c in staged[0].citations] == [("c", 0, 6)]
    assert [a.text for a in staged[0].alternatives] == [a.text for a in expected.alternatives] == ["Macron"]


def test_given_passages_and_uncalibrated_readers_are_read_at_once() -> None:
    reader = CountingReader({PASSAGES[0].text: [(0, 6, 0.9)]})
    pipeline = QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(PASSAGES))
    pipeline.read("Who spoke?", PASSAGES)
    assert reader.calls == [[3]]
    reader.calls.clear()
    reader.calibration = None  # span scores are not probabilities: no early exit
    QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(PASSAGES)).answer("Who spoke?")
    assert reader.calls == [[3]]


def test_early_exit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert QA().settings.early_exit == 0.4
    monkeypatch.setenv("QA_EARLY_EXIT", "1")
    assert QA().settings.early_exit == 1.0


class QuestionReader(ScriptedReader):
    """Answers each question with the span scripted for it (on the first passage); remembers the questions."""

    def __init__(self, by_question: dict[str, tuple[int, int, float]]):
        super().__init__([])
        self.by_question = by_question
        self.asked: list[str] = []

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        readings = []
        for question, ps in items:
            self.asked.append(question)
            found = self.by_question.get(question)
            spans = [] if found is None else [Span(0, found[0], found[1], ps[0].text[found[0] : found[1]], found[2])]
            readings.append(Reading(spans, [0.1] * len(ps)))
        return readings


@pytest.mark.parametrize(("scores", "chosen", "read"), [
    ({"A?": (0, 6, 0.3), "B?": (0, 5, 0.7)}, "A?", ["A?", "B?"]),  # B is likelier, but not by the prior
    ({"A?": (0, 6, 0.1), "B?": (0, 5, 0.9)}, "B?", ["A?", "B?"]),  # only B is supported
    ({"A?": (0, 6, 0.9), "B?": (0, 5, 0.99)}, "A?", ["A?"]),  # B could not win: never read
    ({"A Macron?": (0, 6, 0.8), "B?": (0, 5, 0.6)}, "B?", ["A Macron?", "B?"]),  # A answers with its own words
])
def test_readings_of_a_follow_up_are_verified_by_reading(monkeypatch: pytest.MonkeyPatch, scores: dict,
                                                         chosen: str, read: list[str]) -> None:
    from qa.followup import FollowUp
    from qa.schema import Answer

    passages = [Passage("a", "A", 0, 0, 0, "Macron Putin spoke.")]
    reader = QuestionReader({q: (s, e, score) if q != "B?" else (7, 12, score) for q, (s, e, score) in scores.items()})
    pipeline = QA(reader=reader, embedder=FakeEmbedder(), retriever=FixedRetriever(passages))
    first, second = list(scores)
    monkeypatch.setattr(pipeline, "interpret", lambda q, h, f=None: FollowUp(q, first, alternatives=(second,)))
    answer = pipeline.answer("terse?", min_score=0.0, history=[Answer("earlier?", "x", 0.9)])
    assert answer.query == chosen and answer.question == "terse?" and reader.asked == read
    assert answer.text == ("Putin" if chosen == "B?" else "Macron")


@pytest.mark.parametrize(("text", "start", "expected", "shift"), [
    ("increased cooperation”", 10, "increased cooperation", 0),  # the closing half of a quotation
    ("“increased cooperation", 10, "increased cooperation", 1),  # the opening half
    ("“increased cooperation”", 10, "“increased cooperation”", 0),  # a whole quotation stays
    ("Monday", 3, "Monday", 0),
])
def test_spans_do_not_cut_quotations_in_half(text: str, start: int, expected: str, shift: int) -> None:
    from qa.answering import balanced

    span = balanced(Span(0, start, start + len(text), text, 0.5))
    assert span.text == expected and span.start == start + shift and span.end == span.start + len(expected)


def test_the_likeliest_right_candidate_is_the_answer() -> None:
    # a verifier that distrusts answers of the wrong type: the reader's favourite span ("the capital",
    # no name for a "who") loses to its runner-up, a name
    model = {"features": ["span_logit", "type_mismatch"], "mean": [0.0, 0.0], "scale": [1.0, 1.0],
             "coef": [1.0, -3.0], "intercept": 0.0}

    class Calibrated(ScriptedReader):
        calibration = {"given": model, "retrieved": model}

    passages = [Passage("a", "A", 0, 0, 0, "In the capital, Emmanuel Macron spoke.")]
    spans = [Span(0, 3, 14, "the capital", 0.6), Span(0, 16, 31, "Emmanuel Macron", 0.4)]
    r = QA(reader=Calibrated(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer(
        "Who spoke?", min_score=0.0)
    assert r.text == "Emmanuel Macron" and [a.text for a in r.alternatives] == ["the capital"]
    assert r.score > r.alternatives[0].score and r.reader_score == 0.4 and r.signals["type_mismatch"] == 0.0


def test_an_asked_abbreviation_is_answered_with_its_whole_name() -> None:
    # the reader's halves of "the Islamic State in Khorasan (IS-K)" become the whole name, one answer with
    # both spans' evidence; a span elsewhere that spells nothing out is halved beside it
    model = {"features": ["span_logit"], "mean": [0.0], "scale": [1.0], "coef": [1.0], "intercept": 0.0}

    class Calibrated(ScriptedReader):
        calibration = {"given": model, "retrieved": model}

    text = "The attack was claimed by Moscow, and by the Islamic State in Khorasan (IS-K), an ISIS cell."
    passages = [Passage("a", "A", 0, 0, 0, text)]
    at = text.index
    spans = [Span(0, at("Moscow"), at("Moscow") + 6, "Moscow", 0.5),
             Span(0, at("Khorasan"), at("Khorasan") + 8, "Khorasan", 0.4),
             Span(0, at("the Islamic"), at(" in Khorasan"), "the Islamic State", 0.3)]
    qa_ = QA(reader=Calibrated(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages))
    r = qa_.answer("What does IS-K stand for?", min_score=0.0)
    assert r.text == "Islamic State in Khorasan" and r.citations[0].start == at("Islamic State")
    assert [a.text for a in r.alternatives] == ["Moscow"] and r.alternatives[0].signals["not_spelled_out"] == 1.0
    # asked otherwise, the reader's favourite stands as it was
    assert qa_.answer("Who claimed the attack?", min_score=0.0).text == "Moscow"


@pytest.mark.parametrize(("cut", "expected"), [
    ("splinter cell, the Islamic State in Khorasan (IS-K", "splinter cell, the Islamic State in Khorasan (IS-K)"),
    ("the Islamic State in Khorasan (IS", "the Islamic State in Khorasan (IS-K)"),  # closed just after: taken whole
    ("IS-K), believed to be responsible", "believed to be responsible"),  # closed inside, opened before: left out
    ("Khorasan (IS-K)", "Khorasan (IS-K)"),
    ("Khorasan (IS-K), believed to be responsible (in part", "Khorasan (IS-K), believed to be responsible (in part, "
                                                          "officials said)"),
])
def test_spans_do_not_cut_brackets_in_half(cut: str, expected: str) -> None:
    from qa.answering import balanced

    passage = ("Macron claimed that the ISIS splinter cell, the Islamic State in Khorasan (IS-K), believed to be "
               "responsible (in part, officials said), had made attempts.")
    start = passage.index(cut)
    span = balanced(Span(0, start, start + len(cut), cut, 0.5), passage)
    assert span.text == expected and passage[span.start : span.end] == span.text
    # a bracket that closes far on, or never: the span ends before it
    far = "The bridge cost 410 million euros (of which the European Union paid 160 million through a fund."
    cut = "410 million euros (of which"
    at = far.index(cut)
    assert balanced(Span(0, at, at + len(cut), cut, 0.5), far).text == "410 million euros"


def test_a_quotation_opened_in_a_span_is_taken_whole() -> None:
    from qa.answering import balanced

    passage = "Macron said he has offered Russia “increased cooperation” to combat terrorism."
    start = passage.index("Russia")
    cut = "Russia “increased cooperation"
    span = balanced(Span(0, start, start + len(cut), cut, 0.5), passage)
    assert span.text == "Russia “increased cooperation”" and passage[span.start : span.end] == span.text
    # and one closed inside the span, opened just before it
    cut = "increased cooperation” to combat terrorism"
    start = passage.index(cut)
    span = balanced(Span(0, start, start + len(cut), cut, 0.5), passage)
    assert span.text == "“increased cooperation” to combat terrorism" and span.start == start - 1
    assert passage[span.start : span.end] == span.text
    # a quotation opened too far back: the span ends at its closing mark
    long = ("his government “proposed to the Russian services, as to our partners in the region, increased "
            "cooperation” in the fight against terrorism.")
    cut = "increased cooperation” in the fight against terrorism"
    start = long.index(cut)
    span = balanced(Span(0, start, start + len(cut), cut, 0.5), long)
    assert span.text == "increased cooperation" and long[span.start : span.end] == span.text
    ends = "“Taking into account the information available to our services, this may be useful to the Russians.” So."
    start = ends.index("the Russians")
    assert balanced(Span(0, start, start + 18, ends[start : start + 18], 0.5), ends).text == "the Russians"
    # an apostrophe is no closing mark
    said = "Macron’s offer of “cooperation”."
    assert balanced(Span(0, 0, 14, said[:14], 0.5), said).text == "Macron’s offer"
    # a quotation that closes only after the sentence ends is not reached for
    far = "He said “we will see. It may take weeks”."
    cut = far[: far.index(". It")]  # "He said “we will see"
    assert balanced(Span(0, 0, len(cut), cut, 0.5), far).text == cut


def test_near_identical_candidates_pool_their_evidence() -> None:
    passages = [Passage("a", "A", 0, 0, 0, "The bridge opened on Monday after five years of work."),
                Passage("b", "B", 0, 0, 0, "It opened on Monday. Rain fell on Tuesday.")]
    spans = [Span(1, 13, 19, "Monday", 0.5), Span(0, 18, 27, "on Monday", 0.4),
             Span(0, 21, 52, "Monday after five years of work", 0.3), Span(1, 34, 41, "Tuesday", 0.45)]
    r = QA(reader=ScriptedReader(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer(
        "When?", min_score=0.0)
    assert r.text == "Monday" and [a.text for a in r.alternatives] == ["Tuesday"]
    # the places of the merged candidates cite the kept text, each place once
    assert sorted((c.article_id, c.start) for c in r.citations) == [("a", 21), ("b", 13)]
    assert r.signals["places"] == pytest.approx(math.log(2), abs=1e-3)  # two places agree
    # the margin is against the best other text, "on Monday" included, as the verifier was fitted:
    # pooling adds places, it does not make the answer look unrivalled
    assert r.signals["margin"] == pytest.approx(0.5 - 0.45, abs=1e-3)
    alone = QA(reader=ScriptedReader([spans[0], Span(0, 18, 27, "on Monday", 0.48)]), embedder=FakeEmbedder(),
               retriever=FixedRetriever(passages)).answer("When?", min_score=0.0)
    assert alone.signals["margin"] == pytest.approx(0.02, abs=1e-3) and not alone.alternatives


def test_a_quoted_candidate_pools_with_the_same_words_unquoted() -> None:
    text = "Macron offered Russia “increased cooperation” to combat terrorism. Putin offered talks."
    passages = [Passage("a", "A", 0, 0, 0, text)]
    at = text.index("increased")
    spans = [Span(0, at, at + 21, "increased cooperation", 0.4),
             Span(0, at - 1, at + 22, "“increased cooperation”", 0.3),
             Span(0, text.index("talks"), text.index("talks") + 5, "talks", 0.35)]
    r = QA(reader=ScriptedReader(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer(
        "What was offered?", min_score=0.0)
    assert r.text == "increased cooperation" and [a.text for a in r.alternatives] == ["talks"]
    # a longer one that quotes the same words holds them, marks aside
    longer = "“increased cooperation” to combat terrorism"
    spans.append(Span(0, at - 1, at - 1 + len(longer), longer, 0.32))
    r = QA(reader=ScriptedReader(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer(
        "What was offered?", min_score=0.0)
    assert r.text == "increased cooperation" and [a.text for a in r.alternatives] == ["talks"]


class KeywordRetriever:
    """Another retriever, plugged in through the public protocol: word overlap over a few passages,
    honouring the filters; it records what the pipeline passed it."""

    def __init__(self, passages: list[tuple[Passage, str]]):  # (passage, publication date)
        self.passages = passages
        self.calls: list[dict[str, Any]] = []

    def retrieve(self, question: str, top_passages: int | None = None, context: str = "",
                 articles: Any = None, where: Any = None) -> list[Passage]:
        self.calls.append({"question": question, "context": context, "articles": dict(articles or {})})
        words = set(question.lower().split())
        kept = [p for p, date in self.passages if where is None or where.matches(date, None, p.article_id)]
        kept.sort(key=lambda p: -len(words & set(p.text.lower().split())))
        return kept[: top_passages or 5]


def test_another_retriever_plugs_in_through_the_protocol() -> None:
    from qa.filters import Filters

    old = Passage("old.txt", "Old", 0, 0, 0, "Karl Olsen built the bridge.")
    new = Passage("new.txt", "New", 0, 0, 0, "Maria Lopez built the bridge.")
    retriever = KeywordRetriever([(old, "2020-01-01"), (new, "2024-03-01")])
    pipeline = QA(reader=FakeReader(), embedder=FakeEmbedder(), retriever=retriever, min_score=0.0)
    assert pipeline.answer("Who built the bridge?").text in {"Karl Olsen", "Maria Lopez"}
    recent = pipeline.answer("Who built the bridge?", where=Filters.parse(since="2024-01-01"))
    assert recent.text == "Maria Lopez" and all(p.article_id == "new.txt" for p in recent.passages)
    follow = pipeline.answer("What did he build?", history=[recent])
    assert retriever.calls[-1]["articles"] == {"new.txt": 1.0} and "Maria Lopez" in retriever.calls[-1]["context"]
    assert follow.citations and follow.citations[0].article_id == "new.txt"


def test_a_weak_reading_is_read_again_with_the_passages_names_for_its_places() -> None:
    passages = [Passage("a", "A", 0, 0, 0, "France offered Russia cooperation on Monday.")]

    class Names(ScriptedReader):
        """Sure of its span only when the question's names are in the passage, as the real reader is."""

        def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
            return [Reading([Span(0, 22, 33, "cooperation", 0.9 if "France" in q else 0.1)], [0.1]) for q, _ in items]

    qa = QA(reader=Names([]), embedder=FakeEmbedder(), retriever=FixedRetriever(passages))
    r = qa.answer("What did Paris offer the Kremlin?", min_score=0.0)
    assert r.text == "cooperation" and r.score == 0.9 and r.query == "What did France offer Russia?"
    assert qa.answer("What did France offer Russia?", min_score=0.0).query == "What did France offer Russia?"


def test_a_follow_up_typed_in_lower_case_finds_its_names() -> None:
    passage = Passage("a", "A", 0, 0, 0, "Kremlin spokeswoman Maria Zakharova accused the United States on Monday.")
    earlier = Answer("Who accused the United States?", "Maria Zakharova", 0.9,
                     [Citation("a", "A", 0, passage.text, 29, 44, 0, len(passage.text))], passages=[passage])
    qa = QA(reader=ScriptedReader([]), embedder=FakeEmbedder(), retriever=FixedRetriever([passage]))
    read = qa.interpret("when did zakharova accuse them?", [earlier])
    assert read.question == "when did zakharova accuse them?"  # as typed
    assert read.query == "when did Zakharova accuse United States?"


def test_an_earlier_question_typed_in_lower_case_lends_its_names_to_a_bare_follow_up() -> None:
    passage = Passage("a", "A", 0, 0, 0, "Russia's former President Dmitry Medvedev spoke on Friday.")
    earlier = Answer("who is medvedev", "President", 0.9,
                     [Citation("a", "A", 0, passage.text, 26, 35, 0, len(passage.text))], passages=[passage])
    qa = QA(reader=ScriptedReader([]), embedder=FakeEmbedder(), retriever=FixedRetriever([passage]))
    # "Who is Medvedev?" answered with his role: "he" is still Medvedev, not "President"
    assert qa.interpret("what did he say", [earlier]).query == "what did Medvedev say"


def test_a_weak_reading_naming_the_articles_own_site_is_read_again_without_it(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {"id": "b", "title": "A bridge", "site": "Daily Rhône", "text": "The mayor opened the bridge on Monday."}
    (corpus / "wire.json").write_text(json.dumps([record]), encoding="utf-8")

    class Sites(ScriptedReader):
        """Unsure whenever the question names a source the passage does not, as the real reader is."""

        def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
            return [Reading([Span(0, 31, 37, "Monday", 0.1 if "Rhône" in q else 0.9)], [0.1]) for q, _ in items]

    qa = QA(corpus=corpus, index=tmp_path / "index", reader=Sites([]), embedder=FakeEmbedder())
    r = qa.answer("According to the Daily Rhône, when did the bridge open?", min_score=0.0)
    assert r.text == "Monday" and r.score == 0.9 and r.query == "When did the bridge open?"
    assert r.citations[0].site == "Daily Rhône"


class WindowReader(CalibratedReader):
    """Reads "Who called?" the way the real reader misreads a long passage: in more than three sentences it
    favours "Anna Berg" at 0.3; in three sentences that hold the call, "Carl Dahl" at 0.8."""

    def __init__(self) -> None:
        super().__init__([])
        self.calls: list[list[int]] = []

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        self.calls.append([len(ps) for _, ps in items])
        readings = []
        for _, ps in items:
            spans = []
            for n, p in enumerate(ps):
                name, score = ("Carl Dahl", 0.8) if p.last - p.first < 3 and "called" in p.text else ("Anna Berg", 0.3)
                if name in p.text:
                    spans.append(Span(n, p.text.index(name), p.text.index(name) + len(name), name, score))
            readings.append(Reading(sorted(spans, key=lambda s: -s.score), [0.1] * len(ps)))
        return readings


def call_corpus(tmp_path: Path) -> Path:
    """A six-sentence article whose fourth sentence says who called."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "call.txt").write_text("A call\n\nAnna Berg spoke first. The weather was mild. Trains ran late. "
                                     "Carl Dahl called at noon. Nobody answered. The office closed.\n")
    return corpus


def merged_passage(pipeline: QA) -> Passage:
    """The whole call article as one passage of six sentences, as two merged hits are."""
    from qa.retrieval import passage_of

    index = pipeline.index()
    return passage_of(index, next(iter(index.articles)), 0, 5)


def test_a_weak_answer_gets_a_closer_look(tmp_path: Path) -> None:
    corpus = call_corpus(tmp_path)
    pipeline = QA(corpus=corpus, index=tmp_path / "index", reader=WindowReader(), embedder=FakeEmbedder())
    merged = merged_passage(pipeline)
    weak = pipeline.read_many([("Who called?", [merged])], retrieved=True)[0]
    assert weak.text == "Carl Dahl" and weak.score == pytest.approx(0.8, abs=1e-3)
    assert pipeline.reader.calls == [[1], [4]]  # the passage, then every window of three sentences in it
    windows = [(p.first, p.last) for p in weak.passages]
    assert windows == [(0, 2), (1, 3), (2, 4), (3, 5)] and weak.citations[0].sentence == "Carl Dahl called at noon."
    every = QA(corpus=corpus, index=tmp_path / "index", reader=WindowReader(), embedder=FakeEmbedder(), early_exit=1.0)
    every.index()
    assert every.read_many([("Who called?", [merged])], retrieved=True)[0].text == "Carl Dahl"  # no early exit
    off = QA(corpus=corpus, index=tmp_path / "index", reader=WindowReader(), embedder=FakeEmbedder(), closer_look=0.0)
    off.index()
    assert off.read_many([("Who called?", [merged])], retrieved=True)[0].text is None  # withheld at 0.3
    given = pipeline.read("Who called?", [merged])  # a given passage is read as given
    assert given.text is None and pipeline.reader.calls[-1] == [1]


class SureWindowReader(WindowReader):
    """As ``WindowReader``, but sure of "Anna Berg" (0.6) in a long passage: an answer shown, from a sentence
    that has none of the question's words."""

    def read_many(self, items: list[tuple[str, list[Passage]]]) -> list[Reading]:
        readings = super().read_many(items)
        return [Reading([replace(s, score=0.6) if s.text == "Anna Berg" else s for s in r.spans], r.no_answer)
                for r in readings]


def test_an_answer_from_a_sentence_without_the_questions_words_gets_a_closer_look(tmp_path: Path) -> None:
    pipeline = QA(corpus=call_corpus(tmp_path), index=tmp_path / "index", reader=SureWindowReader(),
                  embedder=FakeEmbedder())
    merged = merged_passage(pipeline)
    answer = pipeline.read_many([("Who called?", [merged])], retrieved=True)[0]
    assert answer.text == "Carl Dahl" and pipeline.reader.calls == [[1], [4]]  # shown at 0.6, read again
    # an answer from a sentence that has the question's words is left as read
    spoke = pipeline.read_many([("Who spoke first?", [merged])], retrieved=True)[0]
    assert spoke.text == "Anna Berg" and pipeline.reader.calls[-1] == [1]


def test_runner_ups_are_scored_as_runner_ups() -> None:
    # the same two candidates with and without the reader's runner-up rescaling: the answer keeps its
    # probability, the runner-up's is the rescaled one (and an abstention's best candidate keeps its own)
    model = {"features": ["span_logit"], "mean": [0.0], "scale": [1.0], "coef": [1.0], "intercept": 0.0}
    scale = {"intercept": -1.5, "slope": 0.7}
    passages = [Passage("a", "A", 0, 0, 0, "In the capital, Emmanuel Macron spoke.")]
    spans = [Span(0, 16, 31, "Emmanuel Macron", 0.6), Span(0, 3, 14, "the capital", 0.4)]

    def ask(calibration: dict, min_score: float) -> Answer:
        class Calibrated(ScriptedReader):
            pass

        Calibrated.calibration = calibration
        return QA(reader=Calibrated(spans), embedder=FakeEmbedder(), retriever=FixedRetriever(passages)).answer(
            "Who spoke?", min_score=min_score)

    plain = ask({"given": model, "retrieved": model}, 0.0)
    rescaled = ask({"given": model, "retrieved": model, "alternatives": scale}, 0.0)
    assert rescaled.text == plain.text == "Emmanuel Macron" and rescaled.score == plain.score
    p = plain.alternatives[0].score
    expected = 1 / (1 + math.exp(-(scale["intercept"] + scale["slope"] * math.log(p / (1 - p)))))
    assert rescaled.alternatives[0].score == pytest.approx(expected) and expected < p
    withheld = ask({"given": model, "retrieved": model, "alternatives": scale}, 0.99)
    assert withheld.text is None and withheld.alternatives[0].score == plain.score
    assert withheld.alternatives[1].score == pytest.approx(expected)
