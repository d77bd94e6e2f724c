"""What earlier turns talked about, as a pronoun may refer to it: people, groups, places, events and
things, with their gender where the text shows it (``qa.followup``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa import inflection
from qa.followup.words import (
    FEMALE,
    FEMALE_CUES,
    FUNCTION,
    GROUP_WORDS,
    MALE,
    MALE_CUES,
    MAX_ENTITY_WORDS,
    NAME_JOINS,
    NEUTER,
    NOT_NOUNS,
    PLACE_PREPOSITIONS,
    PLACE_WORDS,
    PRONOUNS,
    QUESTION_WORDS,
    TIME_PHRASE,
    TIME_QUESTION,
    mid_question,
    tokens,
)
from qa.schema import Answer
from qa.text import EVENT_NOUNS, POSSESSIVE, ROLES, TOKEN, aliases, name_end


@dataclass(frozen=True)
class Entity:
    """Something earlier turns talked about, as a pronoun may refer to it."""

    text: str
    kind: str  # "person", "group", "place", "event", "time", "amount", "role", "action" or "thing"
    gender: str = ""  # "m", "f" or "" when the text does not show it
    turn: int = 0  # how many turns back (0: the last one)
    topic: bool = False  # an earlier follow-up's pronoun was completed with it: what the conversation is about
    answer: bool = False  # it was (part of) an earlier answer, not named in a question
    # named only after "of", as what another noun belongs to ("the mayor of Lund"): a weaker "it"
    modifier: bool = False


def entities_of(recent: Sequence[Answer]) -> list[Entity]:
    """What ``recent`` answers (newest first) talked about, most salient first: the conversation's
    topic (what an earlier pronoun was completed with), then per turn, newest first, its answer (when
    short enough to be a name) and the names and role phrases of its question."""
    found: list[Entity] = []
    topics: list[Entity] = []
    evidence: list[Entity] = []  # names said again in older turns: not ranked again, but what they show counts
    for back, a in enumerate(recent):
        question = a.query or a.question
        if a.text and len(tokens(a.text)) <= MAX_ENTITY_WORDS:
            found.append(_answer_entity(a, question, back))
        elif a.text and len(tokens(a.text)) <= 2 * MAX_ENTITY_WORDS and "," not in a.text \
                and " and " not in a.text:  # not a list ("Dorset, Somerset and Hampshire")
            # "the 2015 attack on the Bataclan Theatre": what "it" may be, and the names inside it
            if set(tokens(a.text.lower())) & EVENT_NOUNS:
                found.append(Entity(a.text, "event", "", back, answer=True))
            named = re.sub(r"^the\s+", "", a.text)
            words = tokens(named)
            if words and name_end(words, 0, joins=NAME_JOINS, not_first=FUNCTION) == len(words):
                # "the Islamic State in Khorasan": one name, article and all
                found.append(Entity(a.text, "group" if _looks_plural(named) else "thing", "", back, answer=True))
            found += [Entity(p, k, _gender(p, a.text), back, answer=True) for p, k in phrases(a.text)
                      if k != "time" and p[:1].isupper()]
        inserted = _inserted(a.question, a.query) if a.query and a.query != a.question else []
        if a.query and a.query != a.question and back + 1 < len(recent):
            # an earlier answer carried into this reading ("In which city?" -> "In which city was Bataclan
            # Theatre attacked?"): what the conversation is about
            carried = recent[back + 1].text or ""
            if carried and len(tokens(carried)) <= MAX_ENTITY_WORDS and carried not in a.question and \
                    re.search(rf"\b(?:is|are|was|were) {re.escape(carried)} [a-z]+(?:ed|en|wn|lt|ght)\b", a.query):
                inserted.append(carried)  # as a passive's subject: "was Bataclan Theatre attacked"
        for phrase in inserted:  # what a pronoun stood for last time: what the conversation is about
            phrase = mid_question(phrase)  # "The Kremlin spokeswoman's name?": it opened the reading
            said = {w.lower() for w in tokens(a.question)}
            kind = kind_of(phrase, question)
            if said & (NEUTER | {"there"}) and not said & (MALE | FEMALE):
                kind = "thing" if kind == "person" else kind  # it was "it", not "he"
            # "What did she suggest?" -> "What did Maria Zakharova suggest?": the asker's own "she" tells
            gender = "f" if said & FEMALE and not said & MALE else "m" if said & MALE and not said & FEMALE else ""
            if kind != "time" and phrase[:1].isalnum() and len(tokens(phrase)) <= 2 * MAX_ENTITY_WORDS:
                topics.append(Entity(phrase, kind, gender or _gender(phrase, question), back, topic=True))
        seen = " ".join(p.text for p in a.passages[:2])
        cited = " ".join(c.sentence for c in a.citations[:2])
        read = f"{seen} {cited}"
        for phrase, kind in phrases(question):
            if kind == "time" or _opening_word(phrase, question, read):
                continue
            repeated = any(phrase.lower() == e.text.lower() for e in found)  # still evidence of gender and kind
            gender = _gender(phrase, question)
            if kind == "thing" and len(tokens(phrase)) == 1:  # "Macron" alone: a person if the articles say so
                gender = _gender(phrase, seen) or _gender(phrase, cited)
                if gender or _titled(phrase, read) or _surname(phrase, read):
                    kind = "person"  # "Interior Minister Gérald Darmanin", "Vladimir Putin": a he or she
            modifier = bool(re.search(rf"\bof\s+{re.escape(phrase)}\b", question))
            (evidence if repeated else found).append(Entity(phrase, kind, gender, back, modifier=modifier))
    ranked = topics + [e for e in found if all(e.text != t.text for t in topics)]
    # one name, one gender: "Emmanuel Macron" of a later question is the "he" his answer's sentence showed
    # and one kind: a name the articles show to be a person's is a person's wherever it was said
    known, people = {}, {e.text.lower() for e in topics + found + evidence if e.kind == "person"}
    for e in topics + found + evidence:
        if e.gender:
            known.setdefault(e.text.lower(), e.gender)
    return [replace(e, gender=e.gender or known.get(e.text.lower(), ""),
                    kind="person" if e.kind == "thing" and e.text.lower() in people else e.kind) for e in ranked]


def _opening_word(phrase: str, question: str, read: str) -> bool:
    """``phrase`` is one word, capitalised only as the ``question``'s first, that the passages ``read``
    write in lower case: "Rather" of "Rather than what?" is no name for "they" to stand for."""
    return len(tokens(phrase)) == 1 and question.lstrip().startswith(phrase) and \
        re.search(rf"\b{re.escape(phrase.lower())}\b", read) is not None


def _inserted(question: str, query: str) -> list[str]:
    """The text ``query`` put in place of ``question``'s pronouns: "the attack" for "it" in "Who claimed
    it?" -> "Who claimed the attack?" (possessive endings and a leading "in" dropped)."""
    import difflib

    said, read = question.split(), query.split()
    found = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=said, b=read, autojunk=False).get_opcodes():
        if op == "replace" and i2 - i1 == 1:
            words = read[j1:j2]
            if len(words) > 2 and words[0].rstrip("?.!,") == said[i1].rstrip("?.!,") and \
                    words[1] in PLACE_PREPOSITIONS:
                words = words[1:]  # "died?" -> "died in the Bataclan Theatre?": what was added
            elif re.sub(r"\W", "", said[i1]).lower() not in PRONOUNS:
                continue  # an ellipsis completed ("times?" -> "times did it try ..."), not a pronoun filled
            text = " ".join(words).rstrip("?.!,")
            text = re.sub(r"^in ", "", POSSESSIVE.sub("", text))
            if text:
                found.append(text)
    return found


