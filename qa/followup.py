"""Follow-up questions: read a question in the light of the conversation before it.

A chat question often leans on earlier turns: "What did he propose to the Russian
services?" after "Who offered Russia cooperation?" -> "Emmanuel Macron". This stage
turns such a question into one the retriever and the reader can handle on their own,
without a generative model:

- **readings**: the standalone questions it may mean, likeliest first (``readings``):
  pronouns filled with each plausible antecedent of earlier turns (their answers, the
  names, role phrases and events of their questions: "the French president", "the
  attack"), with number and gender agreement where the text shows it; an ellipsis
  ("Which day?", "And injured?") completed from the last question's frame; "what about
  X?" swapped into the last question. The pipeline reads them and keeps the best
  supported (``qa.pipeline``), so a wrong antecedent shows itself by finding no answer;
- **context**: the earlier questions and answers become a second, weaker retrieval query;
- **focus**: the articles earlier answers were cited from are searched with extra weight,
  so a vague follow-up stays in the story the conversation is about;
- **exclusion**: "Who else ...?" does not give the earlier answer again.

A question that needs nothing from the history ("Who is the French Prime Minister?") is
left as asked; one that names a new subject the conversation has not touched starts
afresh (no focus). ``interpret`` is a pure function of the question and earlier
``Answer``s, so a conversation is nothing more than the list of its answers.

    f = interpret("What did he propose?", [earlier_answer])
    f.query   # "What did Emmanuel Macron propose?"
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from qa.dates import MONTHS, WEEKDAYS
from qa.schema import Answer
from qa.text import POSSESSIVE, TOKEN, aliases, contains_phrase, name_end, truecased

PARTS = ("complete", "context", "focus")  # what a follow-up may take from the history (see ``parse_parts``)
RECENT_TURNS = 3  # turns whose entities pronouns may refer to, newest first
MAX_ENTITY_WORDS = 4  # a longer answer ("the counties of Dorset, Somerset, ...") is no antecedent

_NAME_JOINS = frozenset({"of", "in", "de", "al", "von", "van", "the"})  # inside a name: "Islamic State in Khorasan"

_MALE = {"he", "him", "his", "himself"}
_FEMALE = {"she", "her", "hers", "herself"}
_PLURAL = {"they", "them", "their", "theirs", "themselves"}
_NEUTER = {"it", "its", "itself"}
_PRONOUNS = _MALE | _FEMALE | _PLURAL | _NEUTER | {"there"}
_POSSESSIVE = {"his", "its", "their", "hers", "theirs"}
_ELSE = {"else", "other", "others", "another"}
_VAGUE = {"kind", "type", "sort", "many", "much", "long", "often", "old", "far", "happened", "happen", "did", "do"}
_SAY = {"say", "said", "says", "tell", "told", "write", "wrote", "mean", "meant"}  # "say it": what was said
_POINTERS = {"so", "that", "this", "these", "those", "then"}  # "Who said so?": the last answer's speaker
_QUESTION_WORDS = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could", "will", "would", "has", "have", "had", "should",
                   "in", "on", "at", "to", "for", "from", "by", "with", "and", "but", "so", "the", "a", "an"}
_BE = {"is", "are", "was", "were", "be", "been", "being", "'s", "'re", "am"}
_FUNCTION = _QUESTION_WORDS | _BE | {"of", "about", "that", "this", "these", "those", "there", "then", "not", "no",
                                     "any", "some", "all", "than", "as", "or", "if", "into", "after", "before",
                                     "since", "during", "also", "too", "else", "other", "it", "its", "they",
                                     "their", "them", "he", "his", "him", "she", "her", "mr", "mrs", "ms"}
# Words before "her" that make it an object ("told her"), not a possessive ("her title")
_AFTER_OBJECT = {"?", ".", "!", ",", "to", "in", "on", "at", "for", "from", "by", "with", "about", "and", "or",
                 "as", "that", "when", "after", "before", "during", "into", "over", "than", "so", "because", "if"}

_MALE_CUES = {"mr", "sir", "king", "prince", "spokesman", "chairman", "man", "father", "son", "brother",
              "husband", "actor", "boy", "lord", "uncle", "nephew", "emperor", "duke", "he", "his", "him"}
_FEMALE_CUES = {"mrs", "ms", "miss", "madam", "queen", "princess", "spokeswoman", "chairwoman", "woman",
                "mother", "daughter", "sister", "wife", "actress", "girl", "lady", "aunt", "niece", "empress",
                "duchess", "she", "her"}
# Nouns that name a person by role: "the French president" is a "he" or a "she".
_ROLES = {
    "president", "minister", "spokesman", "spokeswoman", "spokesperson", "leader", "chancellor", "premier",
    "king", "queen", "prince", "princess", "senator", "governor", "mayor", "ambassador", "secretary",
    "chairman", "chairwoman", "director", "chief", "general", "commander", "officer", "official", "judge",
    "prosecutor", "lawyer", "author", "writer", "actor", "actress", "singer", "player", "coach", "captain",
    "man", "woman", "boy", "girl", "father", "mother", "son", "daughter", "brother", "sister", "husband",
    "wife", "emperor", "pope", "bishop", "doctor", "teacher", "student", "scientist", "founder", "ceo",
    "manager", "owner", "editor", "reporter", "journalist", "witness", "suspect", "victim", "soldier",
    "politician", "diplomat", "envoy", "head", "boss", "narrator", "hero", "friend",
}
_GROUP_WORDS = {"group", "groups", "state", "party", "government", "army", "forces", "troops", "militants",
                "terrorists", "services", "police", "company", "team", "council", "union", "organisation",
                "organization", "regime", "cell", "network", "family", "people", "men", "women", "countries",
                "allies", "officials", "leaders", "ministers", "authorities"}
# Last words of names of places and institutions, not people: "Staten Island", "Ohio State University"
_PLACE_WORDS = {"island", "islands", "city", "county", "state", "river", "lake", "mountain", "mountains", "street",
                "park", "republic", "kingdom", "university", "college", "school", "hall", "theatre", "theater",
                "church", "cathedral", "castle", "bridge", "valley", "sea", "ocean", "bay", "coast", "square",
                "airport", "station", "centre", "center", "museum", "library", "hospital", "province", "region",
                "district", "empire", "union", "house", "palace", "tower", "road", "avenue", "plain", "forest"}
_TIME_WORDS = {*WEEKDAYS, "today", "yesterday", "week", "month", "months", "year", "years", "day", "days"}
_NOT_NOUNS = {"first", "last", "now", "most", "best", "same", "only", "next", "still", "just", "very", "least",
              "more", "less", "again", "ever", "never", "yet", "already", "be", "been", "was", "were"}
# Nouns of things that happen: "the attack" is what "it" means in "How many died in it?"
_EVENTS = {"attack", "attacks", "bombing", "shooting", "explosion", "blast", "war", "election", "concert", "festival",
           "offer", "strike", "crash", "fire", "storm", "flood", "earthquake", "meeting", "summit", "deal", "agreement",
           "vote", "trial", "protest", "ceremony", "match", "game", "visit", "speech", "interview", "announcement",
           "opening", "evacuation", "inquiry", "investigation", "raid", "riot", "massacre", "siege", "invasion",
           "accident", "collapse", "disaster", "campaign", "race", "tournament", "show", "launch", "merger", "sale"}
# a phrase that is a time and nothing else: "on Monday", "in 2015", "march 5"
_TIME_PHRASE = re.compile(rf"(on |in )?({'|'.join(WEEKDAYS)}|\d{{4}}|{'|'.join(MONTHS)})( \d+)?")
_PLACE_PREPOSITIONS = {"in", "at", "to", "from", "into", "near", "across", "inside", "outside"}
_TIME_QUESTION = re.compile(r"^\s*(when|what (day|date|time|year|month)|on which day|in which year|how long)\b",
                            re.IGNORECASE)
_FRAGMENT = re.compile(r"^\s*(?:(?:and|but)\s+)?(?:what|how)\s+about\s+(?P<x>.+?)\s*\??\s*$|"
                       r"^\s*(?:and|but)\s+(?P<y>[^?]+?)\s*\?\s*$", re.IGNORECASE)


def parse_parts(parts: str | Collection[str] | None) -> frozenset[str]:
    """The follow-up parts to use: "all" (or None), "none", or a comma list of ``PARTS``.

        parse_parts("complete,focus") == frozenset({"complete", "focus"})
    """
    if parts is None:
        return frozenset(PARTS)
    names = [p.strip().lower() for p in (parts.split(",") if isinstance(parts, str) else parts) if p.strip()]
    if names in (["all"], []):
        return frozenset(PARTS) if names == ["all"] else frozenset()
    if names == ["none"]:
        return frozenset()
    unknown = sorted(set(names) - set(PARTS))
    if unknown:
        from qa.errors import QAError

        raise QAError(f"unknown follow-up part {', '.join(unknown)}: use all, none or a comma list of "
                      f"{', '.join(PARTS)}")
    return frozenset(names)


@dataclass(frozen=True)
class Entity:
    """Something earlier turns talked about, as a pronoun may refer to it."""

    text: str
    kind: str  # "person", "group", "place", "time" or "thing"
    gender: str = ""  # "m", "f" or "" when the text does not show it
    turn: int = 0  # how many turns back (0: the last one)
    topic: bool = False  # an earlier follow-up's pronoun was completed with it: what the conversation is about
    answer: bool = False  # it was (part of) an earlier answer, not named in a question


@dataclass(frozen=True)
class FollowUp:
    """A question read in the light of the conversation: what to search, read and leave out."""

    question: str  # as asked
    query: str  # standalone: what the retriever searches and the reader reads
    context: str = ""  # earlier questions and answers: a second, weaker retrieval query
    articles: dict[str, float] = field(default_factory=dict)  # article id -> focus weight (earlier citations)
    exclude: tuple[str, ...] = ()  # earlier answers that "who else?" asks past
    needs_history: bool = False  # the question leans on earlier turns (pronoun, fragment, "else")
    # other standalone readings of the question, next most plausible first: the pipeline reads them
    # beside ``query`` and keeps the best supported one (see ``readings``)
    alternatives: tuple[str, ...] = ()

    @property
    def readings(self) -> tuple[str, ...]:
        """Every reading to verify, the simplest (``query``) first."""
        return (self.query, *self.alternatives)

    @property
    def uses_history(self) -> bool:
        """Something of the conversation went into answering: scored by the follow-up model."""
        return self.completed or bool(self.context or self.articles)

    @property
    def completed(self) -> bool:
        """The query differs from the question: show the user what was understood."""
        return self.query != self.question


def interpret(
    question: str, history: Sequence[Answer], known_articles: Collection[str] | None = None,
    parts: Collection[str] | None = None,
) -> FollowUp:
    """``question`` (already checked) with what ``history`` (earlier answers, oldest first) lends it.

    ``known_articles``: ids still in the corpus; turns cited only from removed articles are dropped.
    ``parts``: which of ``PARTS`` to use (default all).
    """
    parts = parse_parts(parts)
    turns = [a for a in history if _still_known(a, known_articles)]
    if not turns:
        return FollowUp(question, question)
    recent = turns[::-1][:RECENT_TURNS]  # newest first
    tokens = _tokens(question)
    lowered = [t.lower() for t in tokens]
    wants_else = any(w in _ELSE for w in lowered)
    query, alternatives = question, ()
    needs = wants_else or _fragment(question) is not None or any(_is_pronoun(lowered, i) for i in range(len(lowered)))
    if "complete" in parts:
        found = readings(question, recent)
        query, alternatives = found[0], tuple(found[1:])
        needs = needs or len(found) > 1
    new_subject = not needs and _new_subject(question, turns)
    context = ""
    if "context" in parts and not new_subject:
        context = " ".join(x for a in recent[:2] for x in (a.query or a.question, a.text or ""))
    articles: dict[str, float] = {}
    if "focus" in parts and not new_subject:
        for back, a in enumerate(recent):
            for c in a.citations[:1]:
                if known_articles is None or c.article_id in known_articles:
                    articles[c.article_id] = max(articles.get(c.article_id, 0.0), 1.0 / (1 + back))
    exclude = tuple(dict.fromkeys(a.text for a in recent if a.text)) if wants_else else ()
    return FollowUp(question, query, context.strip(), articles, exclude, needs_history=needs,
                    alternatives=alternatives)


def _still_known(answer: Answer, known: Collection[str] | None) -> bool:
    if known is None or not answer.citations:
        return True
    return any(c.article_id in known for c in answer.citations)


# -- completion -------------------------------------------------------------------------------

MAX_READINGS = 4  # readings of one question the pipeline verifies: each costs a retrieval and a read


def readings(question: str, recent: Sequence[Answer]) -> list[str]:
    """The standalone readings of ``question`` given ``recent`` answers (newest first), the simplest
    and likeliest first, at most ``MAX_READINGS``: each plausible antecedent of its pronouns (people,
    groups, places standing for their governments, events such as "the attack"), and for an ellipsis
    ("Which day?", "Of covering up what?", "And injured?") the frame of the question before it.

        readings("Which day?", [answer to "When did the mayor open the bridge?"])
        # ["Which day did the mayor open the bridge?", ...]

    A question that needs nothing from the history is its own only reading.
    """
    if not recent:
        return [question]
    found: list[str] = []
    asked = _bare_question_word(question)
    if asked is not None:
        found.append(_ask_again(asked, recent[0]) or "")
    fragment = _fragment(question)
    if fragment is not None:
        found.append(_fill_fragment(fragment, recent[0]) or "")
    said = _who_said(question, recent[0])
    found.append(said or "")
    found += _pronoun_readings(question, recent)
    elliptic = _elliptic(question)
    if elliptic:
        found += _frame_readings(question, recent[0])
        # after another ellipsis ("Of covering up what?" then "When?"), the frame is the last full question's
        full = next((a for a in recent[1:] if not _elliptic(a.question)), None)
        if _elliptic(recent[0].question) and full is not None:
            found[len(found) - 1 : len(found) - 1] = _frame_readings(question, full)[:1]
    found = [r for r in dict.fromkeys(found) if r and r != question]
    if not found and _underspecified(question):
        # "What kind of help?" after "Who offered Russia help?": that question's frame
        words = {w.lower() for w in _tokens(question)} - _FUNCTION - _VAGUE
        earlier = next((a for a in recent if words & {w.lower() for w in _tokens(a.question)}), None)
        if earlier is not None:
            found += _frame_readings(question, earlier)[:1]
    if not found and _underspecified(question):
        # "How many died?" after turns about the Bataclan: "How many died in the Bataclan Theatre?"
        stem = question.strip().rstrip("?.! ")
        places = [f"in {e.text}" for e in entities_of(recent) if e.kind in ("place", "event")
                  or (e.topic and e.kind == "thing" and e.text.lower().startswith("the ")
                      and len(_tokens(e.text)) <= 3)]
        found = [f"{stem} {place}?" for place in list(dict.fromkeys(places))[:2]
                 if _bare(place).lower() not in stem.lower()]
        elliptic = bool(found)
    if not found:
        return [question]
    if elliptic or said:
        found.append(question)  # as asked, searched with the conversation's context and focus
    return found[:MAX_READINGS]


def respelled(question: str, passages: Sequence[str], site: str = "") -> str | None:
    """``question`` with each place it names that ``passages`` never name swapped for the name they give
    it ("What did Paris offer the Kremlin?" over passages saying "French ... Russia": "What did France
    offer Russia?"; "Kyiv" for "Kiev"), and without the source it names when that is ``site``, the
    publisher of the passages' article ("According to the Daily Rhône, when did the bridge open?": "When
    did the bridge open?"); None when nothing changes. The reader takes a name missing from a passage
    for a sign the passage does not answer; the articles' own words read better."""
    text = " ".join(passages)
    out, swapped = question, False
    if site and not contains_phrase(text, site):
        name = rf"(?:the\s+)?{re.escape(site)}"
        bare = re.sub(rf",?\s*\b(?:according to|as reported by|reported by|says|said)\s+{name}\b\s*,?\s*|\b(?:in|by)\s+"
                      rf"{name}\b", " ", out, flags=re.IGNORECASE)
        bare = re.sub(r"\s+([?.!,])", r"\1", " ".join(bare.split()))
        if bare != out and len(_tokens(bare)) >= 3:
            out, swapped = bare[:1].upper() + bare[1:], True
    for phrase, _ in _phrases(truecased(question, text)):
        if not aliases(phrase) or contains_phrase(text, phrase):
            continue
        # a spelling of the same name first ("Kiev" for "Kyiv"), then the country before its people and seats
        found = sorted((SequenceMatcher(a=phrase.lower(), b=a.lower()).ratio() < 0.5, k, a)
                       for k, a in enumerate(aliases(phrase)) if contains_phrase(text, a))
        if found:
            name = found[0][2]
            out = re.sub(rf"(?:\bthe\s+)?\b{re.escape(phrase)}\b", name, out, count=1)
            swapped = True
    return out if swapped else None


_WHO_SAID = re.compile(r"^\s*(?:and\s+)?(?:(?P<who>who|which \w+)\s+(?P<verb>said|says|stated|suggested|added|argued|"
                       r"warned)\s+(?:so|that|this|it)?|says who|said who|according to whom)\s*[?.!]*\s*$",
                       re.IGNORECASE)
_REPORTED = re.compile(
    r"\b(?:(?P<said>said|says|saying)\b(?: on \w+)?,?\s+(?:that\s+)?|(?P<verb>claimed|claims|claiming|stated|states|"
    r"stating|suggested|suggests|suggesting|announced|announces|announcing|added|adds|adding|argued|argues|arguing|"
    r"warned|warns|warning|wrote|writes|writing)\b(?: on \w+)?,?\s+that\s+)(?P<clause>.+)$", re.IGNORECASE)
_PAST = {"said": "said", "says": "said", "saying": "said", "wrote": "wrote", "writes": "wrote", "writing": "wrote"}


def _who_said(question: str, last: Answer) -> str | None:
    """"Who said so?": who said what the last answer's sentence reports ("Who claimed that the ISIS
    splinter cell had made several attempts ... in recent months?"), or None."""
    m = _WHO_SAID.match(question)
    sentence = last.citations[0].sentence if last.citations else ""
    said = _REPORTED.search(sentence) if m else None  # "claiming responsibility" reports nothing: a "that" follows
    if said is None:
        return None
    clause = said.group("clause").strip().rstrip(".!?”\"").strip()
    verb = (said.group("said") or said.group("verb")).lower()  # the sentence's own: "Who suggested that ...""
    if not verb.endswith("ed"):
        verb = _PAST.get(verb) or re.sub(r"(?:s|ing)$", "", verb).rstrip("e") + "ed"  # "suggesting" -> "suggested"
    who = m.group("who") or "who"  # "Says who?"
    return f"{who[:1].upper()}{who[1:]} {verb} that {clause}?" if clause else None


def _underspecified(question: str) -> bool:
    """A short question that names nothing and points at nothing ("How many died?", "Who took
    responsibility?"): in a conversation it is about the place or event being talked about."""
    words = [w.lower() for w in _tokens(question)]
    if not words or len(words) > 5 or words[0] not in _QUESTION_WORDS - {"and", "but", "so", "the", "a", "an"}:
        return False
    if any(w in _PRONOUNS or w in _ELSE or w in _POINTERS for w in words) or \
            any(k != "time" for _, k in _phrases(question)):
        return False
    return not any(t[:1].isupper() for t in _tokens(question)[1:])


def _pronoun_readings(question: str, recent: Sequence[Answer], per_pronoun: int = 3) -> list[str]:
    """``question`` with its first referring pronoun filled by each plausible antecedent in turn
    (the others by their likeliest), best first; [] when it has none or nothing fits."""
    spans = list(TOKEN.finditer(question))
    lowered = [m.group().lower() for m in spans]
    entities = entities_of(recent)
    at = [i for i in range(len(spans)) if _is_pronoun(lowered, i)]
    if not at:
        return []
    options = [_antecedents(lowered[i], lowered, i, entities)[:per_pronoun] for i in at]
    if not any(options):
        return []
    out = []
    first = next(k for k, o in enumerate(options) if o)
    for choice in options[first]:
        pieces, cursor, taken = [], 0, {_bare(choice)}
        for k, i in enumerate(at):
            if k == first:
                replacement: str | None = choice
            else:
                replacement = next((o for o in options[k] if _bare(o) not in taken), None)
            if replacement is None:
                continue
            taken.add(_bare(replacement))
            m = spans[i]
            pieces.append(question[cursor : m.start()])
            pieces.append(replacement[:1].upper() + replacement[1:] if i == 0 else replacement)
            cursor = m.end()
        pieces.append(question[cursor:])
        out.append("".join(pieces))
    return out


def _bare(replacement: str) -> str:
    return re.sub(r"^in |'s?$", "", replacement)


_ELLIPTIC = re.compile(
    r"^\s*(?:(?:and|but|so|ok|okay)[, ]+)?(?:(?:in|on|at|to|by|for|from|with|of|since|until|into|through|over|"
    r"during|after|before|against|about)\s+)?(?:(?:what|which|whose|how many|how much|how long|how often|how)"
    r"(?:\s+\w+){0,2}|when|where|who|whom|why)\s*[?.!]*\s*$",
    re.IGNORECASE)
_TRAILING_WH = re.compile(r"^\s*(?:(?:and|but)\s+)?(?:\w+\s+){0,4}(?:what|which\s+\w+|whom|who|where|when)\s*\?\s*$",
                          re.IGNORECASE)


def _elliptic(question: str) -> bool:
    """A question that is only a frame's missing piece: "Which day?", "Since when?", "Of covering up
    what?", "And injured?", "Through which broadcaster?" (no verb of its own to search by)."""
    words = _tokens(question)
    lowered = [w.lower() for w in words]
    if not words or len(words) > 8 or any(w in _PRONOUNS for w in lowered):
        return False
    if lowered[0] in {"and", "but"}:
        return len(words) > 1 and not any(w in _AUX | _BE for w in lowered[1:3])
    if len(words) > 5 or not (_ELLIPTIC.match(question) or _TRAILING_WH.match(question)):
        return False
    head = _LEADING_WH.match(question)
    after = lowered[len(_tokens(head.group())):] if head and _ELLIPTIC.match(question) else []
    return not any(w in _AUX | _BE or w.endswith(("ed", "ing")) for w in after)


def _frame_readings(question: str, last: Answer) -> list[str]:
    """An elliptic ``question`` completed from the frame of the ``last`` question (its standalone
    query) and its answer: the question's words in place of the last one's question word, then the
    last question with the fragment added at its end."""
    previous = (last.query or last.question).strip().rstrip("?.! ")
    piece = re.sub(r"^\s*(?:(?:and|but|so|ok|okay)[, ]+)", "", question.strip(), flags=re.IGNORECASE)
    piece = piece.rstrip("?.! ").strip()
    if not piece or not previous:
        return []
    found = []
    m = _LEADING_WH.match(previous)
    rest = previous[m.end():].strip() if m else ""
    answer = (last.text or "").strip()
    if question.strip().lower().startswith(("and ", "but ")):
        # "And injured?" after "How many people died in the attack?": "How many people injured in the attack?";
        # "And the tolls after the first month?": "What about the tolls after the first month?"
        asks = _LEADING_WH.match(piece)
        if m and asks:  # "And how many hurt?" after "How many Russians were killed?": "How many Russians were hurt?"
            own = piece[asks.end():].strip()
            tail = re.search(r"\b(?:in|at|on|during|after|from|of|by|for)\s+[^?]*$", rest)
            end = f"{' ' + tail.group() if tail else ''}?"
            clause = (rest[: tail.start()] if tail else rest).split()
            same_kind = previous[: m.end()].lower().startswith(piece[: asks.end()].lower())
            if same_kind and own and len(own.split()) == 1:
                found.append(" ".join([previous[: m.end()], *clause[:-1], own]) + end)
            found.append(f"{piece[:1].upper()}{piece[1:]}{end}")
        elif m:
            tail = re.search(r"\b(?:in|at|on|during|after|from|of|by|for)\s+[^?]*$", rest)
            found.append(f"{previous[:m.end()]} {piece}{' ' + tail.group() if tail else ''}?")
        if not asks:
            found.append(f"What about {piece}?")
    elif m and rest:
        first = rest.split(" ", 1)[0].lower()
        head = piece[:1].upper() + piece[1:]
        if first in _AUX or first in _BE:  # "When did the mayor open the bridge": the frame follows the auxiliary
            found.append(f"{head} {rest}?")
            if answer and len(_tokens(answer)) <= 2 * MAX_ENTITY_WORDS:  # "To whom did Macron offer an olive branch?"
                found.append(f"{head} {rest} {answer}?")
        elif answer and len(_tokens(answer)) <= MAX_ENTITY_WORDS:  # "Who opened the bridge" -> "<answer> opened"
            found.append(f"{head} {answer} {rest}?")
        else:
            found.append(f"{head} {rest}?")
    tail_piece = piece[:1].lower() + piece[1:] if piece.split(" ", 1)[0].lower() in _FUNCTION else piece
    found.append(f"{previous} {tail_piece}?")
    return found


def _is_pronoun(lowered: Sequence[str], i: int) -> bool:
    """Token ``i`` is a pronoun that refers back: not existential "there", not "it" in "is it true that"."""
    word = lowered[i]
    if word not in _PRONOUNS:
        return False
    nxt = lowered[i + 1] if i + 1 < len(lowered) else "?"
    prev = lowered[i - 1] if i > 0 else ""
    if word == "there":  # "Were there survivors?" is existential; "What happened there?" points back
        return nxt in _AFTER_OBJECT and not (prev in _BE and nxt not in {"?", ".", "!"})
    if word == "it":  # "Is it true that ..." / "How long did it take to ..." refer forward
        if prev in _SAY:
            return False  # "When did he say it?": what was said, no thing named earlier
        rest = lowered[i + 1 :]
        return not ({"that", "to"} & set(rest[:4]) and prev in _BE)
    return True


def _antecedents(word: str, lowered: Sequence[str], i: int, entities: Sequence[Entity]) -> list[str]:
    """What pronoun ``lowered[i]`` may stand for, likeliest first, as it would read in its place
    ("Macron's" for "his", "in Moscow" for "there")."""
    nxt = lowered[i + 1] if i + 1 < len(lowered) else "?"
    possessive = word in _POSSESSIVE or (word == "her" and nxt not in _AFTER_OBJECT)
    if word in _MALE or word in _FEMALE:
        gender = "m" if word in _MALE else "f"
        found = [e for e in entities if e.kind == "person" and e.gender in ("", gender)] + [
            e for e in entities if e.kind == "thing" and e.gender == gender]  # "Macron", "Mr Macron" in the articles
    elif word in _PLURAL:  # a group, or a place standing for its government ("Kyiv denied ...")
        found = [e for e in entities if e.kind == "group"] + [
            e for e in entities if e.kind in ("place", "thing") and e.text[:1].isupper() and len(e.text.split()) <= 2
        ] + [e for e in entities if e.kind == "person" and not e.gender and len(e.text.split()) == 1
             and e.text[:1].isupper()]  # "Kyiv" answering "Who denied ...?": a one-word name, no "he" or "she"
    elif word in _NEUTER:  # the last answer if a thing or a group ("Which group ...?"), the topic and
        # events, then the last turn's things, then names before: a place answer ("Where was the attack?")
        # is seldom "it"
        things = [e for e in entities if e.kind in ("event", "thing", "place", "group")
                  and not any(ch.isdigit() for ch in e.text) and not _TIME_WORDS & set(_tokens(e.text.lower()))]
        found = [e for e in things if e.answer and e.turn == 0 and e.kind in ("thing", "group", "event")
                 and (e.text[:1].isupper() or e.text.lower().startswith("the ")) and not e.text.endswith("s")][:1] + \
            [e for e in things if e.topic or e.kind == "event"] + [e for e in things if e.turn == 0] + [
            e for e in things if e.text[:1].isupper()] + things
    else:  # there: a place, else a named event or thing
        found = [e for e in entities if e.kind == "place"] + [
            e for e in entities if e.kind in ("event", "thing") and len(_tokens(e.text)) <= 4]
        return list(dict.fromkeys(f"in {e.text}" for e in found))
    texts = list(dict.fromkeys(e.text for e in found))
    if possessive:
        return [t + ("'" if t.endswith("s") else "'s") for t in texts]
    return texts


def _fragment(question: str) -> str | None:
    """X of "What about X?" / "How about X?" / "And X?", or None."""
    m = _FRAGMENT.match(question)
    if m is None:
        return None
    x = (m.group("x") or m.group("y") or "").strip()
    return x or None


_BARE = re.compile(r"^\s*(?:and\s+|but\s+|so\s+)?(?P<w>who|whom|what|when|where|why|how|which|how many|how much|"
                   r"how long|by whom|by what|to whom|for what|for how long|since when|until when|where to|where from|"
                   r"who with|who for|what for|what with)\s*[?.!]*\s*$",
                   re.IGNORECASE)
_LEADING_WH = re.compile(r"^\s*(?:(?:in|on|at|to|by|for|from|with|of|since|until) )?"
                         r"(?:how (?:many|much|long|often|old|far)|what|which|who|whom|whose|when|where|why|how)"
                         r"(?: (?:year|day|date|time|month|kind|type|city|country|place|people|person)s?)?\b",
                         re.IGNORECASE)
_AUX = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could", "will", "would",
        "should", "may", "might"}


