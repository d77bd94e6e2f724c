"""English words as the lexical stages compare them: one Snowball stemmer for BM25 (``qa.index.lexical``),
answer verification (``qa.verification``) and the reader's training negatives, so "opened" and "opens"
meet as "open" everywhere.

    stemmer().stemWords(["opened", "bridges"])   # ['open', 'bridg']
"""

from __future__ import annotations

import re
from collections.abc import Container
from functools import cache, lru_cache
from typing import Any


@lru_cache(maxsize=1)
def stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), made once per process."""
    import Stemmer

    return Stemmer.Stemmer("english")


# words and punctuation marks, as the name scanner and the follow-up stage step through text
TOKEN = re.compile(r"[\w'’-]+|[^\w\s]")
POSSESSIVE = re.compile(r"['’]s?$")  # the ending a name loses: "Macron's" is "Macron"
# words that open a noun phrase before its noun: "the bridge", "our partners"
DETERMINERS = frozenset({"the", "a", "an", "my", "your", "our", "his", "her", "its", "their", "this", "that",
                         "these", "those", "some", "any"})
# Nouns that name a person by role: "the French president" is a "he" or a "she",
# and "the foreign minister" is not "the Interior Minister" (answer verification).
ROLES = {
    "president", "minister", "spokesman", "spokeswoman", "spokesperson", "leader", "chancellor", "premier",
    "king", "queen", "prince", "princess", "senator", "governor", "mayor", "ambassador", "secretary",
    "chairman", "chairwoman", "director", "chief", "general", "commander", "officer", "official", "judge",
    "prosecutor", "lawyer", "author", "writer", "actor", "actress", "singer", "player", "coach", "captain",
    "man", "woman", "boy", "girl", "father", "mother", "son", "daughter", "brother", "sister", "husband",
    "wife", "emperor", "pope", "bishop", "doctor", "teacher", "student", "scientist", "founder", "ceo",
    "manager", "owner", "editor", "reporter", "journalist", "witness", "suspect", "victim", "soldier",
    "politician", "diplomat", "envoy", "head", "boss", "narrator", "hero", "friend", "engineer", "councillor",
    "organiser", "organizer", "architect", "economist", "analyst", "expert", "researcher", "professor", "inspector",
    "detective", "commissioner", "deputy", "adviser", "advisor", "aide", "candidate", "activist", "chairperson",
}


def clip(text: str, limit: int = 80) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Nouns of events, as a question or a sentence may name one: "the attack", "the concert hall attack"
EVENT_NOUNS = frozenset({
    "attack", "attacks", "bombing", "shooting", "explosion", "blast", "war", "election", "concert", "festival",
    "offer", "strike", "crash", "fire", "storm", "flood", "earthquake", "meeting", "summit", "deal", "agreement",
    "vote", "trial", "protest", "ceremony", "match", "game", "visit", "speech", "interview", "announcement",
    "opening", "evacuation", "inquiry", "investigation", "raid", "riot", "massacre", "siege", "invasion",
    "accident", "collapse", "disaster", "campaign", "race", "tournament", "show", "launch", "merger", "sale"})


def name_end(tokens: list[str], i: int, *, joins: Container[str], not_first: Container[str] = (),
             not_inside: Container[str] = ()) -> int:
    """The end (exclusive token index) of the proper-noun run starting at ``tokens[i]``, or ``i`` when none
    starts there: the one scanner of names for answer verification and follow-up questions.

    A run starts at a capitalised word not in ``not_first`` (lower-cased) and goes on over capitalised
    words not in ``not_inside``, initials ("Frederick G. Kilgour") and a word of ``joins`` followed by a
    capitalised word ("University of Notre Dame", "Islamic State in Khorasan").
    """
    word = tokens[i]
    if not word[:1].isupper() or word.lower() in not_first:
        return i
    j = i + 1
    while j < len(tokens):
        w = tokens[j]
        if w[:1].isupper() and w.lower() not in not_inside:
            j += 1
            if len(w) == 1 and j + 1 < len(tokens) and tokens[j] == "." and tokens[j + 1][:1].isupper():
                j += 1  # an initial
        elif w.lower() in joins and j + 1 < len(tokens) and tokens[j + 1][:1].isupper():
            j += 2
        else:
            break
    return j


# Names that news uses for one another: a country, its people, its capital and its seat of government
# ("Paris offered the Kremlin help" is France offering Russia help). One group per line.
_SAME_PLACE = """
Russia|Russian|Russians|Moscow|Kremlin
Ukraine|Ukrainian|Ukrainians|Kyiv|Kiev
France|French|Paris|Élysée|Elysee
United States|US|U.S.|USA|America|American|Americans|Washington|White House|Pentagon
United Kingdom|UK|Britain|British|London|Downing Street|Whitehall
China|Chinese|Beijing
Germany|German|Germans|Berlin
Japan|Japanese|Tokyo
Italy|Italian|Italians|Rome
Spain|Spanish|Madrid
Poland|Polish|Warsaw
Belarus|Belarusian|Minsk
Israel|Israeli|Israelis|Jerusalem
Iran|Iranian|Iranians|Tehran
Turkey|Turkish|Ankara
India|Indian|New Delhi
Syria|Syrian|Damascus
Egypt|Egyptian|Cairo
Saudi Arabia|Saudi|Riyadh
North Korea|North Korean|Pyongyang
South Korea|South Korean|Seoul
Canada|Canadian|Ottawa
Australia|Australian|Canberra
European Union|EU|Brussels
"""
_ALIASES = {name.lower(): tuple(n for n in line.split("|") if n != name)
            for line in _SAME_PLACE.strip().splitlines() for name in line.split("|")}
# the names above that news writes after "the": "accuse the United States", not "accuse United States"
WITH_THE = frozenset({"United States", "US", "U.S.", "USA", "White House", "Pentagon", "United Kingdom", "UK",
                      "Kremlin", "Élysée", "Elysee", "European Union", "EU"})


def aliases(name: str) -> tuple[str, ...]:
    """The other names news gives the place or government ``name`` stands for: "Kremlin" -> ("Russia",
    "Russian", "Russians", "Moscow"); () for a name that is no such place."""
    return _ALIASES.get(name.lower(), ())


def abbreviates(short: str, name: str) -> bool:
    """``short`` holds an abbreviation of ``name``: "IS-K" of "Islamic State in Khorasan", "EU" of "the
    European Union" (the initials of its capitalised words)."""
    initials = "".join(w[0] for w in re.findall(r"[\w'’-]+", name) if w[:1].isupper())
    if len(initials) < 2:
        return False
    return any(re.sub(r"[^A-Z]", "", w) == initials for w in re.findall(r"\b[A-Z][A-Z.-]*[A-Z]\b", short))


