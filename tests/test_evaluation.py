"""Evaluation: SQuAD metrics, question files, end-to-end and reader runs with fakes, calibration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa.errors import QAError
from qa.evaluation import (
    QuestionResult,
    calibrate_min_score,
    contains_answer,
    evaluate,
    exact_match,
    f1,
    format_report,
    load_questions,
    percentile,
    plot_paths,
    score_prediction,
    write_report,
)
from qa.pipeline import QA, normalize_answer

ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = ROOT / "eval" / "seed_questions.jsonl"
# The fakes come from conftest fixtures (fake_reader, fake_embedder), not imports, so this
# works whether or not tests/ is a package.


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("QA_CACHE", str(cache))
    return cache


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """Two one-line articles; FakeReader answers with the first two capitalised words it meets."""
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "lovelace.txt").write_text(
        "Ada Lovelace wrote the first computer program. She worked with Charles Babbage on the engine.\n",
        encoding="utf-8",
    )
    (corpus / "hopper.txt").write_text(
        "Grace Hopper built the first compiler. Her compiler translated English words into machine code.\n",
        encoding="utf-8",
    )
    return corpus


@pytest.fixture
def tiny_questions(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "lovelace", "question": "Who wrote the first computer program?",
         "answers": ["Ada Lovelace", "Lovelace"]},
        {"id": "hopper", "question": "Who built the first compiler?", "answers": ["Hopper"]},
        {"id": "neptune", "question": "Which moons orbit Neptune?", "answers": []},
        {"id": "spacecraft", "question": "What was the first spacecraft?", "answers": []},
    ])


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    data = {"version": "v2.0", "data": [
        {"title": "Computing_pioneers", "paragraphs": [
            {"context": "Ada Lovelace wrote the first computer program. She worked with Charles Babbage.",
             "qas": [
                 {"id": "q1", "question": "Who wrote the first computer program?", "is_impossible": False,
                  "answers": [{"text": "Ada Lovelace", "answer_start": 0},
                              {"text": "Lovelace", "answer_start": 4}]},
                 {"id": "q2", "question": "Which moons orbit Neptune?", "is_impossible": True,
                  "answers": [], "plausible_answers": [{"text": "Charles Babbage", "answer_start": 63}]},
             ]},
            {"context": "Grace Hopper built the first compiler.",
             "qas": [{"id": "q3", "question": "Who built the first compiler?",
                      "answers": [{"text": "Grace Hopper", "answer_start": 0}]}]},
        ]},
    ]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def fakes(fake_reader: Any, fake_embedder: Any) -> dict[str, Any]:
    return {"reader": fake_reader, "embedder": fake_embedder}


def fake_qa(corpus: Path, index: Path, fakes: dict[str, Any]) -> QA:
    return QA(corpus=corpus, index=index, **fakes)


def row(score: float, answers: list[str], candidate: str | None,
        prediction: str | None = None) -> QuestionResult:
    em, f = score_prediction(prediction, answers)
    cem, cf = score_prediction(candidate, answers)
    return QuestionResult("x", "q?", answers, prediction, score, 0.0, em, f, None, None, 1.0,
                          candidate=candidate, candidate_exact=cem, candidate_f1=cf)


# -- metrics -------------------------------------------------------------------------------------


def test_normalisation_is_squads() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_answer("an Apple a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_exact_and_f1_match_the_official_script() -> None:
    assert exact_match("Denver Broncos", "the Denver Broncos.") == 1.0
    assert exact_match("Denver Broncos", "Broncos") == 0.0
    assert f1("Denver Broncos", "Broncos") == pytest.approx(2 / 3)
    assert f1("the cat sat", "cat sat on mat") == pytest.approx(2 / 3)  # P 2/4, R 2/2
    assert f1("Santa Clara", "Levi's Stadium") == 0.0
    assert f1("", "") == 1.0 and f1("", "Broncos") == 0.0 and f1("Broncos", "") == 0.0


def test_score_takes_the_best_gold_answer() -> None:
    assert score_prediction("Macron", ["Emmanuel Macron", "Macron"]) == (1.0, 1.0)
    em, f = score_prediction("President Macron", ["Emmanuel Macron", "Macron"])
    assert em == 0.0 and f == pytest.approx(2 / 3)


def test_unanswerable_questions_reward_only_abstaining() -> None:
    assert score_prediction(None, []) == (1.0, 1.0)
    assert score_prediction("Macron", []) == (0.0, 0.0)
    assert score_prediction(None, ["Macron"]) == (0.0, 0.0)
    assert score_prediction("Macron", ["the", ""]) == (0.0, 0.0)  # golds normalising to nothing don't count


def test_contains_answer_matches_whole_words() -> None:
    assert contains_answer("Mr Macron, who has become...", ["Emmanuel Macron", "Macron"])
    assert not contains_answer("The Macronist camp", ["Macron"])


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert percentile(list(range(101)), 95) == 95
    assert percentile([], 50) is None


# -- question files ------------------------------------------------------------------------------


def test_jsonl_questions(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "question": " Who? ", "answers": ["Macron", "Macron"]},
        {"question": "Where?", "answers": []},
    ])
    first, second = load_questions(path)
    assert (first.id, first.question, first.answers, first.answerable) == ("a", "Who?", ["Macron"], True)
    assert second.id == "2" and second.answers == [] and not second.answerable


@pytest.mark.parametrize("content, message", [
    ('{"question": "Who?", "answers": ["x"]}\n{not json\n', "line 2"),
    ('{"question": "", "answers": []}\n', "non-empty"),
    ('{"question": "Who?"}\n', "answers"),
    ('{"question": "Who?", "answers": [3]}\n', "string"),
    ("", "empty"),
    ('{"version": "v2.0", "data": [{"title": "t"}]}', "SQuAD"),
])
def test_malformed_question_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QAError, match=message):
        load_questions(path)


def test_missing_question_file(tmp_path: Path) -> None:
    with pytest.raises(QAError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")


def test_squad_questions_keep_context_and_title(squad_file: Path) -> None:
    q1, q2, q3 = load_questions(squad_file)
    assert q1.id == "q1" and q1.answers == ["Ada Lovelace", "Lovelace"] and q1.answerable
    assert q1.title == "Computing_pioneers" and q1.context.startswith("Ada Lovelace wrote")
    assert q2.answers == [] and not q2.answerable  # is_impossible: plausible answers are not gold
    assert q3.context == "Grace Hopper built the first compiler."


def test_xz_question_files_read_as_plain_ones(squad_file: Path, tmp_path: Path) -> None:
    import lzma

    packed = tmp_path / "pairs.json.xz"  # what qa.training.pairs writes
    packed.write_bytes(lzma.compress(squad_file.read_bytes()))
    assert load_questions(packed) == load_questions(squad_file)
    broken = tmp_path / "broken.json.xz"
    broken.write_bytes(b"not xz")
    with pytest.raises(QAError, match="cannot read question file"):
        load_questions(broken)


def test_seed_questions_are_grounded_in_the_article() -> None:
    article = (ROOT / "seeds" / "000_6932526c1d07f25d.txt").read_text(encoding="utf-8")
    questions = load_questions(SEED_QUESTIONS)
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 30 and len(questions) - len(answerable) >= 8
    for q in answerable:
        assert all(a in article for a in q.answers), q.id


# -- runs --------------------------------------------------------------------------------------


def test_end_to_end_with_fakes(
    tmp_path: Path, tiny_corpus: Path, tiny_questions: Path, fakes: dict[str, Any],
) -> None:
    qa = fake_qa(tiny_corpus, tmp_path / "index", fakes)
    report = evaluate(tiny_questions, qa=qa, progress=False, out=tmp_path / "out" / "report.json")
    rows = {r.id: r for r in report.rows}
    assert rows["lovelace"].prediction == "Ada Lovelace" and rows["lovelace"].exact == 1.0
    assert rows["hopper"].prediction == "Grace Hopper" and rows["hopper"].f1 == pytest.approx(2 / 3)
    assert rows["neptune"].prediction is None and rows["neptune"].exact == 1.0
    assert rows["spacecraft"].prediction is not None and rows["spacecraft"].f1 == 0.0
    assert rows["lovelace"].cited_article == "lovelace.txt" and rows["lovelace"].citation_ok
    assert all(r.latency_ms > 0 for r in report.rows)
    assert (report.questions, report.answerable, report.unanswerable) == (4, 2, 2)
    assert report.exact == pytest.approx(0.5) and report.f1 == pytest.approx((1 + 2 / 3 + 1) / 4)
    assert report.has_ans_exact == 0.5 and report.no_ans_exact == 0.5
    assert report.retrieval_recall == 1.0 and report.citation_accuracy == 1.0
    assert report.abstention_precision == 1.0 and report.abstention_recall == 0.5
    assert report.min_score == fakes["reader"].min_score and report.top_passages == qa.settings.top_passages
    saved = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert saved["f1"] == pytest.approx(report.f1) and len(saved["rows"]) == 4
    assert saved["rows"][0]["answers"] == ["Ada Lovelace", "Lovelace"]
    text = format_report(report)
    assert "EM" in text and "retrieval recall@10" in text and "50.0%" in text


def test_limit_and_min_score(
    tmp_path: Path, tiny_corpus: Path, tiny_questions: Path, fakes: dict[str, Any],
) -> None:
    qa = fake_qa(tiny_corpus, tmp_path / "index", fakes)
    report = evaluate(tiny_questions, qa=qa, limit=2, min_score=0.99, progress=False)
    assert report.questions == 2 and report.min_score == 0.99
    assert [r.prediction for r in report.rows] == ["Ada Lovelace", "Grace Hopper"]  # both score 1.0
    strict = evaluate(tiny_questions, qa=qa, min_score=1.01, progress=False)
    assert all(r.prediction is None for r in strict.rows)
    assert strict.rows[0].candidate == "Ada Lovelace"  # held back, kept for calibration
    assert strict.citation_accuracy is None and strict.abstention_precision == 0.5


def test_reader_mode_reads_the_gold_paragraph(squad_file: Path, fakes: dict[str, Any]) -> None:
    qa = QA(**fakes)
    report = evaluate(squad_file, mode="reader", qa=qa, progress=False)
    rows = {r.id: r for r in report.rows}
    assert rows["q1"].prediction == "Ada Lovelace" and rows["q1"].exact == 1.0
    assert rows["q1"].cited_article == "Computing_pioneers" and rows["q1"].citation_ok
    assert rows["q1"].cited_sentence == "Ada Lovelace wrote the first computer program."
    assert rows["q2"].prediction is None and rows["q2"].f1 == 1.0
    assert rows["q3"].exact == 1.0
    assert report.retrieval_recall is None and report.corpus is None
    assert "retrieval recall" not in format_report(report)


def test_reader_mode_needs_contexts(tiny_questions: Path, fakes: dict[str, Any]) -> None:
    with pytest.raises(QAError, match="context"):
        evaluate(tiny_questions, mode="reader", qa=QA(**fakes), progress=False)


def test_bad_arguments(tiny_questions: Path) -> None:
    with pytest.raises(QAError, match="mode"):
        evaluate(tiny_questions, mode="retriever", progress=False)
    with pytest.raises(QAError, match="limit"):
        evaluate(tiny_questions, limit=0, progress=False)


def test_squad_end_to_end_builds_a_corpus_of_its_articles(
    squad_file: Path, cache_in_tmp: Path, fakes: dict[str, Any],
) -> None:
    report = evaluate(squad_file, **fakes, progress=False)
    corpus_file = next(cache_in_tmp.rglob("articles.json"))
    records = json.loads(corpus_file.read_text(encoding="utf-8"))
    assert [r["title"] for r in records] == ["Computing pioneers"]
    assert records[0]["text"].split("\n\n")[1] == "Grace Hopper built the first compiler."
    assert report.corpus == str(corpus_file.parent)
    assert report.rows[0].cited_article == "articles.json#Computing_pioneers"
    assert report.rows[0].exact == 1.0 and report.rows[0].citation_ok and report.retrieval_recall == 1.0
    mtime = corpus_file.stat().st_mtime_ns
    evaluate(squad_file, **fakes, progress=False)
    assert corpus_file.stat().st_mtime_ns == mtime  # reused, so its index stays valid


def test_hide_half_asks_the_left_out_articles_questions_as_unanswerable(
    tmp_path: Path, cache_in_tmp: Path, fakes: dict[str, Any],
) -> None:
    def article(title: str, context: str, qid: str, question: str, answer: str) -> dict[str, Any]:
        qas = [{"id": qid, "question": question, "answers": [{"text": answer, "answer_start": 0}]}]
        return {"title": title, "paragraphs": [{"context": context, "qas": qas}]}

    path = tmp_path / "three.json"
    path.write_text(json.dumps({"version": "1.1", "data": [
        article("Compilers", "Grace Hopper built the first compiler.", "a", "Who built the first compiler?",
                "Grace Hopper"),
        article("Programs", "Ada Lovelace wrote the first computer program.", "b",
                "Who wrote the first computer program?", "Ada Lovelace"),
        article("Relativity", "Albert Einstein published relativity in 1905.", "c", "Who published relativity?",
                "Albert Einstein"),
    ]}), encoding="utf-8")
    report = evaluate(path, **fakes, hide_half=True, progress=False)
    records = json.loads(next(cache_in_tmp.rglob("articles.json")).read_text(encoding="utf-8"))
    assert [r["title"] for r in records] == ["Compilers", "Relativity"]  # the 2nd article is left out
    by_id = {r.id: r for r in report.rows}
    assert by_id["a"].answers == ["Grace Hopper"] and by_id["a"].exact == 1.0
    assert by_id["b"].answers == [] and by_id["b"].retrieved is None  # unanswerable now
    assert (report.answerable, report.unanswerable) == (2, 1)
    full = evaluate(path, **fakes, progress=False)
    assert full.corpus != report.corpus  # the full corpus is cached apart
    with pytest.raises(QAError, match="SQuAD file"):
        evaluate(path, **fakes, mode="reader", hide_half=True, progress=False)


def test_explicit_corpus_gets_its_own_index(
    tiny_corpus: Path, tiny_questions: Path, cache_in_tmp: Path, fakes: dict[str, Any],
) -> None:
    report = evaluate(tiny_questions, corpus=tiny_corpus, **fakes, progress=False)
    assert report.rows[0].prediction == "Ada Lovelace"
    assert Path(report.index).is_relative_to(cache_in_tmp)  # the main index/ is left alone


def test_write_report_replaces_atomically(
    tmp_path: Path, tiny_corpus: Path, tiny_questions: Path, fakes: dict[str, Any],
) -> None:
    report = evaluate(tiny_questions, qa=fake_qa(tiny_corpus, tmp_path / "index", fakes), progress=False)
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    write_report(report, target)
    assert json.loads(target.read_text(encoding="utf-8"))["questions"] == 4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


# -- calibration ------------------------------------------------------------------------------


def test_calibration_picks_the_f1_maximising_threshold() -> None:
    rows = [
        row(0.9, ["Ada"], "Ada"), row(0.8, ["Bob"], "Bob"),  # right answers, confident
        row(0.5, [], "Cy"),  # unanswerable: answering it costs 1
        row(0.4, ["Dan"], "Dan"),
        row(0.3, [], "Eve"),
    ]
    # Answering down to 0.8 scores 4/5; also taking 0.5 and 0.4 only ties, and ties keep the higher.
    best = calibrate_min_score(rows)
    assert best.min_score == 0.8 and best.f1 == pytest.approx(4 / 5) and best.answered == 2


def test_calibration_uses_candidates_held_back_and_ties_move_together() -> None:
    rows = [row(0.6, ["Ada"], "Ada"), row(0.6, [], "Xi"), row(0.6, [], "Yu"), row(0.2, ["Bob"], None)]
    best = calibrate_min_score(rows)
    assert best.min_score > 0.6 and best.answered == 0 and best.f1 == pytest.approx(2 / 4)
    partial = calibrate_min_score([row(0.7, ["Denver Broncos"], "Broncos"), row(0.1, [], "Zed")])
    assert partial.min_score == 0.7 and partial.f1 == pytest.approx((2 / 3 + 1) / 2)
    assert partial.exact == pytest.approx(1 / 2)
    assert calibrate_min_score([]) is None


def test_report_carries_calibration(
    tmp_path: Path, tiny_corpus: Path, tiny_questions: Path, fakes: dict[str, Any],
) -> None:
    report = evaluate(tiny_questions, qa=fake_qa(tiny_corpus, tmp_path / "index", fakes), min_score=0.0,
                      progress=False)
    # Right answers score 1.0, the wrong one to the unanswerable question 1/3: answer only above it.
    assert 1 / 3 < report.calibration.min_score <= 1.0
    assert report.calibration.f1 > report.f1
    assert "best min_score" in format_report(report)


def test_report_measures_calibration_and_writes_its_plots(
    tmp_path: Path, tiny_corpus: Path, tiny_questions: Path, fakes: dict[str, Any],
) -> None:
    out = tmp_path / "out" / "report.json"
    report = evaluate(tiny_questions, qa=fake_qa(tiny_corpus, tmp_path / "index", fakes), min_score=0.0,
                      progress=False, out=out)
    scored = [r for r in report.rows if r.candidate is not None]
    assert sum(b["n"] for b in report.reliability) == len(scored)
    # by hand: each row's distance between its score and whether it was right, averaged within bins
    bins: dict[int, list[Any]] = {}
    for r in scored:
        bins.setdefault(min(9, int(r.score * 10)), []).append(r)
    expected = sum(abs(sum(r.score for r in rs) / len(rs) - sum(r.right for r in rs) / len(rs)) * len(rs)
                   for rs in bins.values()) / len(scored)
    assert report.ece == pytest.approx(expected)
    assert "calibration (ECE)" in format_report(report)
    for plot in plot_paths(out):
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", plot
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["ece"] == pytest.approx(report.ece) and "reader_score" in saved["rows"][0]


def test_one_threshold_sweep_serves_every_chooser() -> None:
    import math

    from qa.evaluation.metrics import abstention_threshold, sweep_threshold
    from qa.training.calibration import verifier_threshold
    from qa.training.packaging import reader_threshold

    # answered items gain, abstaining ones keep their abstain value; equal scores flip together
    assert sweep_threshold([0.9, 0.5, 0.5, 0.2], [1, 1, 1, 0], [0, 0, 1, 1]) == (0.5, 4.0)
    assert sweep_threshold([0.9, 0.5, 0.5, 0.2], [1, 1, 0, 0], [0, 0, 1, 1]) == (0.9, 3.0)  # a tie: abstain
    assert sweep_threshold([0.9, 0.5, 0.5, 0.2], [1, 0, 0, 0], [0, 1, 1, 1]) == (0.9, 4.0)
    never, total = sweep_threshold([0.3, 0.1], [0, 0], [1, 1])
    assert never == math.nextafter(0.3, math.inf) and total == 2.0  # showing nothing is best
    assert abstention_threshold([0.1, 0.4, 0.2, 0.3], 0.5) == 0.3 and abstention_threshold([], 0.5) == 0.0

    rows = [{"answers": ["a"], "f1": 1.0}, {"answers": ["b"], "f1": 0.0}, {"answers": [], "f1": 0.0}]
    assert verifier_threshold(rows, [0.8, 0.6, 0.4], "f1", 0.5) == 0.8
    assert verifier_threshold(rows, [0.8, 0.6, 0.4], "abstain", 0.5) == 0.4
    pos = [{"score": 0.8, "prediction": "a", "answers": [{"text": "a"}]},
           {"score": 0.3, "prediction": "b", "answers": [{"text": "b"}]}]
    neg = [{"score": 0.2}, {"score": 0.5}]
    assert reader_threshold(pos, neg, min_abstain=0.0) == 0.8  # F1-best: the 0.3 answer is not worth the 0.5 pair
    assert reader_threshold(pos, neg, min_abstain=0.0, rule="abstain") == 0.2
    assert reader_threshold(pos, [{"score": 0.1}, {"score": 0.85}], min_abstain=0.0) == 0.3
    assert reader_threshold(pos, [{"score": 0.1}, {"score": 0.85}], min_abstain=0.99) == 0.85  # raised to abstain
