"""Is the reader's best answer right? Signals about an answer, combined into a calibrated probability.

The reader's span score says how sure it is *where* the answer is, not whether the
passage supports one: a question about "the French defence minister" over a passage
naming the Interior Minister gets a confident span. The signals here check that:

- the reader: span score, the passage's no-answer score, the margin over the runner-up;
- support: the question's names, numbers and dates, and its other content words, found in
  the cited sentence and its passage (a swapped name or year is missing from it);
- answer type: a "when" question answered without a date, "how many" without a number,
  "who" without a name; an answer that only repeats the question;
- retrieval (retrieved passages only): the passage's rank and fused score, how many places
  give the same answer.

A logistic model over them, fitted on held-out pairs (``scripts/calibrate_reader.py``),
turns them into the probability that the answer is right (F1 >= 0.5 against the gold
answers), stored in the reader folder's ``qa_reader.json``: one model for a given passage
(reader mode), one for retrieved passages.

    verifier = Verifier(reader_config["calibration"])
    facts = signals(question, answer, sentence, passage, span_score, no_answer, min_no_answer, runner_up)
    verifier.probability(facts, span_score, retrieved=True)
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from qa import inflection
from qa.dates import MONTHS, WEEKDAYS
from qa.text import (
    DETERMINERS,
    EVENT_NOUNS,
    POSSESSIVE,
    ROLES,
    TOKEN,
    UNSPELLED,
    abbreviates,
    aliases,
    contains_phrase,
    name_end,
    stemmer,
    truecased,
)

if TYPE_CHECKING:
    from qa.schema import Answer

YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
MONTH = re.compile(rf"\b({'|'.join(m.title() for m in MONTHS)})\b")
# words a name may hold between capitalised ones: "University of Notre Dame", "Bosnia and Herzegovina"
NAME_JOINS = frozenset({"of", "the", "de", "von", "van", "and"})
# words that start a question or sentence with a capital without being names
STARTERS = {
    "what", "who", "whom", "whose", "when", "where", "which", "why", "how", "in", "on", "at", "the", "a", "an",
    "during", "after", "before", "for", "from", "to", "by", "with", "as", "is", "was", "are", "were", "did",
    "do", "does", "can", "could", "according", "along", "besides", "other", "of", "if", "about", "since",
    "name", "give", "list", "i", "it", "this", "that", "these", "those", "there", "he", "she", "they", "his",
    "her", "their", "its", "has", "have", "had", "will", "would", "should", "apart", "aside", "except",
}
_WORD = re.compile(r"[A-Za-z0-9]+")
_DATE_WORDS = re.compile(
    rf"\b(\d{{1,4}}|{'|'.join(MONTHS)}|{'|'.join(WEEKDAYS)}|today|yesterday|tomorrow|century|centuries|"
    r"decade|decades|year|years|week|weeks|month|months|day|days|morning|evening|night|spring|summer|autumn|"
    r"fall|winter|ago|bc|bce|ad|ce|era|age|period|dynasty|war|reign|after|before|during|since|until|early|"
    r"late|mid|hours?|minutes?|seconds?)\b", re.IGNORECASE)
_NUMBER_WORDS = re.compile(
    r"\b(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|several|many|few|half|"
    r"percent|once|twice|single|double|no|none)\b", re.IGNORECASE)


def phrases(text: str, skip_start: bool = True) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the years, months, numbers and proper-noun runs in ``text``.

    ``skip_start``: a capitalised first word that is not a name ("What", "In") is not a phrase.
    """
    found: list[tuple[str, int, int]] = []

    def add(kind: str, begin: int, end: int) -> None:
        if all(end <= s or begin >= e for _, s, e in found):
            found.append((kind, begin, end))

    for kind, pattern in (("year", YEAR), ("month", MONTH), ("number", NUMBER)):
        for m in pattern.finditer(text):
            add(kind, m.start(), m.end())
    tokens = list(TOKEN.finditer(text))
    words = [t.group() for t in tokens]
    i = 0
    while i < len(tokens):
        j = name_end(words, i, joins=NAME_JOINS)
        if j == i:
            i += 1
            continue
        first, i = i, j
        # a capitalised word that is not a name: the sentence's first word, or "I"/"The" anywhere
        while first < j and words[first].lower() in STARTERS and \
                (tokens[first].start() == 0 and skip_start or len(words[first]) < 4):
            first += 1
            if first < j and not words[first][:1].isupper():
                first = j
        if first < j:
            begin, end = tokens[first].start(), tokens[j - 1].end()
            possessive = POSSESSIVE.search(text, begin, end)  # "Warsaw's": the name is "Warsaw"
            end = possessive.start() if possessive else end
            if end > begin:
                add("proper", begin, end)
    return sorted(found, key=lambda x: x[1])


