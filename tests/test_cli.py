from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import qa.cli
from qa.pipeline import QA
from tests.conftest import FakeEmbedder, FakeReader


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, seed_corpus: Path, tmp_path: Path) -> CliRunner:
    """The real command line, with fake models behind it."""

    def make_qa(corpus: Path | None, index_dir: Path | None, embedder: Any, reader: Any, **kw: Any) -> QA:
        return QA(corpus=corpus or seed_corpus, index=index_dir or tmp_path / "index",
                  reader=FakeReader(), embedder=FakeEmbedder(), **kw)

    monkeypatch.setattr(qa.cli, "make_qa", make_qa)
    return CliRunner()


def test_index_reports_counts(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(qa.cli.cli, ["index"])
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.output and "sentences indexed" in result.output
    assert (tmp_path / "index" / "CURRENT").exists()


def test_ask_prints_answer_and_citation(runner: CliRunner) -> None:
    result = runner.invoke(qa.cli.cli, ["ask", "Who offered Russia increased cooperation?"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "score" in lines[0] and lines[1].startswith("[1] ") and "sentence" in lines[1]


def test_ask_json(runner: CliRunner) -> None:
    result = runner.invoke(qa.cli.cli, ["ask", "--json", "Who offered Russia increased cooperation?"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"] == "Who offered Russia increased cooperation?"
    assert data["citations"][0]["article_id"] == "000_6932526c1d07f25d.txt" and data["yes_or_no"] is False


def test_ask_abstains_politely(runner: CliRunner) -> None:
    result = runner.invoke(qa.cli.cli, ["ask", "Who scored the winning goal in the cup final?"])
    assert result.exit_code == 0 and "Not found in the articles." in result.output


@pytest.mark.parametrize("question", ["", "   ", "y" * 5000])
def test_bad_question_exits_1_without_traceback(runner: CliRunner, question: str) -> None:
    result = runner.invoke(qa.cli.cli, ["ask", question])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the question is") and "Traceback" not in result.output


def test_empty_corpus_exits_1_with_advice(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(qa.cli.cli, ["index", "--corpus", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "add .txt" in result.output


def test_console_script_entry_point(tmp_path: Path) -> None:
    """The installed `qa` command runs and reports user errors with exit status 1."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("qa") or str(Path(sys.executable).with_name("qa"))
    done = subprocess.run([exe, "ask", " "], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and "Error: the question is empty" in done.stderr
    assert "Usage" in subprocess.run([exe, "--help"], capture_output=True, text=True).stdout


def test_eval_prints_scores_and_writes_report(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, seed_corpus: Path, tmp_path: Path
) -> None:
    import qa.evaluation.runs

    def fake_qa(corpus: Any = None, index: Any = None, reader: Any = None, embedder: Any = None) -> QA:
        return QA(corpus=corpus or seed_corpus, index=index or tmp_path / "eval-index", reader=FakeReader(),
                  embedder=FakeEmbedder())

    monkeypatch.setattr(qa.evaluation.runs, "QA", fake_qa)
    questions = Path(__file__).parent.parent / "eval" / "seed_questions.jsonl"
    out = tmp_path / "report.json"
    result = runner.invoke(qa.cli.cli, ["eval", str(questions), "--limit", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "F1" in result.output
    report = json.loads(out.read_text())
    assert report["questions"] == 6 and len(report["rows"]) == 6 and report["mode"] == "end-to-end"


def test_eval_of_a_missing_mode_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(qa.cli.cli, ["eval", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_chat_reads_piped_questions_with_the_conversation_in_view(runner: CliRunner) -> None:
    questions = "Who offered Russia increased cooperation?\nWhat did he propose?\n\n/reset\nWhat did he propose?\n"
    result = runner.invoke(qa.cli.cli, ["chat"], input=questions)
    assert result.exit_code == 0, result.output
    blocks = result.output.split("? ")[1:]
    assert [b.splitlines()[0] for b in blocks] == [
        "Who offered Russia increased cooperation?", "What did he propose?", "What did he propose?"]
    assert "(interpreted as: What did " in blocks[1] and "(interpreted as" not in blocks[2]
    assert "(new conversation)" in blocks[1]
    assert "[1] " in blocks[0] and "sentence" in blocks[0]


def test_chat_keeps_a_named_conversation_between_runs(runner: CliRunner, tmp_path: Path) -> None:
    first = runner.invoke(qa.cli.cli, ["chat", "--conversation", "desk-1"],
                          input="Who offered Russia increased cooperation?\n")
    assert first.exit_code == 0, first.output
    again = runner.invoke(qa.cli.cli, ["chat", "--conversation", "desk-1"], input="What did he propose?\n")
    assert again.exit_code == 0, again.output
    assert "(going on with conversation desk-1: 1 earlier turns)" in again.output
    assert "(interpreted as: What did " in again.output
    assert list((tmp_path / "index" / "conversations").glob("*.json"))
    bad = runner.invoke(qa.cli.cli, ["chat", "--conversation", "../x"], input="Who?\n")
    assert bad.exit_code == 1 and "conversation id" in bad.output


def test_chat_quits_on_command_and_reports_bad_questions(runner: CliRunner) -> None:
    result = runner.invoke(qa.cli.cli, ["chat"], input=f"{'x' * 1001}\n/quit\nWho offered Russia cooperation?\n")
    assert result.exit_code == 0
    assert "Error: the question is" in result.output and "Who offered" not in result.output


def test_chat_ends_cleanly_on_ctrl_c(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", interrupted)
    result = runner.invoke(qa.cli.cli, ["chat"])
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_chat_through_the_installed_entry_point(seed_corpus: Path, tmp_path: Path) -> None:
    """The real `qa chat` process with piped input: Ctrl-D (end of input) ends it with status 0."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("qa") or str(Path(sys.executable).parent / "qa")
    done = subprocess.run([exe, "chat", "--corpus", str(tmp_path / "empty")], input="/help\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "/reset" in done.stdout


def test_info_names_the_cpu_the_models_and_the_index(runner: CliRunner) -> None:
    assert runner.invoke(qa.cli.cli, ["index"]).exit_code == 0
    result = runner.invoke(qa.cli.cli, ["info"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("CPU ") and "cores for this process" in lines[0] and "bf16" in lines[0]
    assert any(line.startswith("reader ") for line in lines) and any(line.startswith("embedder ") for line in lines)
    assert "1 articles" in result.output and "fake-embedder" in result.output
    found = json.loads(runner.invoke(qa.cli.cli, ["info", "--json"]).stdout)
    assert found["index"]["articles"] == 1 and found["cpu"]["cores"] >= 1 and found["cache"]


def test_info_without_an_index_says_how_to_build_it(runner: CliRunner) -> None:
    result = runner.invoke(qa.cli.cli, ["info"])
    assert result.exit_code == 0 and "not built: run `qa index`" in result.output


def test_ask_says_that_a_span_is_no_yes_or_no(capsys: pytest.CaptureFixture[str]) -> None:
    from qa.schema import Answer, Candidate, Passage

    passage = Passage("a1", "Kyiv denies", 0, 0, 0, "Kyiv has strenuously denied having any role.")
    qa.cli.print_answer(Answer("Did Kyiv deny it?", None, 0.0, passages=[passage]))
    out = capsys.readouterr().out
    assert "Not found in the articles." in out and "yes or a no" in out
    assert "closest passage, in Kyiv denies (a1):" in out and "strenuously denied having any role." in out
    qa.cli.print_answer(Answer("Who denied it?", None, 0.2, alternatives=[Candidate("Kyiv", 0.2)]))
    out = capsys.readouterr().out
    assert "yes or a no" not in out and "closest candidate, withheld: 'Kyiv'" in out
    qa.cli.print_answer(Answer("Did Kyiv deny it?", "strenuously denied", 0.7))
    out = capsys.readouterr().out
    assert "not a yes or a no" in out and "strenuously denied  (score 0.70)" in out
