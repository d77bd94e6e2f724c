"""The real packaged models, end to end on the seed article (slower; still part of CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import qa.cli
from qa.pipeline import QA

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def real_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    from tests.conftest import SEED

    root = tmp_path_factory.mktemp("e2e")
    (root / "corpus").mkdir()
    (root / "corpus" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    return QA(corpus=root / "corpus", index=root / "index")


def test_answers_with_a_citation_to_the_sentence(real_qa: QA) -> None:
    r = real_qa.answer("Who offered Russia cooperation?")
    assert r.text is not None and "Macron" in r.text
    c = r.citations[0]
    article = real_qa.index().articles[c.article_id]
    assert article.text[c.start : c.end] == r.text
    assert "cooperation" in c.sentence and r.text in c.sentence


@pytest.mark.parametrize(("question", "expected"), [
    ("How many Russians were killed in the Moscow attack?", "137"),
    ("Which broadcaster reported Macron's remarks?", "BFMTV"),
    ("Who is the French Interior Minister?", "Darmanin"),
])
def test_more_seed_questions(real_qa: QA, question: str, expected: str) -> None:
    r = real_qa.answer(question)
    assert r.text is not None and expected in r.text


@pytest.mark.parametrize("question", [
    "What is the capital of Australia?",
    "Who won the 2018 FIFA World Cup final?",
])
def test_abstains_when_the_articles_do_not_say(real_qa: QA, question: str) -> None:
    assert real_qa.answer(question).text is None


def test_default_api_and_cli_use_the_packaged_models(real_qa: QA, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = real_qa.settings.corpus
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_INDEX", str(real_qa.settings.index))
    result = CliRunner().invoke(qa.cli.cli, ["ask", "--json", "Who offered Russia cooperation?"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "Macron" in data["text"] and data["citations"][0]["sentence_index"] == 0
    assert Path(real_qa.settings.index, "CURRENT").exists()

    import qa as package

    monkeypatch.setattr(package, "_default", None)
    r = package.answer("Who offered Russia cooperation?")
    assert r.text is not None and "Macron" in r.text and 0.0 <= r.score <= 1.0
    assert r.citations[0].title and r.citations[0].sentence.startswith("Fresh from engaging")


def test_packaged_reader_is_calibrated_and_doubts_a_swapped_name(real_qa: QA) -> None:
    supported = real_qa.answer("Who is the French Interior Minister?")
    assert supported.text is not None and "Darmanin" in supported.text
    assert supported.signals["any_name_missing"] == 0.0 and supported.reader_score > 0
    # the same question about a minister the article never mentions: the name check lowers the score
    swapped = real_qa.answer("Who is the Belgian Interior Minister?")
    assert swapped.signals["any_name_missing"] == 1.0
    assert swapped.score < supported.score and swapped.text is None


def test_a_conversation_about_the_seed_article(real_qa: QA) -> None:
    """The issue's own example: the follow-up knows who "he" is, and "who else" asks past the first answer."""
    c = real_qa.chat()
    assert "Macron" in (c.ask("Who offered Russia cooperation?").text or "")
    r = c.ask("What did he propose to the Russian services?")
    assert r.query == "What did Emmanuel Macron propose to the Russian services?"
    assert r.text is not None and "increased cooperation" in r.text
    assert c.ask("On which day did he make the offer?").text == "Monday"
    c.reset()
    assert "Zakharova" in (c.ask("Which Kremlin spokeswoman accused the United States?").text or "")
    assert c.ask("What is her title?").query == "What is Maria Zakharova's title?"
    other = c.ask("Who else made similar claims?")
    assert other.text is not None and "Medvedev" in other.text


def test_what_she_said_next(real_qa: QA) -> None:
    """ "What did she say next?" reads on from the last answer, in the speaker's own sentences only."""
    c = real_qa.chat()
    assert c.ask("Who is the Kremlin spokeswoman?").text == "Maria Zakharova"
    said = c.ask("What did she say next?")
    assert said.query == "What did Maria Zakharova say next?"
    assert said.text is not None and "blame ISIS" in said.text
    assert c.ask("What did she say next?").text is None  # Medvedev speaks after her, not she
    c.reset()
    c.ask("What did Macron say about cooperation?")
    assert "We will see how the context evolves" in (c.ask("What did he say next?").text or "")


def test_seed_conversations_follow_ups_beat_no_history(real_qa: QA) -> None:
    from qa.evaluation import evaluate_conversations

    report = evaluate_conversations(Path(__file__).parent.parent / "eval" / "seed_conversations.jsonl",
                                    qa=real_qa, progress=False)
    history, alone = report.runs["complete,context,focus"], report.runs["none"]
    assert history["first"].f1 == alone["first"].f1  # a first question has no history to use
    assert history["follow-up"].f1 > alone["follow-up"].f1 + 0.1


def test_packaged_reader_has_a_follow_up_threshold(real_qa: QA) -> None:
    reader = real_qa.reader
    assert 0.0 < reader.min_score_follow_up < reader.min_score_retrieved
    assert real_qa.threshold(retrieved=True, follow_up=True) == reader.min_score_follow_up