# words before a role that tell no one apart: "the current prime minister" is the prime minister
_PLAIN_MODIFIERS = frozenset({
    "current", "former", "first", "last", "new", "then", "acting", "late", "next", "previous", "incumbent",
    "sitting", "outgoing", "future", "only", "same", "other", "main", "young", "old", "own", "top", "senior",
    "junior", "famous", "well", "known", "local", "said", "male", "female", "lead", "special", "his", "her",
    "its", "their", "our", "your", "this", "that", "these", "those", "whose", "which", "what", "who",
})
ROLE_REACH = 3  # words between a role and its modifier in a passage: "minister for foreign affairs"


def roles(text: str) -> list[tuple[str, str]]:
    """(modifier, role) of each role a question names by a lower-case word that tells it apart:
    "Who is the French foreign minister?" -> [("foreign", "minister")]. Capitalised titles ("Interior
    Minister") are names already (``phrases``)."""
    words = TOKEN.findall(text)
    found = []
    for k in range(1, len(words)):
        role, modifier = words[k], words[k - 1]
        if role in ROLES and modifier.isalpha() and modifier.islower() and \
                len(modifier) > 2 and modifier not in _PLAIN_MODIFIERS and modifier not in _stopwords():
            found.append((modifier, role))
    return found


def role_in(passage: str, modifier: str, role: str) -> bool:
    """Whether ``passage`` names ``role`` (or its plural) with ``modifier`` at most ``ROLE_REACH`` words
    away: "foreign minister" is in "Minister for Foreign Affairs", not in "Interior Minister"."""
    words = [w.lower() for w in TOKEN.findall(passage)]
    return any(w in (role, role + "s") and modifier in words[max(0, k - ROLE_REACH) : k + ROLE_REACH + 1]
               for k, w in enumerate(words))


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | {"name", "called", "many", "much", "type", "kind", "also"}


def content_stems(text: str) -> set[str]:
    """The stemmed, lower-cased words of ``text`` that are not stop words."""
    words = [w.lower() for w in _WORD.findall(text)]
    stop = _stopwords()
    return set(stemmer().stemWords([w for w in words if w not in stop]))


# words that tell no event apart: question words and possessives ("his show")
_ASKING = frozenset({"who", "whom", "whose", "what", "which", "when", "where", "why", "how", "his", "her", "its",
                     "their", "my", "our", "your"})
EVENT_REACH = 4  # words either side of an event noun that tell it apart: "the 2015 attack on the Bataclan"
# at most this many words from an event, an answer is said of it ("killed 90 people attending a rock concert")
EVENT_ATTACH = 6


@lru_cache(maxsize=1)
def _event_stems() -> frozenset[str]:
    return frozenset(stemmer().stemWords(sorted(EVENT_NOUNS)))


@lru_cache(maxsize=256)  # asked once per candidate of the same question
def _event_marks(question: str) -> frozenset[str]:
    """The words that tell apart the event a question names: the content words just before an event's
    noun or verb ("the Moscow attack": moscow; "When was the concert hall attacked?": concert, hall)."""
    words = [w.lower() for w in _WORD.findall(question)]
    stems, events, stop = stemmer().stemWords(words), _event_stems(), _stopwords()
    marks = set()
    for k, stem in enumerate(stems):
        if stem in events:
            for w in reversed(words[max(0, k - 3) : k]):  # back to the phrase's first word: "in the | Moscow"
                if w in stop or w in _ASKING:
                    break
                marks.add(w)
    return frozenset(marks)


# a candidate that stands by another event than the question's (``event_elsewhere``): its probability times this
EVENT_ELSEWHERE = 0.5


def event_elsewhere(question: str, sentence: str, start: int, end: int) -> bool:
    """The answer at ``sentence[start:end]`` stands by another event than the question's: of "When was
    the concert hall attacked?", "2015" in "The attack on the Moscow concert hall has been compared to
    the 2015 attack on the Bataclan Theatre" (the event nearest the answer, within ``EVENT_ATTACH``
    words, has none of the question's words about it; another event in the sentence has)."""
    marks = _event_marks(question)
    if not marks:
        return False
    words = [(m.start(), m.group().lower()) for m in _WORD.finditer(sentence)]
    mentions = [k for k, (_, w) in enumerate(words) if w in EVENT_NOUNS]
    inside = [k for k, (at, _) in enumerate(words) if start <= at < end]
    if len(mentions) < 2 or not inside or any(k in mentions for k in inside):
        return False  # an answer that is an event itself ("the 2015 attack on the Bataclan") is as asked
    if all(k < inside[0] for k in mentions):
        return False  # said after every name of it: "The Six-Day War, or Third Arab-Israeli War, was fought in 1967"

    def gap(k: int) -> int:
        return 0 if inside[0] <= k <= inside[-1] else min(abs(k - inside[0]), abs(k - inside[-1]))

    def told(k: int) -> bool:
        return bool(marks & {w for _, w in words[max(0, k - EVENT_REACH) : k + EVENT_REACH + 1]})

    nearest = min(mentions, key=gap)
    if gap(nearest) > EVENT_ATTACH:
        return False  # not said of any event ("François Hollande — who was the leader ... of the 2015 attack")
    return not told(nearest) and any(told(k) for k in mentions if k != nearest)