def _bare_question_word(question: str) -> str | None:
    """"Where?", "and why?", "by whom?": a question word standing for the last question asked again."""
    m = _BARE.match(question)
    return m.group("w").lower() if m else None


def _ask_again(word: str, last: Answer) -> str | None:
    """The last question with ``word`` in place of its question word: "When did the group first gather?"
    + "Where?" -> "Where did the group first gather?"; a yes/no question gets ``word`` in front."""
    previous = (last.query or last.question).strip().rstrip("?.! ")
    m = _LEADING_WH.match(previous)
    if m:
        rest = previous[m.end() :].strip()
    elif previous.split(" ", 1)[0].lower() in _AUX:
        rest = previous[:1].lower() + previous[1:]
    else:
        return None
    if not rest:
        return None
    head, _, stranded = word.partition(" ")
    if stranded in {"to", "from", "with", "for"} and head in {"where", "who", "what"}:  # "Where to?"
        return f"{head.title()} {rest} {stranded}?"
    return f"{word[:1].upper()}{word[1:]} {rest}?"


def _fill_fragment(x: str, last: Answer) -> str | None:
    """The last question with its subject swapped for ``x``: "Who is the French Interior Minister?" +
    "and the prime minister?" -> "Who is the French prime minister?"; None when nothing lines up."""
    previous = last.query or last.question
    x_tokens = _tokens(x)
    openers = _QUESTION_WORDS - {"the", "a", "an", "in", "on", "at"}
    if len(x_tokens) > 6 or any(t.lower() in openers for t in x_tokens[:1]):
        return None
    # the last question's name or role phrase of the same kind as x
    candidates = _phrases(previous)
    if not candidates:
        return None
    x_kind = _kind_of(x, "")
    if x_kind == "thing" and x[:1].islower() and x_tokens[0].lower() not in {"the", "a", "an", "his", "her", "their",
                                                                            "its"}:
        return None  # "and injured?" names no subject to swap in
    for phrase, kind in candidates:
        if kind == x_kind or (x_kind == "thing" and kind != "time"):
            return previous.replace(phrase, _strip_article(x) if phrase[:1].isupper() else x, 1)
    return None


