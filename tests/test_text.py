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
    ("when was he president?", "when was he president?"),  # a role: capitalised only as a title
    ("what did president putin say", "what did President Putin say"),  # ... which it is here
    ("what did the spokeswoman say", "what did the spokeswoman say"),
    ("and the kremlin spokeswoman?", "and the Kremlin Spokeswoman?"),  # inside a title typed in lower case
])
def test_typed_names_take_the_capitals_the_articles_give_them(typed: str, expected: str) -> None:
    from qa.text import truecased

    known = ("However, Kremlin Spokeswoman Maria Zakharova said on Monday that help was refused. "
             "Vladimir Putin said nothing. Help came later from Paris, as President Putin said.")
    assert truecased(typed, known) == expected


@pytest.mark.parametrize(("question", "letters"), [
    ("What does IS-K stand for?", "isk"),
    ("What is QED short for?", "qed"),
    ("what does vBNS stand for", "vbns"),
    ("What did the LMP acronym stand for regarding the Block II launch positions?", "lmp"),
    ("What is an abbreviation for the Church of Jesus Christ of Latter-day Saints?", None),  # asks the other way
    ("Who offered Russia cooperation?", None),
    ("What does he stand for?", None),  # no abbreviation to spell out
    ("What does the NFL's AFC stand for?", "afc"),  # the one nearest "stand for"
])
def test_the_abbreviation_a_question_asks_to_spell_out(question: str, letters: str | None) -> None:
    from qa.text import asked_abbreviation

    assert asked_abbreviation(question) == letters


@pytest.mark.parametrize(("letters", "text", "spelled"), [
    ("isk", "the Islamic State in Khorasan", True),
    ("isk", "Khorasan", False),
    ("isk", "the Islamic State", False),
    ("qed", "quantum electrodynamics", True),  # two letters from one word
    ("ac", "alternating current", True),
    ("ac", "AC/DC", False),  # DC gives no letter
    ("vbns", "Very high-speed Backbone Network Service", True),
    ("fota", "Festival of the Arts", True),
    ("lmp", "Lunar Module Pilot", True),
    ("lmp", "Command Module Pilot (CMP) and Lunar Module Pilot", False),
    ("afc", "AFC", False),  # the abbreviation itself
])
def test_a_name_spells_out_its_abbreviation(letters: str, text: str, spelled: bool) -> None:
    from qa.text import spells_out

    assert spells_out(letters, text) is spelled


def test_an_abbreviation_is_spelled_out_beside_its_brackets() -> None:
    from qa.text import expansions

    text = "Macron said the ISIS splinter cell, the Islamic State in Khorasan (IS-K), had tried."
    assert [text[s:e] for s, e in expansions("isk", text)] == ["Islamic State in Khorasan"]
    text = "He had joined IS-K (Islamic State in Khorasan) in 2020."
    assert [text[s:e] for s, e in expansions("isk", text)] == ["Islamic State in Khorasan"]
    crew = "Commander (CDR), Command Module Pilot (CMP) and Lunar Module Pilot (LMP)."
    assert [crew[s:e] for s, e in expansions("lmp", crew)] == ["Lunar Module Pilot"]
    assert expansions("isk", "The Islamic State in Khorasan claimed it.") == []  # no brackets: no place