# a candidate that names the one the question asks about (``names_asker``) or is said by another holder of
# the question's role (``other_holder``): its probability times this
ANOTHER_ONE = 0.5

# Between the asked verb and its object: no other verb ("announced on Sunday that ..." is clean; "announced that the
# alert would rise, calling for vigilance" is not, for "vigilance"), and the object opens with no preposition
_CLAUSE_VERBS = frozenset({"is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does",
                           "did", "will", "would", "can", "could", "should", "shall", "may", "might", "must"})
_PREPOSITIONS = frozenset({"to", "for", "with", "in", "on", "at", "from", "by", "about", "of", "into", "onto", "as",
                           "against", "over", "under", "through", "towards", "toward", "upon", "via", "per"})
_PERSONAL = frozenset({"he", "she", "they", "it", "his", "her", "their", "its", "we", "our", "i", "my"})
_OBJECT_REACH = 20  # words between the verb and its object, at most
# a candidate beside the asked verb's object, where another candidate is that object: its probability times this
OFF_VERB = 0.5
# an answer to "What does X stand for?" that is not a name X abbreviates, where another candidate is
NOT_SPELLED_OUT = 0.5

_ASKS_WHAT_DONE = re.compile(r"^\s*(?:(?:and|but|so)\s+)?what\s+(?:(?P<base>did|does|do|will|would|could|can)|"
                             r"(?P<be>was|were|is|are|has been|have been|had been|will be)|has|have|had)\s+"
                             r"(?P<rest>.+?)\s*[?.!]*\s*$", re.IGNORECASE)
# what may follow the asked verb in "What did X do (to Y)?": not "of", which goes with X ("the mayor of Lyon")
_AFTER_VERB = frozenset(_PREPOSITIONS - {"of", "as", "per", "via"} | {"after", "before", "during", "since", "despite"})
# verbs whose object is a name of their subject: "What was the bridge called?"
_NAMING = frozenset({"call", "called", "calls", "name", "named", "names", "known", "dub", "dubbed", "nickname",
                     "nicknamed", "title", "titled", "rename", "renamed", "term", "termed", "label", "labelled",
                     "labeled", "brand", "branded"})


class _Asked(NamedTuple):
    """What a "What did X do?" question asks: its subject X, its verb, whether that verb is its own lemma
    (after "did", "will" ...) and whether it is a passive's participle ("What was the company fined?")."""

    subject: str
    verb: str
    base: bool
    be: bool


@lru_cache(maxsize=1024)
def _asks_what_done(question: str) -> _Asked | None:
    """A "What did X do?" question ("What did Attal announce?", "What was the company fined?", "What did the
    French government propose to the Russian services?"), else None. The verb is the last word, unless a
    determiner comes before it ("... say about the bridge?"), else the first verb before a preposition (not
    after "was"); a word is a verb by lemminflect's tables (after "was", a past participle: "What was the
    cause?" asks no such thing). An auxiliary is none ("... to be?"), and a question that ends on a
    preposition asks for its object, not the verb's ("What does AFC stand for?")."""
    m = _ASKS_WHAT_DONE.match(question)
    words = m.group("rest").split() if m else []
    if len(words) < 2 or words[-1].lower() in _PREPOSITIONS | _CLAUSE_VERBS:
        return None
    base, be = bool(m.group("base")), bool(m.group("be"))

    def verb(k: int) -> bool:
        w = words[k].lower()
        if not w.isalpha() or w in _CLAUSE_VERBS or w in _PREPOSITIONS:
            return False
        return inflection.participle(w) if be else bool(inflection.forms(w, base))

    last = len(words) - 1
    places = [last] if words[last - 1].lower() not in DETERMINERS else []
    if not be:  # after "was", a participle before a preposition may be a noun's: "the cameras used in ..."
        places += [k for k in range(1, last) if words[k + 1].lower() in _AFTER_VERB]
    k = next((k for k in places if verb(k)), None)
    return None if k is None else _Asked(" ".join(words[:k]), words[k].lower(), base, be)


