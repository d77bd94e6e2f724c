"""The shared word tools: one name scanner for verification and follow-ups."""

from __future__ import annotations

import pytest

from qa.text import TOKEN, name_end
from qa.verification import NAME_JOINS, phrases


def names(text: str, **kw: object) -> list[str]:
    words = TOKEN.findall(text)
    found, i = [], 0
    while i < len(words):
        j = name_end(words, i, **kw)  # type: ignore[arg-type]
        if j > i:
            found.append(" ".join(words[i:j]))
        i = max(j, i + 1)
    return found


def test_name_runs_take_joins_initials_and_any_alphabet() -> None:
    assert names("He studied at the University of Notre Dame.", joins={"of"}) == ["He", "University of Notre Dame"]
    assert names("Frederick G. Kilgour founded it.", joins=set()) == ["Frederick G . Kilgour"]
    assert names("born in Żelazowa Wola near Warsaw", joins=set()) == ["Żelazowa Wola", "Warsaw"]
    assert names("Islamic State in Khorasan", joins={"in"}) == ["Islamic State in Khorasan"]
    assert names("Islamic State in Khorasan", joins=set()) == ["Islamic State", "Khorasan"]
    # a join needs a capitalised word after it, and caller's words that cannot start or continue a name
    assert names("the Mayor of the city", joins={"of"}) == ["Mayor"]
    assert names("Who is Macron", joins=set(), not_first={"who"}, not_inside={"who"}) == ["Macron"]


def test_verification_names_drop_possessives_and_sentence_starters() -> None:
    text = "What did Warsaw’s mayor say about the Denver Bronco's season in Bosnia and Herzegovina?"
    found = [text[s:e] for kind, s, e in phrases(text) if kind == "proper"]
    assert found == ["Warsaw", "Denver Bronco", "Bosnia and Herzegovina"]
    assert "and" in NAME_JOINS and "in" not in NAME_JOINS


@pytest.mark.parametrize(("typed", "expected"), [
    ("who did zakharova accuse?", "who did Zakharova accuse?"),
    ("what did the kremlin say about putin", "what did the Kremlin say about Putin"),
    ("Who offered Russia help?", "Who offered Russia help?"),  # already cased
    ("however, who said so?", "however, who said so?"),  # "However" only opens sentences
    ("who offered help?", "who offered help?"),  # "help" is written in lower case too
])
def test_typed_names_take_the_capitals_the_articles_give_them(typed: str, expected: str) -> None:
    from qa.text import truecased

    known = ("However, Kremlin spokeswoman Maria Zakharova said on Monday that help was refused. "
             "Vladimir Putin said nothing. Help came later from Paris.")
    assert truecased(typed, known) == expected