# a question that asks what an abbreviation stands for ("What does IS-K stand for?", "What is QED short for?")
_ASKS_EXPANSION = re.compile(r"\b(?:stands?|stood) for\b|\bshort for\b|\b(?:acronym|abbreviation)\b(?! for)",
                             re.IGNORECASE)
_ABBREVIATION = re.compile(r"(?<![\w-])[A-Za-z][\w&/.-]*[\w&](?![\w-])")
# words an abbreviation may leave out: "Islamic State in Khorasan" is IS-K, "Festival of the Arts" FOTA
UNSPELLED = frozenset({"a", "an", "and", "at", "de", "des", "du", "for", "in", "of", "on", "the", "to"})


def _letters(word: str) -> str:
    """An abbreviation's letters, as its spelled-out name is matched against them: "IS-K" -> "isk"."""
    return re.sub(r"[^a-z0-9]", "", word.lower())


def asked_abbreviation(question: str) -> str | None:
    """The abbreviation ``question`` asks to spell out (the one nearest its "stand for"), as its letters in
    lower case: "What does IS-K stand for?" -> "isk"; None for a question that asks no such thing ("What is
    an abbreviation for ...?" asks the other way)."""
    asks = _ASKS_EXPANSION.search(question)
    if asks is None:
        return None
    found = [(abs(m.start() - asks.start()), _letters(m.group()))
             for m in _ABBREVIATION.finditer(question) if sum(c.isupper() for c in m.group()) >= 2]
    found = [(distance, letters) for distance, letters in found if 2 <= len(letters) <= 8]
    return min(found)[1] if found else None  # the nearest to "stand for": "What does the NFL's AFC stand for?"


def spells_out(letters: str, text: str) -> bool:
    """Whether ``text`` is a name that ``letters`` abbreviates: each capitalised word gives the next letter with
    its initial (and maybe more of them from inside it: "quantum electrodynamics" is QED), small and lower-case
    words may give none ("Islamic State in Khorasan", "Very high-speed Backbone Network Service"), but the
    first and last words give one ("i.e., No Foreign Nationals" is not NOFORN). An opening article does not
    count: "the Islamic State in Khorasan"."""
    words = re.findall(r"[^\W_]+", text)
    while words and words[0].lower() in UNSPELLED:
        words = words[1:]
    if not words or len(words) > 3 * len(letters) or "".join(words).lower() == letters:
        return False

    @cache
    def match(i: int, j: int) -> bool:  # letters[i:] from words[j:]
        if j == len(words):
            return i == len(letters)
        word = words[j].lower()
        last = j == len(words) - 1
        if j > 0 and not last and (word in UNSPELLED or words[j].islower()) and match(i, j + 1):
            return True
        if i == len(letters) or word[0] != letters[i]:
            return False
        more, rest = i + 1, word[1:]  # then as many further letters as this word holds, in order
        while True:
            if match(more, j + 1):
                return True
            if more == len(letters) or letters[more] not in rest:
                return False
            rest, more = rest[rest.index(letters[more]) + 1 :], more + 1

    return match(0, 0)