_ASKS_WHO_DONE = re.compile(r"^\s*(?:(?:and|but|so)\s+)?(?:who|whom)\s+(?:did|does|do|has|have|had|will|would|could|"
                            r"can)\s+(?P<subject>.+?)\s+\w+(?:\s+(?:to|for|with|from|by|about|against|at|on|in))?"
                            r"\s*[?.!]*\s*$", re.IGNORECASE)


def names_asker(question: str, sentence: str, start: int, end: int) -> bool:
    """The name at ``sentence[start:end]`` is the one the question asks about: "Maria Zakharova" of "What
    did the Kremlin spokeswoman claim?" in "Kremlin spokeswoman Maria Zakharova suggesting ...", "Prime
    Minister" of "Who did Gabriel Attal work for?" in "Prime Minister Gabriel Attal announced ..." (a "What
    did X do?" or "Who did X do (to)?" question, the candidate a capitalised name right after a word of X,
    or right before one)."""
    asked = _asks_what_done(question)
    who = None if asked else _ASKS_WHO_DONE.match(question)
    answer = sentence[start:end].strip()
    words = _WORD.findall(answer)
    if asked is None and who is None or not words or \
            not all(w[:1].isupper() or w.lower() in NAME_JOINS for w in words) or \
            asked is not None and asked.verb in _NAMING:  # "What was the bridge called?" asks for its name
        return False
    subject = {w.lower() for w in _WORD.findall(asked.subject if asked else who.group("subject"))} - \
        _stopwords() - _ASKING
    before = [w.lower() for w in _WORD.findall(sentence[:start])[-1:]]  # "Matlin provided American Sign ...": no
    after = [w.lower() for w in _WORD.findall(sentence[end:])[:1] if re.match(r"\s+\w", sentence[end:])]  # not "(AFC)"
    return bool(subject & {*before, *after})