_KIND_OF = re.compile(r"^\s*(?:and\s+)?what\s+(?:kind|type|sort)s?\s+of\s+(?P<noun>[a-z]+)\b", re.IGNORECASE)


_HOW_MANY = re.compile(r"^\s*(?:and\s+)?how\s+many\s+(?P<noun>[a-z]+)\b", re.IGNORECASE)
# "Which band was playing?": the noun asked for tells what its answer is ("The Coronas": a "they")
_WHICH_NOUN = re.compile(r"^\s*(?:and\s+)?(?:which|what)\s+(?P<noun>[a-z]+)\b", re.IGNORECASE)
_PLURALS = {"men", "women", "people", "children", "police", "staff", "crew", "fans"}
# "Who is Gabriel Attal?" (a name, each word capitalised), not "Who is Russia's former president?"
_WHO_IS_NAME = re.compile(r"^\s*(?i:and\s+)?(?i:who)\s+(?:is|was)\s+"
                          r"[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|al))*\s*\??\s*$")
# "What colour was the weather warning?" -> "yellow": a quality of what was asked about, not a thing
_ASKS_QUALITY = re.compile(r"^(?:and )?(?:what|which) (?:colou?rs?|size|shape|percentage|"
                           r"proportion|rate|age|height|length|width|depth|weight|speed|temperature|score)\b")