def expansions(letters: str, text: str) -> list[tuple[int, int]]:
    """Where ``text`` spells out the abbreviation of ``letters`` beside it in brackets: "the Islamic State in
    Khorasan (IS-K)" gives the place of "Islamic State in Khorasan", and so does "IS-K (Islamic State in
    Khorasan)"; the shortest run of words before the brackets that spells it out, or the longest within its
    clause that opens on a capital ("American Association of University Professors (AAUP)", not
    "Association of ..."; "air traffic control (ATC)", not "airports have air traffic control")."""
    found = []
    for bracket in re.finditer(r"\(([^()]{1,80})\)", text):
        inside = bracket.group(1)
        if _letters(inside) == letters:  # "Name (X)"
            offset = max(0, bracket.start() - 200)
            before = list(re.finditer(r"[^\s()]+", text[offset : bracket.start()]))  # the words before, nearest last
            longest = None
            for k in range(len(before) - 1, max(-1, len(before) - 3 * len(letters) - 1), -1):
                start, end = offset + before[k].start(), offset + before[-1].end()
                if k < len(before) - 1 and re.search(r"[.!?;,:]$", before[k].group()):
                    break  # the run stays within its sentence and clause
                run = text[start:end].rstrip(",;:")
                if spells_out(letters, run) and run.split()[0].lower() not in UNSPELLED and (
                        longest is None or run[:1].isupper()):
                    longest = (start, start + len(run))
            if longest is not None:
                found.append(longest)
        elif spells_out(letters, inside):  # "X (Name)"
            head = text[: bracket.start()].split()
            if head and _letters(head[-1]) == letters:
                found.append((bracket.start(1), bracket.end(1)))
    return found


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words, ignoring case: "US" is not in "Russia"."""
    if phrase.lower() not in text.lower():  # the cheap test first: most phrases are simply absent
        return False
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, re.IGNORECASE) is not None


_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]{2,}(?![\w'’-])")
_SENTENCE_OPENS = re.compile(r"[.!?:;“”\"’)\n]\s*$")  # what the characters before a sentence's first word end with


def truecased(text: str, known: str) -> str:
    """``text`` with each lower-case word that ``known`` writes only as a name given the name's capitals:
    "who did zakharova accuse?" over an article naming "Maria Zakharova" -> "who did Zakharova accuse?".
    A word counts as a name when ``known`` capitalises it inside a sentence and never writes it in lower
    case; the first word of a sentence tells nothing. A role ("president", ``ROLES``) takes capitals only as
    a title, before a word that has them ("president macron") or after one given them ("the interior
    minister"): "when was he president?" over "former French President François Hollande" asks about no one
    named President."""
    found: dict[str, str | None] = {}
    for m in _LOWER_WORD.finditer(text):
        word = m.group()
        if word in found:
            continue
        found[word] = None
        for k in re.finditer(rf"(?<![\w'’-]){re.escape(word)}(?![\w'’-])", known, re.IGNORECASE):
            written = k.group()
            if written.islower():
                found[word] = None
                break
            opens_sentence = k.start() == 0 or _SENTENCE_OPENS.search(known[max(0, k.start() - 3) : k.start()])
            if written[:1].isupper() and not opens_sentence:
                found[word] = found[word] or written
    if not any(found.values()):
        return text

    def cased(m: re.Match[str]) -> str:
        word = m.group()
        if word in ROLES:  # a title before a name or inside one typed in lower case: "President Macron", "the
            # Interior Minister" (of "the interior minister"); not "When was he President?"
            after = re.match(r" ([\w'’-]+)", text[m.end() :])
            before = re.search(r"([\w'’-]+) $", text[: m.start()])
            if not (after and (after.group(1)[:1].isupper() or found.get(after.group(1)))
                    or before and found.get(before.group(1))):
                return word
        return found.get(word) or word

    return _LOWER_WORD.sub(cased, text)