_WHO_IS = re.compile(r"^\s*(?:(?:and|but|so)\s+)?who\s+(?:is|was|are|were)\s+(?P<name>[^?]+?)\s*[?.!]*\s*$",
                     re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_][\w'’-]*")  # words in any alphabet: "François"


def holds_asked_name(question: str, answer: str) -> bool:
    """``answer`` to "Who was François Hollande?" holds the name asked about: "former French President François
    Hollande — who was the leader of France" says who he was with his name in it, and "François Hollande"
    says nothing. X is a name, every word capitalised but for joins ("the", "of"). (SQuAD's annotators hardly ever
    asked "Who is X?", and its "What is X?" answers often say X's words: "a body of treaties ... on the laws
    of European Union member states" for "What is European Union Law?"; a chat asks "Who was he?" after a
    name.)"""
    m = _WHO_IS.match(question)
    words = _LETTERS.findall(m.group("name")) if m else []
    if not words or not all(w[:1].isupper() or w.lower() in NAME_JOINS | DETERMINERS for w in words):
        return False  # "Who is the French interior minister?" asks for a name, not about one
    name = {w.lower() for w in words if w[:1].isupper()}
    return bool(name & {w.lower() for w in _LETTERS.findall(answer)})


# a question that asks for an abbreviation, what one stands for or a name: its answer may be one
_ASKS_ABBREVIATION = re.compile(r"\b(?:abbreviat\w*|acronym|initials|short for|for short|stands? for|stood for|called|"
                                r"known as|(?:nick)?named)\b", re.IGNORECASE)


def abbreviates_asked(question: str, answer: str) -> bool:
    """``answer`` is only the abbreviation of a name the question spells out: "IS-K" for "What is Islamic State
    in Khorasan a splinter cell of?" says the asked name again, in short. Not for a question that asks for an
    abbreviation ("What is the Islamic State in Khorasan called for short?" -> "IS-K" is its answer)."""
    if _ASKS_ABBREVIATION.search(question) or not re.fullmatch(r"(?:the\s+)?[A-Z][A-Z.-]*[A-Z]\.?", answer.strip()):
        return False  # "US Supreme Court" for "What U.S. entity ...?" says more than the name again
    words = _LETTERS.findall(question)[1:]  # not the question word
    names = [" ".join(words[i : j + 1]) for i in range(len(words)) for j in range(i + 1, min(len(words), i + 8))
             if words[i][:1].isupper() and words[j][:1].isupper()
             and all(w[:1].isupper() or w.lower() in UNSPELLED for w in words[i + 1 : j])]
    return any(abbreviates(answer, name) for name in names)


def object_of_verb(question: str, sentence: str, start: int, end: int) -> bool | None:
    """Whether the answer at ``sentence[start:end]`` is the object of a "What did X do?" question's verb where
    the sentence says that verb before it: "What did Attal announce?" of "Attal announced on Sunday that the
    alert would rise, calling for vigilance": "the alert would rise" is (True), "vigilance" is not (False),
    nor "to the Russian services" of "proposed to the Russian services ... increased cooperation" (a
    preposition's object), nor an answer that says the verb itself. None: no such question, or the sentence
    says the verb nowhere before the answer (its answer may come first: "the offer, proposed by ...")."""
    asked = _asks_what_done(question)
    forms = inflection.forms(asked.verb, asked.base) if asked else frozenset()
    if not forms:
        return None
    words = [(w.start(), w.end(), w.group().lower()) for w in _WORD.finditer(sentence)]
    said = [(s, e) for s, e, w in words if w in forms and e <= start]
    inside = [w for s, _, w in words if start <= s < end]
    if inside and forms & set(inside):
        return False
    if not said or not inside:
        return None
    gap = sentence[said[-1][1] : start]
    between = [w.lower() for w in _WORD.findall(gap)]
    while between and between[-1] in DETERMINERS:  # "proposed to the | Russian services"
        between.pop()
    if (inside[0] in _PREPOSITIONS or between and between[-1] in _PREPOSITIONS or len(between) > _OBJECT_REACH
            or re.search(r"[;:.!?]", gap) or any(w in _CLAUSE_VERBS or len(w) > 4 and w.endswith("ing")
                                                 for w in between)):
        return False
    # the verb's own object, if the one asked about (or a pronoun for it) says it: not "despite ISIS claiming
    # responsibility" for "What did Maria Zakharova claim?"
    subject = {w.lower() for w in _WORD.findall(asked.subject)} - _stopwords() - _ASKING
    before = {w.lower() for w in _WORD.findall(sentence[: said[-1][0]])}
    return True if before & (subject | _PERSONAL) else None


_WHO_DID = re.compile(r"^\s*(?:(?:and|but|so)\s+)?who\s+(?P<verb>[a-z]+)\b", re.IGNORECASE)
_BE = frozenset({"is", "are", "was", "were", "be", "been", "being"})


def _who_did_verb(question: str) -> str:
    """The verb of a "Who did it?" question ("Who warned of the storm?" -> "warned"); "" for any other question
    ("Who was ...?", "Who else ...?")."""
    m = _WHO_DID.match(question)
    verb = m.group("verb").lower() if m else ""
    return "" if verb in _CLAUSE_VERBS or verb == "else" else verb


def agent_unsaid(question: str, sentence: str) -> bool:
    """``sentence`` says the verb of a "Who did it?" question only in the passive, with no "by": it never says
    who did it. Of "Who warned of the storm?", "The festival's director, Emily Carter, said safety staff had
    been warned of the storm" names only the one who said so. (Of SQuAD v1.1 dev's 1,059 "Who <verb> ...?"
    questions, 4 have their answer in such a sentence: "was constructed in collaboration with Robert
    Stephenson".)"""
    verb = _who_did_verb(question)
    if not verb:
        return False
    forms = inflection.forms(verb)
    words = [w.lower() for w in _WORD.findall(sentence)]
    places = [k for k, w in enumerate(words) if w in forms]
    return bool(places) and all(inflection.participle(words[k]) and _BE & set(words[max(0, k - 2) : k])
                                and "by" not in words[k + 1 :] for k in places)


_SUBJECT_PRONOUNS = frozenset({"he", "she", "they", "we", "i"})
# adverbs that may stand between a subject and its verb ("she has since apologised"), besides words in -ly
_BETWEEN = frozenset({"also", "since", "then", "later", "already", "never", "still", "not", "just", "first", "soon",
                      "once", "now"})


def pronoun_did(question: str, sentence: str, start: int, end: int) -> bool:
    """The answer at ``sentence[start:end]`` comes after a "Who did it?" question's verb whose doer the sentence
    gives only as a pronoun: of "Who apologised?", "She apologised to fans on Sunday" says who did it only
    as "She", and "fans" is to whom (auxiliaries and adverbs may stand between: "she has since apologised").
    (No gold answer of SQuAD v1.1 dev's 1,059 "Who <verb> ...?" questions is such, 2 of train's 8,150.)"""
    verb = _who_did_verb(question)
    if not verb:
        return False
    forms = inflection.forms(verb)
    words = [(w.start(), w.end(), w.group().lower()) for w in _WORD.finditer(sentence)]
    for k, (_, e, w) in enumerate(words):
        if w not in forms or e > start:
            continue
        j = k - 1
        while j >= 0 and (words[j][2] in _CLAUSE_VERBS | _BETWEEN or words[j][2].endswith("ly")) and k - j <= 3:
            j -= 1
        passive = bool(_BE & {x for _, _, x in words[j + 1 : k]}) and inflection.participle(w)  # "may be appointed"
        if j >= 0 and words[j][2] in _SUBJECT_PRONOUNS and not passive and \
                "by" not in {x.lower() for x in _WORD.findall(sentence[e:start])}:
            return True
    return False


def says_asked_verb(question: str, answer: str) -> bool:
    """``answer`` to a "Who did it?" question says the asked verb itself: a clause, not who ("fans on Sunday and
    promised full refunds" for "Who promised full refunds?"). (3 of SQuAD v1.1 dev's 536 such questions have a
    gold answer that does: "DATAPAC was developed by Bell Northern Research".)"""
    verb = _who_did_verb(question)
    if not verb:
        return False
    return bool(inflection.forms(verb) & {w.lower() for w in _WORD.findall(answer)})


def led_by_preposition(question: str, answer: str) -> bool:
    """``answer`` to a "What did X do?" question begins with a preposition: "to the Russian services" for "What
    did Macron's government propose?" names to whom, not what (of the 554 such questions in SQuAD v1.1 dev,
    none has a gold answer all its annotators began with one)."""
    words = _WORD.findall(answer)
    return bool(words) and words[0].lower() in _PREPOSITIONS and _asks_what_done(question) is not None


def other_holder(question: str, sentence: str) -> bool:
    """``sentence`` speaks of another holder of the role the question names: "What did the interior minister
    warn?" and "Prime Minister Gabriel Attal announced ..." (the role word told apart by another word,
    never by the question's)."""
    asked = roles(question)  # a capitalised title ("Carolina Panthers player") is a name, not a role told apart
    if not asked:
        return False
    words = [w.lower() for w in TOKEN.findall(sentence)]
    for modifier, role in asked:
        if role_in(sentence, modifier, role):
            return False
        if any(w in (role, role + "s") and k > 0 and words[k - 1] not in _PLAIN_MODIFIERS
               and words[k - 1].isalpha() and words[k - 1] not in _stopwords() for k, w in enumerate(words)):
            return True
    return False


# "Did he accept?", "Is Macron talking to him directly?": a question the articles' words cannot answer,
# only a yes or a no; not "Is it Monday or Friday?" and not "Do you know who ...?"
_POLAR = re.compile(r"^\s*(?:(?:and|but|so|then)\s*,?\s+)?(?:is|are|was|were|am|do|does|did|has|have|had|can|could|"
                    r"will|would|should|shall|may|might|must)(?:n't)?\b", re.IGNORECASE)
_WH = re.compile(r"\b(?:who|whom|whose|what|when|where|which|why|how|or)\b", re.IGNORECASE)


# what the page and `qa ask` say to a yes-or-no question, withheld and answered: a span is no yes or no
YES_OR_NO = ("This asks for a yes or a no; answers here are words quoted from the articles. "
             "Ask who, what, when, where or how many.")
YES_OR_NO_QUOTED = ("This asks for a yes or a no: below are the words of the articles that bear on it, "
                    "not a yes or a no. Read the cited sentence.")


def asks_yes_or_no(question: str) -> bool:
    """Whether ``question`` asks for a yes or a no, which no span of an article is."""
    return bool(_POLAR.match(question)) and not _WH.search(question)


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as `qa ask --json` and the JSON API give it: its fields, and ``yes_or_no`` when its
    question asks for a yes or a no (the words quoted bear on it; they are no yes or no)."""
    return {**answer.to_dict(), "yes_or_no": asks_yes_or_no(answer.question)}


def question_type(question: str) -> str:
    """The kind of answer a question asks for: yes/no, when, number, who, where or other."""
    if asks_yes_or_no(question):
        return "yes/no"
    q = question.lower()
    if re.search(r"\bhow (many|much|long|old|far|often|large|big|tall|high)\b|\bwhat (percentage|number|amount)\b",
                 q):
        return "number"
    if re.search(r"\bwhen\b|\b(?:what|which) (year|date|day|month|week|century|decade|time)\b", q):
        return "when"
    if re.search(r"\bwho(m|se)?\b", q):
        return "who"
    if re.search(r"\bwhere\b", q):
        return "where"
    return "other"


def type_mismatch(question: str, answer: str) -> float:
    """1.0 when the answer plainly is not the kind the question asks for, else 0.0."""
    kind = question_type(question)
    if kind == "when":
        return 0.0 if _DATE_WORDS.search(answer) else 1.0
    if kind == "number":
        return 0.0 if _NUMBER_WORDS.search(answer) else 1.0
    if kind in ("who", "where"):
        return 0.0 if any(ch.isupper() for ch in answer) else 1.0
    return 0.0


@dataclass(frozen=True)
class Signals:
    """What is known about one answer; every field is a number, so the model is a dot product."""

    span_logit: float  # the reader's span score, as log-odds
    no_answer_logit: float  # the cited passage's no-answer score, as log-odds
    min_no_answer_logit: float  # the lowest no-answer score over all passages read
    margin: float  # span score minus the runner-up answer's
    names_missing: float  # share of the question's names, numbers, dates and roles absent from the passage
    any_name_missing: float  # 1.0 if any of them is absent
    words_in_sentence: float  # share of the question's content words in the cited sentence
    words_in_passage: float  # ... in the whole passage
    type_mismatch: float
    answer_in_question: float  # share of the answer's words already in the question
    answer_words: float  # log of the answer's length in words
    places: float  # log(1 + other places giving the same answer)
    passage_rank: float  # 0 for the first passage read
    retrieval_score: float  # the passage's fused retrieval score x 60 (1.0 = ranked first by one retriever)

    @classmethod
    def names(cls) -> list[str]:
        return list(cls.__dataclass_fields__)

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}

    @classmethod
    def of(cls, checks: dict[str, float]) -> Signals:
        """The signals among an answer's checks (``Answer.signals``; those ``besides_signals`` reads are not)."""
        return cls(**{k: checks[k] for k in cls.names()})


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(z, -40.0), 40.0)))