# a count of money or measure, never a "they": "410 million euros", "30 metres", "twenty minutes"
_QUANTITY = re.compile(
    r"^(?:(?:about|around|over|under|nearly|almost|some|up to|at least|more than|less than)\s+)?[$€£]?"
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"fifty|hundred|a hundred|a few|several)(?:\s+(?:hundred|thousand|million|billion))?[\s-]+(?:euros?|dollars?|"
    r"pounds?|francs?|yen|yuan|rupees?|roubles?|rubles?|per ?cent|percent|kilomet(?:re|er)s?|km|met(?:re|er)s?|miles?|"
    r"feet|foot|inch(?:es)?|hours?|minutes?|seconds?|days?|weeks?|months?|years?|tonnes?|tons?|kilograms?|kg|"
    r"lit(?:re|er)s?|degrees?|acres?|hectares?|votes?|points?)$", re.IGNORECASE)
_ASKS_DOING = re.compile(r"^(?:and |so )?what (?:did|does|do|will|would|can|could|should|has|have|had|is|are|was|were)"
                         r"\b.*\b(?:do|does|did|done|doing)\s*[?.!]*$")
_ASKS_ROLE = re.compile(r"\b(?:job|title|role|position|post|office|occupation|profession)s?\b")


def _sentence_cased(a: Answer) -> str:
    """``a.text`` without the capital its sentence's start gave it: "opposition councillors" of "Opposition
    councillors criticised the cost" (words after the first in lower case, the passages read never writing the
    first capitalised inside a sentence), so that a later reading does not take "Opposition" for a name; one
    word only when it is a common noun's plural ("organisers": a "they", not a "she")."""
    text = a.text or ""
    words = text.split()
    cited = a.citations[0] if a.citations else None
    if cited is None or cited.start != cited.sentence_start or not words or not words[0][:1].isupper() or \
            not all(w[:1].islower() for w in words[1:]):
        return text
    if len(words) == 1 and not inflection.plural_noun(words[0]):
        return text  # "Ribeiro cut the ribbon": one word may well be a name; "Organisers" is a common noun's plural
    inside = re.compile(rf"(?<![.!?:;“\"]\s)(?<!^)\b{re.escape(words[0])}\b", re.MULTILINE)
    if any(inside.search(t) for t in [*(p.text for p in a.passages), cited.sentence]):
        return text  # capitalised inside a sentence too: a name
    return text[:1].lower() + text[1:]


def _answer_entity(a: Answer, question: str, back: int) -> Entity:
    text = _sentence_cased(a)
    kind_of_noun = _KIND_OF.match(question)
    if kind_of_noun and text:  # "What kind of concert ...?" -> "rock": what was talked about is "the rock concert"
        noun = kind_of_noun.group("noun").lower()
        return Entity(_the(text, noun), "event" if noun in EVENT_NOUNS else "thing", "", back, answer=True)
    counted = _HOW_MANY.match(question)
    if counted and text and len(tokens(text)) <= 3:  # "How many men were charged?" -> "four": "they" are "the four men"
        noun = counted.group("noun").lower()
        people = noun in _PLURALS or noun in GROUP_WORDS or noun[:-1] in ROLES or \
            noun.endswith(("ers", "ors", "ists", "ians", "ents", "ants", "fans"))
        if people:  # people counted are "they"; "the three types" seldom are
            return Entity(_the(text, noun), "group", "", back, answer=True)
    context = " ".join([question] + [c.sentence for c in a.citations[:2]])
    q = question.strip().lower()
    if TIME_QUESTION.match(q):
        kind = "time"
    elif re.match(r"^(?:and )?how (?:many|much|often|old|far|long)\b", q) or _ASKS_QUALITY.match(q):
        kind = "amount"  # "several", "410 million euros", "yellow": never what "it" or "they" stands for
    elif _ASKS_DOING.match(q):
        kind = "action"  # "opened an inquiry" answering "What did Somerset Council do?": no "it" stands for it
    elif _WHO_IS_NAME.match(question):
        kind = "role"  # "Prime Minister" answering "Who is Gabriel Attal?": "he" is still Gabriel Attal
    elif q.startswith(("who ", "whom ", "whose ")) or " who " in f" {q} "[:12]:
        # "the Kremlin", "Kyiv": a place standing for its government is a "they"
        kind = "group" if _looks_plural(text) or aliases(re.sub(r"^the\s+", "", text, flags=re.I)) else "person"
    elif q.startswith("where") or re.match(r"^(in|at|to|from) (what|which)", q):
        kind = "place"
    elif _ASKS_ROLE.search(q):
        kind = "role"  # "President" answering "What is Medvedev's former job?" is no one's name
    elif (asked := _WHICH_NOUN.match(q)) and asked.group("noun") in GROUP_WORDS:
        kind = "group"  # "The Coronas" answering "Which band was playing?"
    else:
        kind = kind_of(text, question)
    return Entity(text, kind, _gender(text, context) if kind == "person" else "", back, answer=True)