def _strip_article(text: str) -> str:
    return re.sub(r"^(the|a|an)\s+", "", text, flags=re.IGNORECASE) if text[:1].islower() else text


# -- entities -------------------------------------------------------------------------------


def entities_of(recent: Sequence[Answer]) -> list[Entity]:
    """What ``recent`` answers (newest first) talked about, most salient first: the conversation's
    topic (what an earlier pronoun was completed with), then per turn, newest first, its answer (when
    short enough to be a name) and the names and role phrases of its question."""
    found: list[Entity] = []
    topics: list[Entity] = []
    for back, a in enumerate(recent):
        question = a.query or a.question
        if a.text and len(_tokens(a.text)) <= MAX_ENTITY_WORDS:
            found.append(_answer_entity(a, question, back))
        elif a.text and len(_tokens(a.text)) <= 2 * MAX_ENTITY_WORDS and "," not in a.text \
                and " and " not in a.text:  # not a list ("Dorset, Somerset and Hampshire")
            # "the 2015 attack on the Bataclan Theatre": what "it" may be, and the names inside it
            if set(_tokens(a.text.lower())) & _EVENTS:
                found.append(Entity(a.text, "event", "", back, answer=True))
            found += [Entity(p, k, _gender(p, a.text), back, answer=True) for p, k in _phrases(a.text)
                      if k != "time" and p[:1].isupper()]
        inserted = _inserted(a.question, a.query) if a.query and a.query != a.question else []
        for phrase in inserted:  # what a pronoun stood for last time: what the conversation is about
            said = {w.lower() for w in _tokens(a.question)}
            kind = _kind_of(phrase, question)
            if said & (_NEUTER | {"there"}) and not said & (_MALE | _FEMALE):
                kind = "thing" if kind == "person" else kind  # it was "it", not "he"
            if kind != "time" and phrase[:1].isalnum() and len(_tokens(phrase)) <= 2 * MAX_ENTITY_WORDS:
                topics.append(Entity(phrase, kind, _gender(phrase, question), back, topic=True))
        for phrase, kind in _phrases(question):
            if kind == "time" or any(phrase.lower() == e.text.lower() for e in found):
                continue
            gender = _gender(phrase, question)
            if kind == "thing" and len(_tokens(phrase)) == 1:  # "Macron" alone: a person if the articles say so
                gender = _gender(phrase, " ".join(p.text for p in a.passages[:2])) or \
                    _gender(phrase, " ".join(c.sentence for c in a.citations[:2]))
            found.append(Entity(phrase, kind, gender, back))
    return topics + [e for e in found if all(e.text != t.text for t in topics)]


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
                    words[1] in _PLACE_PREPOSITIONS:
                words = words[1:]  # "died?" -> "died in the Bataclan Theatre?": what was added
            text = " ".join(words).rstrip("?.!,")
            text = re.sub(r"^in |['’]s?$", "", text)
            if text:
                found.append(text)
    return found