def signals(
    question: str, answer: str, sentence: str, passage: str, span_score: float, no_answer: float,
    min_no_answer: float, runner_up: float, places: int = 1, passage_rank: int = 0,
    retrieval_score: float = 0.0, site: str = "",
) -> Signals:
    """The signals of one answer found in ``sentence`` of ``passage``; ``site``: the publisher of the
    passage's article, which a question may name without the passage doing so ("according to the Daily
    Rhône")."""
    cased = truecased(question, passage)  # "who did zakharova accuse?" names Zakharova too
    names = [cased[s:e] for _, s, e in phrases(cased)]
    missing = [n for n in names if not any(contains_phrase(passage, x) for x in (n, *aliases(n)))
               and not (site and contains_phrase(site, n))]
    # a role told apart by a word ("the foreign minister") the passage never names counts as a missing name
    # (the Interior Minister is not it); one it names changes nothing, as the verifier was fitted
    absent = [f"{m} {r}" for m, r in roles(question) if not role_in(passage, m, r)]
    names, missing = names + absent, missing + absent
    q_words = content_stems(question)
    a_words = content_stems(answer)
    return Signals(
        span_logit=_logit(span_score),
        no_answer_logit=_logit(no_answer),
        min_no_answer_logit=_logit(min_no_answer),
        margin=span_score - runner_up,
        names_missing=len(missing) / len(names) if names else 0.0,
        any_name_missing=1.0 if missing else 0.0,
        words_in_sentence=len(q_words & content_stems(sentence)) / len(q_words) if q_words else 1.0,
        words_in_passage=len(q_words & content_stems(passage)) / len(q_words) if q_words else 1.0,
        type_mismatch=type_mismatch(question, answer),
        answer_in_question=len(a_words & q_words) / len(a_words) if a_words else 0.0,
        answer_words=math.log(1 + len(answer.split())),
        places=math.log(max(1, places)),
        passage_rank=float(passage_rank),
        retrieval_score=60.0 * retrieval_score,
    )


