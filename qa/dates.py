"""Article dates: reading them wherever they are written, and turning an answer such as "Monday" or
"yesterday" into the calendar day it means in an article of a known date.

    normalize_date("Mon, 25 Mar 2024 09:30:00 GMT")          # '2024-03-25'
    resolve_relative("Monday", "2024-03-26")                  # 'Monday (25 March 2024)'
    resolve_relative("last week", "2024-03-26")               # 'last week (the week of 18 March 2024)'

The rule for a bare weekday is the newsroom one: an article reports what happened, so "on Monday"
is the latest Monday on or before the article's date; "next Monday" is the first one after it,
"last Monday" the latest one before it.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable
from datetime import date, timedelta
from email.utils import parsedate_to_datetime

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
_MONTH = {m: i + 1 for i, m in enumerate(MONTHS)} | {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})", re.I)
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I)
_LABEL = re.compile(r"^\s*(?:published|posted|updated|date|dated)\s*(?:on)?\s*[:\-]?\s*", re.I)


def parse_date(text: str | None) -> date | None:
    """The calendar date a string states (ISO 8601, RFC 2822, "25 March 2024", "March 25, 2024"), or None."""
    if not text or not isinstance(text, str):
        return None
    text = text.strip()
    m = _ISO.search(text)
    if m:
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DAY_MONTH_YEAR.search(text)
    if m and m.group(2).lower() in _MONTH:
        return _date(int(m.group(3)), _MONTH[m.group(2).lower()], int(m.group(1)))
    m = _MONTH_DAY_YEAR.search(text)
    if m and m.group(1).lower() in _MONTH:
        return _date(int(m.group(3)), _MONTH[m.group(1).lower()], int(m.group(2)))
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def normalize_date(text: str | None) -> str | None:
    """``text``'s date as ``YYYY-MM-DD``, or None when it states none."""
    found = parse_date(text)
    return found.isoformat() if found else None


# A news dateline opening a paragraph: "LYON, 3 March 2025 — ", "PARIS (Reuters), March 25, 2024 - "
# (the place in capitals, any script's: "SÃO PAULO", "MÜNCHEN")
_DATELINE = re.compile(r"^(?P<place>[^\W\d][^,()\n\d]{1,30}?)(?:\s*\([^)]{1,30}\))?,\s*"
                       r"(?P<date>[^—–:\n]{6,30}?)\s*[—–:-]\s")


def date_at_top(text: str, lines: int = 3) -> str | None:
    """A date written on one of the first lines of a plain-text article: a line that is little more
    than the date ("25 March 2024", "Published: 2024-03-25"), or a dateline opening a paragraph
    ("LYON, 3 March 2025 — The mayor ...")."""
    for line in [x for x in text.split("\n") if x.strip()][:lines]:
        bare = _LABEL.sub("", line.strip().lstrip("#").strip())
        found = parse_date(bare)
        if found and len(bare) <= 40:
            return found.isoformat()
        dateline = _DATELINE.match(line.strip())
        found = parse_date(dateline.group("date")) if dateline and dateline.group("place").isupper() else None
        if found:
            return found.isoformat()
    return None


def page_date(marked: str | None, search: Callable[[], str | None], text: str) -> str | None:
    """A web page's publication date: what its markup says (``marked``: meta tags, ``<time>``, JSON-LD, its
    URL), else a date at the top of its ``text`` (``date_at_top``), else what ``search`` finds anywhere
    in the page (htmldate's search, run only then) unless that is only a year or a month: the search
    makes "painted in 2021" 2021-01-01 and "March 2024" 2024-03-01, days no one wrote, so a date on
    the 1st found only that way is no date."""
    marked = normalize_date(marked)
    if marked:
        return marked
    top = date_at_top(text)
    if top:
        return top
    searched = normalize_date(search())
    return searched if searched and not searched.endswith("-01") else None


_MONTH_YEAR = re.compile(rf"\b({'|'.join(MONTHS)})\s+(\d{{4}})\b", re.I)
REPORTED_WITHIN = 7  # days after an event that articles about it are dated in


def dates_named(question: str) -> tuple[date, date] | None:
    """The publication dates of the articles that may report what ``question`` asks about, when it names a
    day ("on 25 March 2024", "2024-03-25": that day to a week after) or a month ("in March 2024": that
    month to a week after); None when it names neither."""
    day = parse_date(question) if re.search(r"\d", question) else None
    if day is not None:
        return day, day + timedelta(days=REPORTED_WITHIN)
    m = _MONTH_YEAR.search(question)
    if m is None:
        return None
    year, month = int(m.group(2)), _MONTH[m.group(1).lower()]
    return date(year, month, 1), date(year, month, monthrange(year, month)[1]) + timedelta(days=REPORTED_WITHIN)


def long_form(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1].title()} {day.year}"


_RELATIVE = re.compile(
    rf"\b(?:(last|this|next|past)\s+)?({'|'.join(WEEKDAYS)})\b"
    r"|\b(yesterday|today|tonight|tomorrow)\b"
    r"|\b(last|this|next)\s+(week|month|year)\b",
    re.I,
)


def resolve_relative(answer: str, article_date: str | None) -> str | None:
    """``answer`` with the calendar date of the relative day it names ("Monday (25 March 2024)"),
    reckoned from ``article_date``; None when it names none or the article has no date."""
    published = parse_date(article_date)
    if published is None or not answer:
        return None
    m = _RELATIVE.search(answer)
    if m is None:
        return None
    phrase = m.group(0)
    if m.group(2):
        which, target = (m.group(1) or "").lower(), WEEKDAYS.index(m.group(2).lower())
        back = (published.weekday() - target) % 7
        if which == "next":
            day = published + timedelta(days=(target - published.weekday()) % 7 or 7)
        elif which in {"last", "past"}:
            day = published - timedelta(days=back or 7)
        else:
            day = published - timedelta(days=back)
        return f"{phrase} ({long_form(day)})"
    if m.group(3):
        shift = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[m.group(3).lower()]
        return f"{phrase} ({long_form(published + timedelta(days=shift))})"
    which, unit = m.group(4).lower(), m.group(5).lower()
    step = {"last": -1, "this": 0, "next": 1}[which]
    if unit == "week":
        monday = published - timedelta(days=published.weekday()) + timedelta(weeks=step)
        return f"{phrase} (the week of {long_form(monday)})"
    if unit == "month":
        month = (published.year * 12 + published.month - 1) + step
        return f"{phrase} ({MONTHS[month % 12].title()} {month // 12})"
    return f"{phrase} ({published.year + step})"