def _the(answer: str, noun: str) -> str:
    """What an answer to "What kind of <noun>?" or "How many <noun>?" talks about: "rock" -> "the rock
    concert", "four" -> "the four men", "a rock concert" -> "the rock concert"."""
    bare = re.sub(r"^(?:a|an|the)\s+", "", answer, flags=re.IGNORECASE)
    return f"the {bare}" if noun in bare.lower().split() else f"the {bare} {noun}"


def phrases(text: str) -> list[tuple[str, str]]:
    """Proper-noun phrases ("Emmanuel Macron", "Islamic State in Khorasan") and role phrases
    ("the French president") of ``text``, with a guess of their kind."""
    tokens = list(TOKEN.finditer(text))
    words = [t.group() for t in tokens]
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        lower = tokens[i].group().lower()
        j = name_end(words, i, joins=NAME_JOINS, not_first=FUNCTION, not_inside=QUESTION_WORDS)
        if j > i:
            start, end = tokens[i].start(), tokens[j - 1].end()
            phrase = POSSESSIVE.sub("", text[start:end])  # "Macron's wife": the name is "Macron"
            kind = kind_of(phrase, text, start)
            found.append((phrase, kind))
            i = j
            continue
        if lower in ("the", "a") and i + 1 < len(tokens):  # "the French president", "the four men"
            j = i + 1
            while j < len(tokens) and j - i <= 4 and tokens[j].group().isalnum():
                head = tokens[j].group().lower()
                if head in ROLES or head in GROUP_WORDS:
                    while j + 1 < len(tokens) and tokens[j + 1].group().lower() in ROLES:
                        j += 1
                    phrase = text[tokens[i].start() : tokens[j].end()]
                    found.append((phrase, "group" if _looks_plural(phrase) else "person"))
                    break
                if head in FUNCTION:
                    break
                j += 1
            lands = j < len(tokens) and tokens[j].group().lower() in ROLES | GROUP_WORDS
            if not lands:  # "the attack", "the concert hall attack", "the bridge": what "it" may be
                j = i + 1
                while j < len(tokens) and j - i <= 3 and tokens[j].group().isalpha() and \
                        tokens[j].group().lower() not in FUNCTION | NOT_NOUNS and \
                        (tokens[j].group()[:1].islower() or _names_event(words, j)) \
                        and not tokens[j].group().lower().endswith(("ed", "ly")) \
                        and not (j > i + 1 and inflection.irregular_participle(tokens[j].group())):  # "festival | held"
                    j += 1
                if i > 0 and words[i - 1].lower() in _INVERTING:
                    # "When did the attack | happen?", "Why did the bridge | open late?": the subject ends
                    # before its verb, the first bare verb not followed by another ("the football match end")
                    j = next((k for k in range(i + 2, j) if inflection.base_form(words[k])
                              and not (k + 1 < len(words) and inflection.base_form(words[k + 1]))), j)
                if j > i + 1 and lower == "the":
                    phrase = text[tokens[i].start() : tokens[j - 1].end()]
                    head = tokens[j - 1].group().lower()
                    found.append((phrase, "event" if head in EVENT_NOUNS else "thing"))
                    i = j
                    continue
            i = j + 1 if lands else i + 1
            continue
        i += 1
    return found


# auxiliaries before a question's subject, whose verb then follows it bare: "When did the attack happen?"
_INVERTING = frozenset({"do", "does", "did", "will", "would", "can", "could", "should", "shall", "may", "might",
                        "must"})