class Verifier:
    """Calibrated probability that an answer is right, from its ``Signals``.

    ``calibration``: ``{"given": model, "retrieved": model, "follow_up": model}``, each model
    ``{"features": [...], "mean": [...], "scale": [...], "coef": [...], "intercept": b}``
    (standardised logistic regression). Without a model for the case, the reader's own
    span score is the confidence, as before calibration existed.
    """

    def __init__(self, calibration: dict[str, Any] | None = None):
        self.calibration = calibration or {}

    def calibrated(self, retrieved: bool) -> bool:
        return ("retrieved" if retrieved else "given") in self.calibration

    def probability(self, signals: Signals, span_score: float, retrieved: bool, follow_up: bool = False) -> float:
        """``follow_up``: a question read with a conversation's history, scored by the follow-up model
        when the reader has one (else as any retrieved question)."""
        model = self.calibration.get("follow_up") if follow_up and retrieved else None
        model = model or self.calibration.get("retrieved" if retrieved else "given")
        if model is None:
            return span_score
        return predict(model, signals)

    def alternative(self, score: float) -> float:
        """An answer's probability as a runner-up: the models are fitted on the answers they choose, and the
        candidates they rank below overstate (on held-out retrieved passages 25% of runner-ups scored 0.5
        or more were right); ``calibration["alternatives"]`` (``{"intercept", "slope"}`` on the log-odds)
        rescales them. The score as it is without one."""
        scale = self.calibration.get("alternatives")
        if not scale:
            return score
        return _sigmoid(scale["intercept"] + scale["slope"] * _logit(score))