def _answer_entity(a: Answer, question: str, back: int) -> Entity:
    text = a.text or ""
    context = " ".join([question] + [c.sentence for c in a.citations[:2]])
    q = question.strip().lower()
    if _TIME_QUESTION.match(q):
        kind = "time"
    elif q.startswith(("who ", "whom ", "whose ")) or " who " in f" {q} "[:12]:
        kind = "group" if _looks_plural(text) else "person"
    elif q.startswith("where") or re.match(r"^(in|at|to|from) (what|which)", q):
        kind = "place"
    else:
        kind = _kind_of(text, question)
    return Entity(text, kind, _gender(text, context) if kind == "person" else "", back, answer=True)


def _phrases(text: str) -> list[tuple[str, str]]:
    """Proper-noun phrases ("Emmanuel Macron", "Islamic State in Khorasan") and role phrases
    ("the French president") of ``text``, with a guess of their kind."""
    tokens = list(TOKEN.finditer(text))
    words = [t.group() for t in tokens]
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        lower = tokens[i].group().lower()
        j = name_end(words, i, joins=_NAME_JOINS, not_first=_FUNCTION, not_inside=_QUESTION_WORDS)
        if j > i:
            start, end = tokens[i].start(), tokens[j - 1].end()
            phrase = POSSESSIVE.sub("", text[start:end])  # "Macron's wife": the name is "Macron"
            kind = _kind_of(phrase, text, start)
            found.append((phrase, kind))
            i = j
            continue
        if lower in ("the", "a") and i + 1 < len(tokens):  # "the French president", "the four men"
            j = i + 1
            while j < len(tokens) and j - i <= 4 and tokens[j].group().isalnum():
                head = tokens[j].group().lower()
                if head in _ROLES or head in _GROUP_WORDS:
                    while j + 1 < len(tokens) and tokens[j + 1].group().lower() in _ROLES:
                        j += 1
                    phrase = text[tokens[i].start() : tokens[j].end()]
                    found.append((phrase, "group" if _looks_plural(phrase) else "person"))
                    break
                if head in _FUNCTION:
                    break
                j += 1
            lands = j < len(tokens) and tokens[j].group().lower() in _ROLES | _GROUP_WORDS
            if not lands:  # "the attack", "the concert hall attack", "the bridge": what "it" may be
                j = i + 1
                while j < len(tokens) and j - i <= 3 and tokens[j].group().isalpha() and \
                        tokens[j].group().lower() not in _FUNCTION | _NOT_NOUNS and tokens[j].group()[:1].islower() \
                        and not tokens[j].group().lower().endswith(("ed", "ly")):
                    j += 1
                if j > i + 1 and lower == "the":
                    phrase = text[tokens[i].start() : tokens[j - 1].end()]
                    head = tokens[j - 1].group().lower()
                    found.append((phrase, "event" if head in _EVENTS else "thing"))
                    i = j
                    continue
            i = j + 1 if lands else i + 1
            continue
        i += 1
    return found


