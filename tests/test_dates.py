from __future__ import annotations

from pathlib import Path

import pytest

from qa.dates import date_at_top, normalize_date, resolve_relative


@pytest.mark.parametrize("text, expected", [
    ("2024-03-25", "2024-03-25"), ("2024-03-25T08:00:00+01:00", "2024-03-25"),
    ("Mon, 25 Mar 2024 09:30:00 GMT", "2024-03-25"), ("25 March 2024", "2024-03-25"),
    ("March 25, 2024", "2024-03-25"), ("25th Sept 2024", "2024-09-25"), ("Published: 2024-02-30", None),
    ("soon", None), ("", None), (None, None),
])
def test_dates_are_read_in_the_usual_formats(text: str | None, expected: str | None) -> None:
    assert normalize_date(text) == expected


def test_a_date_on_the_first_lines_of_a_text_is_its_date() -> None:
    assert date_at_top("Bridge opens\n25 March 2024\nThe mayor opened it.") == "2024-03-25"
    assert date_at_top("# Bridge opens\nPublished: March 25, 2024\n\nText.") == "2024-03-25"
    assert date_at_top("Bridge opens\nThe mayor said on 25 March 2024 that it would open in May.") is None
    # a news dateline opening the first paragraph; a date further into a sentence is not one
    assert date_at_top("Bridge opens\n\nLYON, 3 March 2025 — The mayor opened it on Monday.") == "2025-03-03"
    assert date_at_top("PARIS (Reuters), March 25, 2024 - The minister said so.") == "2024-03-25"
    assert date_at_top("SÃO PAULO, 2 April 2024 — Rain fell.") == "2024-04-02"
    assert date_at_top("WASHINGTON, March 25 (Reuters) - No year is given.") is None
    assert date_at_top("Lyon, 3 March 2025 — a place in capitals opens a dateline.") is None
    assert date_at_top("Bridge opens\nIn Lyon, on 25 March 2024 - a Monday - it opened.") is None


@pytest.mark.parametrize("answer, expected", [
    ("Monday", "Monday (25 March 2024)"),  # the article is of Tuesday 26 March 2024
    ("on Tuesday", "Tuesday (26 March 2024)"),  # the day itself
    ("Wednesday", "Wednesday (20 March 2024)"),  # the latest Wednesday on or before
    ("last Tuesday", "last Tuesday (19 March 2024)"),
    ("next Monday", "next Monday (1 April 2024)"),
    ("yesterday", "yesterday (25 March 2024)"),
    ("tomorrow morning", "tomorrow (27 March 2024)"),
    ("last week", "last week (the week of 18 March 2024)"),
    ("next month", "next month (April 2024)"),
    ("last year", "last year (2023)"),
    ("Emmanuel Macron", None), ("in 2019", None),
])
def test_relative_days_are_resolved_from_the_article_date(answer: str, expected: str | None) -> None:
    assert resolve_relative(answer, "2024-03-26") == expected


def test_without_an_article_date_nothing_is_resolved() -> None:
    assert resolve_relative("Monday", None) is None and resolve_relative("Monday", "sometime") is None


@pytest.mark.parametrize(("question", "window"), [
    ("What did the mayor open on 25 March 2024?", ("2024-03-25", "2024-04-01")),
    ("What happened on 2024-03-25?", ("2024-03-25", "2024-04-01")),
    ("What happened in February 2024?", ("2024-02-01", "2024-03-07")),
    ("Who won in 1998?", None),  # a year alone is history, not a publication date
    ("How many died?", None),
])
def test_the_publication_dates_a_question_names(question: str, window: tuple[str, str] | None) -> None:
    from qa.dates import dates_named

    found = dates_named(question)
    assert (None if found is None else tuple(d.isoformat() for d in found)) == window


def test_a_pages_date_is_one_someone_wrote() -> None:
    from qa.dates import page_date

    def unasked() -> str:
        raise AssertionError("searched the text although the markup or its top gave the date")

    assert page_date("2024-03-25T10:00:00Z", unasked, "text") == "2024-03-25"  # the markup's first
    assert page_date(None, unasked, "LYON, 3 March 2025 — The mayor opened it.") == "2025-03-03"
    assert page_date(None, lambda: "2024-03-25", "The mural was painted. Published 25 March 2024.") == "2024-03-25"
    # htmldate's guesses from "in 2021" or "March 2024": a 1st no one wrote
    assert page_date(None, lambda: "2021-01-01", "The mural was painted in 2021.") is None
    assert page_date(None, lambda: "2024-03-01", "By Ana Silva, March 2024") is None


@pytest.mark.parametrize(("head", "body", "expected"), [
    ("", "<p>The harbour mural was painted by Ines Duarte in 2021.</p>", None),
    ('<meta property="article:published_time" content="2024-03-25T10:00:00Z">',
     "<p>The harbour mural was painted by Ines Duarte in 2021.</p>", "2024-03-25"),
    ("", "<p>Published 25 March 2024</p><p>The harbour mural was painted by Ines Duarte in 2021.</p>", "2024-03-25"),
])
def test_web_pages_and_html_files_keep_no_date_guessed_from_a_year(head: str, body: str, expected: str | None,
                                                                   tmp_path: Path) -> None:
    from qa.ingest import read_file
    from qa.sources.extract import page_record
    from qa.sources.fetch import Fetched

    words = " ".join(["It stands on the quay and people stop to look at it every day."] * 4)
    html = f"<html><head><title>Harbour mural</title>{head}</head><body><article>{body}<p>{words}</p></article>" \
           "</body></html>"
    record = page_record(Fetched("https://example.org/news/mural", "text/html", html.encode()))
    assert record["date"] == expected
    (tmp_path / "mural.html").write_text(html, encoding="utf-8")  # a page saved into the corpus folder
    assert read_file(tmp_path / "mural.html", "mural.html")[0].date == expected