def _names_event(words: list[str], j: int) -> bool:
    """``words[j]`` is a name that modifies an event noun soon after it: "Moscow" in "the Moscow attack"."""
    return any(w.lower() in EVENT_NOUNS for w in words[j + 1 : j + 3] if w[:1].islower())


def kind_of(phrase: str, text: str, start: int = -1) -> str:
    words = [w.lower() for w in tokens(phrase)]
    if not words:
        return "thing"
    if any(w in ROLES for w in words[-2:]) and not _looks_plural(phrase):
        return "person"
    if _QUANTITY.match(phrase.strip()):
        return "amount"
    if phrase.isupper() and len(phrase) >= 2 or _looks_plural(phrase):
        return "group"
    if TIME_PHRASE.fullmatch(phrase.lower()):
        return "time"
    if start > 0:
        before = tokens(text[:start])
        if before and before[-1].lower() in PLACE_PREPOSITIONS:
            return "place"
        if before and before[-1].lower() == "the":  # "the United States": names of people take no article
            return "thing"
        if before and before[-1].lower() in ROLES | MALE_CUES | FEMALE_CUES:
            return "person"
    if words[-1] in PLACE_WORDS:
        return "place"
    if len(words) >= 2 and all(w[:1].isupper() for w in tokens(phrase)) and \
            not any(w in GROUP_WORDS for w in words):
        return "person"  # "Emmanuel Macron": two capitalised words, the commonest proper name in news
    return "thing"


def common_plural(phrase: str) -> bool:
    """The phrase ends in a common noun in the plural: "Opposition councillors", "the xenophobic editorials"
    (not "Paris", "the press"): "they", never "it"."""
    words = tokens(phrase)
    last = words[-1] if words else ""
    return last.islower() and last.endswith("s") and not last.endswith(("ss", "us", "is", "ous"))


def plural_name(phrase: str) -> bool:
    """A people named in the plural: "Russians", "Ukrainians", "Americans", "Islamists" ("they", never "it")."""
    return bool(re.fullmatch(r"(?:the\s+)?[A-Z][a-z]+(?:ans|ists|ites)", phrase.strip()))


def _surname(name: str, context: str) -> bool:
    """One word that ``context`` gives as the last of a person's full name ("Putin" after "Vladimir Putin")."""
    return any(kind == "person" and len(tokens(p)) >= 2 and tokens(p)[-1] == name for p, kind in phrases(context))


def _looks_plural(phrase: str) -> bool:
    words = tokens(phrase)
    return bool(words) and (words[-1].lower() in GROUP_WORDS or (phrase.isupper() and len(phrase) >= 3)
                            or common_plural(phrase) or plural_name(phrase) or " and " in f" {phrase.lower()} ")


def _titled(name: str, context: str) -> bool:
    """``context`` gives ``name`` a role just before it ("Interior Minister Gérald Darmanin", "Mayor
    Ana Ribeiro"), with only capitalised words between: the name is a person's."""
    for m in re.finditer(rf"\b{re.escape(name)}\b", context):
        before = tokens(context[max(0, m.start() - 60) : m.start()])[-3:]
        for k in range(len(before) - 1, -1, -1):
            if before[k].lower() in ROLES:
                return True
            if not before[k][:1].isupper():
                break
    return False


def _gender(name: str, context: str) -> str:
    """"m"/"f" when ``context`` says so: a word just before ``name`` ("spokeswoman Maria Zakharova",
    "Mr Macron"), else the first gendered pronoun after it ("Macron said that he ...")."""
    lower = context.lower()
    at = lower.find(name.lower())
    if at < 0:
        return ""
    for cue in reversed(tokens(lower[max(0, at - 40) : at])[-3:] + [w.lower() for w in tokens(name)]):
        if cue in MALE_CUES - MALE:
            return "m"
        if cue in FEMALE_CUES - FEMALE:
            return "f"
    for word in tokens(lower[at + len(name) :])[:15]:
        if word in MALE:
            return "m"
        if word in FEMALE:
            return "f"
    return ""




def new_subject(question: str, turns: Sequence[Answer]) -> bool:
    """The question names something (a proper noun) that no earlier turn mentioned: a change of topic."""
    names = [p for p, kind in phrases(question) if kind != "time"]
    if not names:
        return False
    seen = " ".join(
        " ".join([a.query or a.question, a.text or ""] + [c.sentence for c in a.citations[:1]])
        + " " + " ".join(p.text for p in a.passages) for a in turns
    ).lower()
    return all(n.lower() not in seen for n in names)