def _kind_of(phrase: str, text: str, start: int = -1) -> str:
    words = [w.lower() for w in _tokens(phrase)]
    if not words:
        return "thing"
    if any(w in _ROLES for w in words[-2:]) and not _looks_plural(phrase):
        return "person"
    if phrase.isupper() and len(phrase) >= 2 or _looks_plural(phrase):
        return "group"
    if _TIME_PHRASE.fullmatch(phrase.lower()):
        return "time"
    if start > 0:
        before = _tokens(text[:start])
        if before and before[-1].lower() in _PLACE_PREPOSITIONS:
            return "place"
        if before and before[-1].lower() == "the":  # "the United States": names of people take no article
            return "thing"
        if before and before[-1].lower() in _ROLES | _MALE_CUES | _FEMALE_CUES:
            return "person"
    if words[-1] in _PLACE_WORDS:
        return "place"
    if len(words) >= 2 and all(w[:1].isupper() for w in _tokens(phrase)) and \
            not any(w in _GROUP_WORDS for w in words):
        return "person"  # "Emmanuel Macron": two capitalised words, the commonest proper name in news
    return "thing"


def _looks_plural(phrase: str) -> bool:
    words = [w.lower() for w in _tokens(phrase)]
    return bool(words) and (words[-1] in _GROUP_WORDS or (phrase.isupper() and len(phrase) >= 3)
                            or " and " in f" {phrase.lower()} ")