def predict(model: dict[str, Any], s: Signals) -> float:
    """A fitted model's probability for one answer's signals."""
    values = asdict(s)
    z = float(model["intercept"])
    for name, mean, scale, coef in zip(model["features"], model["mean"], model["scale"], model["coef"]):
        z += coef * (float(values[name]) - mean) / scale
    return _sigmoid(z)


# the checks that make an answer likely another one than asked for: ``ANOTHER_ONE`` of its probability
_ANOTHER_ONE_CHECKS = ("names_asker", "other_holder", "agent_unsaid", "pronoun_did", "says_asked_verb",
                       "holds_asked_name", "abbreviates_asked")


def besides_signals(checks: dict[str, float]) -> float:
    """What an answer's checks that are no signal make of its probability: ``EVENT_ELSEWHERE`` for an
    answer of another event than the question's, ``OFF_VERB`` for one beside the asked verb's object where
    another candidate is that object (``object_of_verb``), ``NOT_SPELLED_OUT`` for one that does not spell
    out the abbreviation asked about where another does (``qa.text.spells_out``), ``ANOTHER_ONE`` for one
    that names the one asked about (or holds the name a "Who was X?" asks about, or abbreviates a name the
    question spells out: ``abbreviates_asked``), is said by another holder of
    the question's role or stands in a sentence that never says who did what a "Who did it?" question asks
    (``agent_unsaid``), or says it only as a pronoun before the verb (``pronoun_did``), or answers it with a
    clause that says the asked verb (``says_asked_verb``), else 1."""
    factor = EVENT_ELSEWHERE if checks.get("event_elsewhere") else 1.0
    factor *= OFF_VERB if checks.get("off_verb") else 1.0
    factor *= NOT_SPELLED_OUT if checks.get("not_spelled_out") else 1.0
    return factor * (ANOTHER_ONE if any(checks.get(c) for c in _ANOTHER_ONE_CHECKS) else 1.0)


def checked(model: dict[str, Any], checks: dict[str, float]) -> float:
    """``predict`` for an answer's checks as ``qa.answering.compose`` records them (``Answer.signals``):
    its signals, times what the other checks make of it (``besides_signals``)."""
    return predict(model, Signals.of(checks)) * besides_signals(checks)


def fit(rows: list[Signals], right: list[bool], features: list[str] | None = None, l2: float = 1.0,
        iterations: int = 50) -> dict[str, Any]:
    """Logistic regression (Newton's method, L2 penalty ``l2`` on standardised features) of ``right``
    on the signals; the result is what ``predict`` and ``Verifier`` take."""
    import numpy as np

    features = features or Signals.names()
    x = np.array([[getattr(r, f) for f in features] for r in rows], dtype=float)
    y = np.array(right, dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    w = logistic((x - mean) / scale, y, l2, iterations)
    return {"features": features, "mean": mean.tolist(), "scale": scale.tolist(), "coef": w[1:].tolist(),
            "intercept": float(w[0])}


def logistic(x: Any, y: Any, l2: float = 1.0, iterations: int = 50) -> Any:
    """Logistic regression of ``y`` (0/1) on the columns of ``x`` by Newton's method, with an L2
    penalty ``l2`` on every weight but the intercept: the weights, intercept first (numpy arrays)."""
    import numpy as np

    z = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40, 40)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def reliability(scores: list[float], right: list[bool], bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error and the reliability table: per score bin, how many answers, their
    mean score and the share that were right."""
    table = []
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(s, r) for s, r in zip(scores, right) if low <= s < high or (b == bins - 1 and s == 1.0)]
        if not inside:
            table.append({"low": low, "high": high, "n": 0, "mean_score": None, "right": None})
            continue
        mean_score = sum(s for s, _ in inside) / len(inside)
        share = sum(1 for _, r in inside if r) / len(inside)
        ece += len(inside) / max(1, len(scores)) * abs(mean_score - share)
        table.append({"low": low, "high": high, "n": len(inside), "mean_score": mean_score, "right": share})
    return ece, table