def _gender(name: str, context: str) -> str:
    """"m"/"f" when ``context`` says so: a word just before ``name`` ("spokeswoman Maria Zakharova",
    "Mr Macron"), else the first gendered pronoun after it ("Macron said that he ...")."""
    lower = context.lower()
    at = lower.find(name.lower())
    if at < 0:
        return ""
    for cue in reversed(_tokens(lower[max(0, at - 40) : at])[-3:] + [w.lower() for w in _tokens(name)]):
        if cue in _MALE_CUES - _MALE:
            return "m"
        if cue in _FEMALE_CUES - _FEMALE:
            return "f"
    for word in _tokens(lower[at + len(name) :])[:15]:
        if word in _MALE:
            return "m"
        if word in _FEMALE:
            return "f"
    return ""


def _tokens(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text) if t[:1].isalnum()]


def _new_subject(question: str, turns: Sequence[Answer]) -> bool:
    """The question names something (a proper noun) that no earlier turn mentioned: a change of topic."""
    names = [p for p, kind in _phrases(question) if kind != "time"]
    if not names:
        return False
    seen = " ".join(
        " ".join([a.query or a.question, a.text or ""] + [c.sentence for c in a.citations[:1]])
        + " " + " ".join(p.text for p in a.passages) for a in turns
    ).lower()
    return all(n.lower() not in seen for n in names)
