"""Readings of a question: the standalone questions a follow-up may mean, and a weak question read
again in its passage's words (``qa.followup``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from qa import inflection
from qa.followup.entities import Entity, common_plural, entities_of, kind_of, phrases, plural_name
from qa.followup.words import (
    AFTER_OBJECT,
    AUX,
    BE,
    ELSE,
    FEMALE,
    FRAGMENT,
    FUNCTION,
    MALE,
    MAX_ENTITY_WORDS,
    NEUTER,
    PLACE_PREPOSITIONS,
    PLURAL,
    POINTERS,
    POSSESSIVE_PRONOUNS,
    PRONOUNS,
    QUESTION_WORDS,
    SAME_SENSE,
    SAY,
    TIME_WORDS,
    VAGUE,
    mid_question,
    tokens,
)
from qa.schema import Answer
from qa.text import DETERMINERS, TOKEN, WITH_THE, aliases, contains_phrase, truecased

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
    contrast = _CONTRAST.match(question)
    if contrast is not None and recent[0].text:
        found.append(_contrasted(contrast.group("c"), recent[0].text))
    fragment = fragment_of(question)
    if fragment is not None:
        attribute = _ATTRIBUTE.match(fragment)
        if attribute:  # "And the cost?" asks what it was, whatever the last question asked
            found.append(_attribute_reading(attribute, recent[0]) or "")
        found.append(_fill_fragment(fragment, recent[0]) or "")
    said = _who_said(question, recent[0]) or _same_verb(question, recent[0]) or _who_said_so(question, recent[0])
    found.append(said or "")
    found += _pronoun_readings(question, recent)
    elliptic = _elliptic(question) and not _WHO_SAID.match(question)  # "Says who?" has no frame to fill
    if elliptic:
        found += _frame_readings(question, recent[0])
        # after another ellipsis ("Of covering up what?" then "When?"), the frame is the last full question's
        full = next((a for a in recent[1:] if not _elliptic(a.question)), None)
        if _elliptic(recent[0].question) and full is not None:
            found[len(found) - 1 : len(found) - 1] = _frame_readings(question, full)[:1]
    found = [r for r in dict.fromkeys(found) if r and r != question]
    if not found and _underspecified(question):
        # "What kind of help?" after "Who offered Russia help?": that question's frame
        lowered = {w.lower() for w in tokens(question)}
        words = lowered - FUNCTION - VAGUE
        # only a vague question ("What kind of help?"): "what is wool?" asks of its own
        earlier = next((a for a in recent if words & {w.lower() for w in tokens(a.question)}), None) \
            if lowered & VAGUE else None
        if earlier is not None:
            found = _frame_readings(question, earlier)[:1]
        else:
            # "How many died?" after turns about the Bataclan: "How many died in the Bataclan Theatre?"
            stem = question.strip().rstrip("?.! ")
            places = [e.text if e.text.split(" ", 1)[0].lower() in PLACE_PREPOSITIONS else f"in {e.text}"
                      for e in entities_of(recent) if e.kind in ("place", "event")
                      or (e.topic and e.kind == "thing" and e.text.lower().startswith("the ")
                          and len(tokens(e.text)) <= 3)]
            found = [f"{stem} {place}?" for place in list(dict.fromkeys(places))[:2]
                     if _bare(place).lower() not in stem.lower()]
            elliptic = bool(found)
    if not found:
        return [question]
    if elliptic or said:
        found.append(question)  # as asked, searched with the conversation's context and focus
    return found[:MAX_READINGS]


# "And the day of the attack?", "What about the death toll?": a thing's attribute, asked for as it stands
_ATTRIBUTE = re.compile(r"^(?:the|its|his|her|their)\s+(?:[\w'-]+\s+){0,2}?(?P<noun>day|date|time|year|month|cause|"
                        r"reason|name|cost|price|number|toll|total|result|outcome|score|size|length|age|amount)s?"
                        r"(?:\s+(?:of|for)\s+(?P<of>[^?]+))?$", re.IGNORECASE)
# how a time of the last question's event is asked for: "And the time?" -> "At what time did ...?"
_WHEN_NOUNS = {"day": "on which day", "date": "when", "time": "at what time", "year": "in which year",
               "month": "in which month"}


def _attribute_reading(attribute: re.Match[str], last: Answer) -> str | None:
    """The reading of "And <an attribute>?" (the last question's frame made nonsense of it: "Who offered date
    help?"). A time is asked of the last question's event: "And the date?" after "Who offered Russia help?"
    -> "When did Emmanuel Macron offer Russia help?", "And the time?" -> "At what time did ...?"; but not a
    time of something named ("And the day of the attack?": "When was the attack?" was read as the
    Bataclan's), None. Anything else is asked what it was: "What about the cost?" -> "What was the cost?"."""
    noun = attribute.group("noun").lower()
    if noun in _WHEN_NOUNS:  # "the day of the attack": which attack is the conversation's to say (as asked)
        return None if attribute.group("of") else _ask_again(_WHEN_NOUNS[noun], last)
    return f"What was {attribute.group()}?"


_CONTRAST = re.compile(r"^\s*(?:(?:and|but|so)\s+)?(?P<c>rather than|instead of|as opposed to|other than)\s+what"
                       r"\s*[?.!]*\s*$", re.IGNORECASE)


def _contrasted(contrast: str, answer: str) -> str:
    """"Rather than what?" after the answer "technical and ministerial": "What rather than technical and
    ministerial?" (the reader finds "direct talks" in "... rather than holding direct talks"; a frame
    with the answer inside, "Rather than what technical and ministerial level ...?", found nothing)."""
    said = mid_question(answer.strip().strip('“”"').rstrip("."))
    return f"What {contrast.lower()} {said}?"


def respelled(question: str, passages: Sequence[str], site: str = "") -> str | None:
    """``question`` with each place it names that ``passages`` never name swapped for the name they give
    it ("What did Paris offer the Kremlin?" over passages saying "French ... Russia": "What did France
    offer Russia?"; "Kyiv" for "Kiev"), each word of ``SAME_SENSE`` they say otherwise in theirs ("hurt"
    -> "injured"), and without the source it names when that is ``site``, the
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
        if bare != out and len(tokens(bare)) >= 3:
            out, swapped = bare[:1].upper() + bare[1:], True
    for phrase, _ in phrases(truecased(question, text)):
        if not aliases(phrase) or contains_phrase(text, phrase):
            continue
        # a spelling of the same name first ("Kiev" for "Kyiv"), then the country before its people and seats
        found = sorted((SequenceMatcher(a=phrase.lower(), b=a.lower()).ratio() < 0.5, k, a)
                       for k, a in enumerate(aliases(phrase)) if contains_phrase(text, a))
        if found:
            name = found[0][2]
            name = f"the {name}" if name in WITH_THE else name  # "accuse the US" -> "accuse the United States"
            out = re.sub(rf"(?:\bthe\s+)?\b{re.escape(phrase)}\b", name, out, count=1)
            swapped = True
    lowered = {w.lower() for w in tokens(text)}
    for word in tokens(question):
        same = next((g for g in SAME_SENSE if word.lower() in g), None)
        if same is None or word.lower() in lowered:
            continue
        found_word = sorted(same & lowered)
        if found_word:  # "hurt" -> "injured", in the passage's own word
            out = re.sub(rf"\b{re.escape(word)}\b", found_word[0], out, count=1)
            swapped = True
    return out if swapped else None


_WHO_SAID = re.compile(r"^\s*(?:and\s+)?(?:(?P<who>who|which \w+)\s+(?:(?P<verb>said|says|stated|suggested|added|"
                       r"argued|warned)\s+(?:so|that|this|it)?|(?P<claim>claimed|claims|announced|reported|insisted|wrote|"
                       r"thinks|believes)\s+(?:so|that|this))|says who|said who|according to whom)\s*[?.!]*\s*$",
                       re.IGNORECASE)  # "Who claimed it?" claims the attack, not a statement
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
    if not _bears_on(clause, last):
        return None  # "Macron said that for now the contacts ..." reports nothing "Who tried to blame ISIS?" asked
    verb = (said.group("said") or said.group("verb")).lower()  # the sentence's own: "Who suggested that ...""
    if not verb.endswith("ed"):
        verb = _PAST.get(verb) or re.sub(r"(?:s|ing)$", "", verb).rstrip("e") + "ed"  # "suggesting" -> "suggested"
    who = m.group("who") or "who"  # "Says who?"
    return f"{who[:1].upper()}{who[1:]} {verb} that {clause}?" if clause else None


_FUNCTION_PREFIXES = frozenset(w[:5] for w in FUNCTION)


def _bears_on(clause: str, last: Answer) -> bool:
    """A reported ``clause`` is about the last turn: it holds its answer, or a word of its question (the
    first five letters of a word that is not a function or question word: "attempts" for "attempted")."""
    if last.text and contains_phrase(clause, last.text):
        return True
    words = {w.lower()[:5] for w in tokens(last.query or last.question)} - {""}
    return bool((words - _FUNCTION_PREFIXES) & {w.lower()[:5] for w in tokens(clause)})


def _who_said_so(question: str, last: Answer) -> str | None:
    """"Says who?": who said what the last question asked, told as a statement ("Was the bridge late?"
    and "Why was the bridge late?" -> "Who said that the bridge was late?", "Did Macron offer help?" ->
    "Who said that Macron offered help?"); None for another question (after "Who opened the bridge?",
    "Who said that the mayor opened the bridge?" found a "Mayor" at 0.66 in a report that quotes no
    one on it), or a subject not told apart by its first words (a determiner and a noun, a capitalised
    name, a pronoun)."""
    m = _WHO_SAID.match(question)
    previous = (last.query or last.question).strip().rstrip("?.! ")
    asked = _LEADING_WH.match(previous)
    words = (previous[asked.end():] if asked else previous).split()  # "Why was the bridge late": its question
    if m is None or len(words) < 3 or words[0].lower() not in AUX:
        return None
    aux = words[0].lower()
    if words[1].lower() in DETERMINERS:
        end = 3
    elif words[1][:1].isupper():
        end = next((i for i in range(2, len(words)) if not words[i][:1].isupper()), len(words))
    elif words[1].lower() in PRONOUNS:
        end = 2
    else:
        return None
    subject, rest = words[1:end], words[end:]
    if not rest:
        return None
    if aux in {"did", "does", "do"}:  # "did Macron offer help" -> "Macron offered help"
        tense = {"did": "VBD", "does": "VBZ", "do": "VBP"}[aux]
        verb = inflection.inflect(rest[0].lower(), tag=tense) if rest[0].isalpha() and rest[0].islower() else ()
        if not verb:
            return None
        clause = [*subject, verb[0], *rest[1:]]
    else:
        clause = [*subject, aux, *rest]
    who = m.group("who") or "who"
    return f"{who[:1].upper()}{who[1:]} said that {mid_question(' '.join(clause))}?"


_SAID_NEXT = re.compile(
    r"^\s*(?:(?:and|so|ok|okay)[, ]+)?what\s+(?P<other>else\s+)?(?P<aux>did|does|do|has|had|will|would)\s+"
    r"(?P<who>.+?)\s+"
    r"(?P<verb>say|tell|add|write|claim|suggest|announce|reply|answer|go on to say)"
    r"(?P<next>\s+(?:next|then|after that|afterwards|later|later on|too|also|as well))?\s*[?.!]*\s*$", re.IGNORECASE)


def said_next(question: str) -> str | None:
    """"What did she say next?", "What else did he say?", "What did she add?": what the speaker said after
    the last answer, asked without the pointer ("What did she say?", to be read in the article after that
    answer); None for any other question."""
    m = _SAID_NEXT.match(question)
    if m is None or not (m.group("other") or m.group("next") or m.group("verb").lower() in ("add", "go on to say")):
        return None
    return f"What {m.group('aux').lower()} {m.group('who')} {m.group('verb').lower()}?"


def speaker_of(reading: str) -> str | None:
    """Who a standalone "What did Maria Zakharova say?" asks about ("Maria Zakharova"); None when it is
    no such question or names no one (a pronoun left unresolved)."""
    m = _SAID_NEXT.match(reading)
    who = m.group("who").strip() if m else ""
    return who if who and who.lower() not in PRONOUNS else None


def _underspecified(question: str) -> bool:
    """A short question that names nothing and points at nothing ("How many died?", "Who took
    responsibility?"): in a conversation it is about the place or event being talked about."""
    words = [w.lower() for w in tokens(question)]
    if not words or len(words) > 5 or words[0] not in QUESTION_WORDS - {"and", "but", "so", "the", "a", "an"}:
        return False
    if any(w in PRONOUNS or w in ELSE or w in POINTERS for w in words) or \
            any(k != "time" for _, k in phrases(question)):
        return False
    return not any(t[:1].isupper() for t in tokens(question)[1:])


def _pronoun_readings(question: str, recent: Sequence[Answer], per_pronoun: int = 3) -> list[str]:
    """``question`` with its first referring pronoun filled by each plausible antecedent in turn
    (the others by their likeliest), best first; [] when it has none or nothing fits."""
    spans = list(TOKEN.finditer(question))
    lowered = [m.group().lower() for m in spans]
    at = [i for i in range(len(spans)) if is_pronoun(lowered, i)]
    if not at:
        return []
    entities = entities_of(recent)
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
    words = tokens(question)
    lowered = [w.lower() for w in words]
    if not words or len(words) > 8 or any(w in PRONOUNS for w in lowered):
        return False
    if lowered[0] in {"and", "but"}:
        return len(words) > 1 and not any(w in AUX | BE for w in lowered[1:3])
    if len(words) > 5 or not (_ELLIPTIC.match(question) or _TRAILING_WH.match(question)):
        return False
    head = _LEADING_WH.match(question)
    after = lowered[len(tokens(head.group())):] if head and _ELLIPTIC.match(question) else []
    return not any(w in AUX | BE or w.endswith(("ed", "ing")) or inflection.tensed_lemma(w) for w in after)


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
    if m and _WHOSE.match(piece) and m.group().strip().lower() in ("when", "where", "why", "how"):
        return []  # "Whose involvement?" after "When did she say it?": no one's thing is a time, a place or a way
    if question.strip().lower().startswith(("and ", "but ")):
        # "And injured?" after "How many people died in the attack?": "How many people injured in the attack?";
        # "And the tolls after the first month?": "What about the tolls after the first month?"
        asks = _LEADING_WH.match(piece)
        if m:
            tail = re.search(r"\b(?:in|at|on|during|after|from|of|by|for)\s+[^?]*$", rest)
            end = f"{' ' + tail.group() if tail else ''}?"
            if asks:  # "And how many hurt?" after "How many Russians were killed?": "How many Russians were hurt?"
                own = piece[asks.end():].strip()
                clause = (rest[: tail.start()] if tail else rest).split()
                same_kind = previous[: m.end()].lower().startswith(piece[: asks.end()].lower())
                if same_kind and own and len(own.split()) == 1:
                    found.append(" ".join([previous[: m.end()], *clause[:-1], own]) + end)
                found.append(f"{piece[:1].upper()}{piece[1:]}{end}")
            elif piece.split(" ", 1)[0].lower() not in DETERMINERS | _STRANDED:
                # a word of its own ("injured"), not a thing or a time: "who the day of the attack?" and
                # "What on Sunday on Monday?" ask nothing
                found.append(f"{previous[:m.end()]} {piece}{end}")
        if not asks:
            found.append(f"What about {piece}?")
    elif m and rest:
        first = rest.split(" ", 1)[0].lower()
        head = piece[:1].upper() + piece[1:]
        passive = _passive_with_subject(m, rest, answer)
        if passive:
            found.append(f"{head} {passive}?")
        if first in AUX or first in BE:  # "When did the mayor open the bridge": the frame follows the auxiliary
            found.append(_kind_of_object(head, rest) or f"{head} {rest}?")
            if answer and len(tokens(answer)) <= 2 * MAX_ENTITY_WORDS:  # "To whom did Macron offer an olive branch?"
                found.append(f"{head} {rest} {answer}?")
        elif answer and len(tokens(answer)) <= MAX_ENTITY_WORDS:  # "Who opened the bridge" -> "did <answer> open"
            words = rest.split()
            frame = _with_do(words[0], answer, words[1:]) or f"{answer} {rest}"
            found.append(_kind_of_object(head, frame) or f"{head} {frame}?")
        else:
            found.append(f"{head} {_without_subject(m, rest) or rest}?")
    elif m is None and previous.split(" ", 1)[0].lower() in AUX and " or " not in previous and \
            (asks := _LEADING_WH.match(piece)) is not None and asks.end() == len(piece):
        # "Which day?" after "Was the bridge late?" (a question word alone; not after "... before or after that?")
        found.append(f"{piece[:1].upper()}{piece[1:]} {previous[:1].lower()}{previous[1:]}?")
    tail_piece = piece[:1].lower() + piece[1:] if piece.split(" ", 1)[0].lower() in FUNCTION else piece
    found.append(f"{previous} {tail_piece}?")
    return found


# an elliptic question that asks whose thing ("Whose involvement?"): not a time's or a place's refinement, as
# "Which day?" after "When did ...?" or "What layer?" after "Where are follicles located?" are
_WHOSE = re.compile(r"^whose\s+[a-z][\w'-]*$", re.IGNORECASE)
_KIND = re.compile(r"(?P<head>(?:what|which) (?:sort|kind|type)s?)(?: of (?P<x>[\w'-]+(?: [\w'-]+){0,2}))?"
                   r"(?: (?:exactly|then|though))?", re.IGNORECASE)
_STRANDED = {"to", "in", "on", "at", "for", "from", "with", "by", "of", "about", "into", "over", "against"}
_STRANDED_ALTERNATION = "|".join(sorted(_STRANDED))


def _kind_of_object(head: str, frame: str) -> str | None:
    """A "what sort?" question put to the object of the last question's ``frame`` (its words after the
    question word, auxiliary first): "What sort" + "did france offer help to" -> "What sort of help did
    france offer?"; "What kind of help" + "did Macron offer Russia help" -> "What kind of help did Macron
    offer Russia?"; None when ``head`` asks no kind or the frame has no object to ask it of."""
    asked = _KIND.fullmatch(head.strip())
    words = frame.split()
    if asked is None or len(words) < 3 or words[0].lower() not in AUX - BE:
        return None
    x = asked.group("x")
    if x:  # the frame names the thing asked about: drop it there ("... offer Russia help" -> "... offer Russia")
        lowered = [w.lower() for w in words]
        x_words = x.lower().split()
        for i in range(1, len(words) - len(x_words) + 1):
            if lowered[i : i + len(x_words)] == x_words:
                start = i - 1 if lowered[i - 1] in DETERMINERS else i
                kept = words[:start] + words[i + len(x_words):]
                return f"{head[:1].upper()}{head[1:]} {' '.join(kept)}?" if len(kept) >= 3 else None
        return None
    # the verb: the first known verb in its base form after a subject ("did [the] mayor open ...")
    verb = next((j for j in range(2, len(words)) if words[j].isalpha() and words[j].islower()
                 and words[j - 1].lower() not in DETERMINERS
                 and words[j] in inflection.lemmas(words[j])), None)
    if verb is None:
        return None
    after = words[verb + 1:]
    start = 1 if after and after[0].lower() in DETERMINERS else 0
    end = next((k for k in range(start, len(after)) if after[k].lower() in _STRANDED), len(after))
    thing = after[start:end]
    if not 1 <= len(thing) <= 3 or not all(w.isalpha() and w.islower() for w in thing):
        return None  # no object, or a name ("did Macron offer Russia help"): "what sort of Russia" is no question
    rest = after[end:]
    if len(rest) == 1:  # "... offer help to": the stranded preposition belonged to the last question word
        rest = []
    kind = asked.group("head")
    return f"{kind[:1].upper()}{kind[1:]} of {' '.join(thing)} {' '.join(words[: verb + 1] + rest)}?"


_SUBJECT_WH = {"who", "what", "which", "whose", "how"}  # question words that may stand for a passive's subject


def _passive_with_subject(asked: re.Match[str] | None, rest: str, answer: str) -> str | None:
    """The passive ``rest`` of a question whose question word was its subject, with the ``answer`` as
    subject: "Which theatre" + "was attacked in 2015" + "Bataclan Theatre" -> "was Bataclan Theatre
    attacked in 2015"; "How many people" + "were killed" + "90" -> "were 90 people killed"; else None."""
    words = rest.split()
    if asked is None or len(words) < 2 or words[0].lower() not in BE or not answer or \
            len(tokens(answer)) > MAX_ENTITY_WORDS or asked.group().split()[0].lower() not in _SUBJECT_WH or \
            not re.fullmatch(r"[a-z]+(?:ed|en|wn|lt|ght)", words[1]):
        return None
    head = asked.group().split()
    noun = " ".join(head[2:]) if head[0].lower() == "how" else ""
    return " ".join([words[0], answer, *([noun] if noun else []), *words[1:]])


def is_pronoun(lowered: Sequence[str], i: int) -> bool:
    """Token ``i`` is a pronoun that refers back: not existential "there", not "it" in "is it true that"."""
    word = lowered[i]
    if word not in PRONOUNS:
        return False
    nxt = lowered[i + 1] if i + 1 < len(lowered) else "?"
    prev = lowered[i - 1] if i > 0 else ""
    if word == "there":  # "Were there survivors?" is existential; "What happened there?" points back
        return nxt in AFTER_OBJECT and not (prev in BE and nxt not in {"?", ".", "!"})
    if word == "it":  # "Is it true that ..." / "How long did it take to ..." refer forward
        if prev in SAY and nxt in AFTER_OBJECT:
            return False  # "When did he say it?": what was said, no thing named earlier ("says it tried" refers)
        rest = lowered[i + 1 :]
        return not ({"that", "to"} & set(rest[:4]) and prev in BE)
    return True


_HAPPEN = frozenset({"happen", "happened", "occur", "occurred", "take", "took", "start", "started", "end", "ended"})


def _happening(lowered: Sequence[str], i: int) -> bool:
    """"it" at ``i`` is what happened, asked when or where: "When was it?", "Where did it happen?"."""
    nxt = lowered[i + 1] if i + 1 < len(lowered) else "?"
    return i > 0 and lowered[0] in {"when", "where"} and lowered[i - 1] in {
        "was", "is", "did", "does", "will"} and (nxt in {"?", ".", "!"} or nxt in _HAPPEN)


def _antecedents(word: str, lowered: Sequence[str], i: int, entities: Sequence[Entity]) -> list[str]:
    """What pronoun ``lowered[i]`` may stand for, likeliest first, as it would read in its place
    ("Macron's" for "his", "in Moscow" for "there")."""
    nxt = lowered[i + 1] if i + 1 < len(lowered) else "?"
    possessive = word in POSSESSIVE_PRONOUNS or (word == "her" and nxt not in AFTER_OBJECT)
    if word in MALE or word in FEMALE:
        gender = "m" if word in MALE else "f"
        found = [e for e in entities if e.kind == "person" and e.gender in ("", gender)] + [
            e for e in entities if e.kind == "thing" and e.gender == gender]  # "Macron", "Mr Macron" in the articles
    elif word in PLURAL:  # a group, or a place standing for its government ("Kyiv denied ...")
        found = [e for e in entities if e.kind == "group"] + [
            e for e in entities if e.kind in ("place", "thing") and e.text[:1].isupper() and len(e.text.split()) <= 2
        ] + [e for e in entities if e.kind == "person" and not e.gender and len(e.text.split()) == 1
             and e.text[:1].isupper()]  # "Kyiv" answering "Who denied ...?": a one-word name, no "he" or "she"
    elif word in NEUTER:  # the last answer if a thing or a group ("Which group ...?"), the topic and
        # events, then the last turn's things (a name after "of", "the mayor of Lund", last), then names
        # before; never the answer to "Where ...?" ("it" is
        # what was there, "there" the place) nor a plural noun ("they")
        things = [e for e in entities if e.kind in ("event", "thing", "place", "group") and not common_plural(e.text)
                  and not plural_name(e.text)
                  and not (e.answer and e.kind == "place")
                  and not any(ch.isdigit() for ch in e.text) and not TIME_WORDS & set(tokens(e.text.lower()))]
        answered = [e for e in things if e.answer and e.turn == 0 and e.kind in ("thing", "group", "event")
                    and (e.text[:1].isupper() or e.text.lower().startswith("the ")) and not e.text.endswith("s")][:1]
        events = [e for e in things if e.topic or e.kind == "event"]
        if _happening(lowered, i) and any(e.kind == "event" for e in events):
            # "When was it?" after "Who claimed the attack?" -> "ISIS": a time or place is an event's
            answered = [e for e in events if e.kind == "event"][:1]
        found = answered + events + \
            [e for e in things if e.turn == 0 and not e.modifier] + [e for e in things if e.turn == 0] + [
            e for e in things if e.text[:1].isupper()] + things
    else:  # there: a place, else a named event or thing
        found = [e for e in entities if e.kind == "place"] + [
            e for e in entities if e.kind in ("event", "thing") and len(tokens(e.text)) <= 4]
        return list(dict.fromkeys(f"in {e.text}" for e in found))
    texts = list(dict.fromkeys(e.text for e in found))
    if possessive:
        return [t + ("'" if t.endswith("s") else "'s") for t in texts]
    return texts


def fragment_of(question: str) -> str | None:
    """X of "What about X?" / "How about X?" / "And X?", or None."""
    m = FRAGMENT.match(question)
    if m is None:
        return None
    x = (m.group("x") or m.group("y") or "").strip()
    return x or None


_BARE = re.compile(r"^\s*(?:and\s+|but\s+|so\s+)?(?P<w>who|whom|what|when|where|why|how|which|how many|how much|"
                   r"how long|by whom|by what|to whom|for what|for how long|since when|until when|where to|where from|"
                   r"who with|who for|what for|what with)(?:\s+(?:exactly|precisely|again|then|though))?\s*[?.!]*\s*$",
                   re.IGNORECASE)
_LEADING_WH = re.compile(r"^\s*(?:(?:in|on|at|to|by|for|from|with|of|since|until) )?"
                         r"(?:(?:how (?:many|much)|which|whose)(?: (?!(?:is|are|was|were|do|does|did|has|have|had|can|"
                         r"could|will|would|should|may|might|the|a|an|of|it|he|she|they|this|that)\b)[a-z]+(?<!ed)(?=\s+\w))?|"
                         r"how (?:long|often|old|far)|what|which|who|whom|whose|when|where|why|how)"
                         r"(?: (?:year|day|date|time|month|kind|type|city|country|place|people|person)s?)?\b",
                         re.IGNORECASE)


_WHY_OR_HOW = re.compile(r"^\s*(?:(?:and|but|so)\s+)?(?P<w>why|how(?!\s+(?:many|much|long|old|far|often)\b))\b",
                         re.IGNORECASE)  # what the last question asked: a reason, a manner


def asks_past(question: str, last: Answer) -> bool:
    """``question`` is a bare "Why?" or "How?" after a question that asked something else: ``last``'s answer,
    or a part of it, is no answer ("Why?" after "What did Attal announce?" -> "that the terror alert system would
    raise ..." asks the reason, not that again). A bare "When?", "Where?" or "How many?" is not: the verifier
    already tells a name from a date, and the date may lie inside a long last answer ("When?" after "What was
    the company fined?" -> "... was fined 2 million euros in 2024 ...": "2024")."""
    bare = _bare_question_word(question)
    if bare not in {"why", "how"} or not last.text:
        return False
    m = _WHY_OR_HOW.match(last.query or last.question)
    return not (m and m.group("w").lower() == bare)


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
    elif previous.split(" ", 1)[0].lower() in AUX:
        rest = previous[:1].lower() + previous[1:]
    else:
        return None
    if not rest:
        return None
    answer = (last.text or "").strip()
    rest = (_passive_with_subject(m, rest, answer) or _active_with_subject(m, rest, answer)
            or (None if answer else _without_subject(m, rest)) or rest)
    rest = _done(rest, answer) or rest
    head, _, stranded = word.partition(" ")
    if stranded in {"to", "from", "with", "for"} and head in {"where", "who", "what"}:  # "Where to?"
        return f"{head.title()} {rest} {stranded}?"
    return f"{word[:1].upper()}{word[1:]} {rest}?"


_DOING = re.compile(r"(?P<aux>did|does|do|will|would|could|can|should) (?P<subject>.+?) do\b(?P<tail>.*)",
                    re.IGNORECASE)


def _done(rest: str, answer: str) -> str | None:
    """The ``rest`` of "What did X do?" with what was done in place of "do": "did the council do" + "opened an
    inquiry" -> "did the council open an inquiry" (then "Why did the council open an inquiry?", not "Why did
    the council do?"); None when the answer does not open with a verb."""
    done = _DOING.fullmatch(rest)
    words = answer.split()
    if done is None or not words or len(words) > 2 * MAX_ENTITY_WORDS:
        return None
    verb = words[0].lower()
    lemma = inflection.tensed_lemma(verb) or (verb if verb.isalpha() and inflection.base_form(verb) else None)
    if lemma is None:
        return None
    return " ".join([done.group("aux"), done.group("subject"), lemma, *words[1:]]) + done.group("tail")


def _active_with_subject(asked: re.Match[str] | None, rest: str, answer: str) -> str | None:
    """The ``rest`` of a question whose question word was the subject of its verb, with the ``answer`` as
    subject: "Who" + "opened the bridge" + "the mayor" -> "did the mayor open the bridge" (then "When did
    the mayor open the bridge?": the reader finds who did it named), "How many people" + "died" + "137" ->
    "did 137 people die"; None for any other question. A verb
    lemminflect does not know keeps its tense after the answer when its ending looks past ("the mayor
    threw ...")."""
    words = rest.split()
    head = asked.group().strip().lower().split() if asked else []
    if head[:2] == ["how", "many"] and len(head) > 2 and words and answer:  # "How many people died" + "137"
        answer = f"{answer} {' '.join(head[2:])}" if len(tokens(answer)) <= 3 else answer
        head = ["who"]
    if asked is None or not words or not answer or len(tokens(answer)) > 2 * MAX_ENTITY_WORDS or \
            " ".join(head) not in {"who", "what", "which group", "which country"} or \
            words[0].lower() in AUX | BE:
        return None
    supported = _with_do(words[0], answer, words[1:])
    if supported:  # "did the mayor open the bridge": the question a reader was trained on
        return supported
    if not re.fullmatch(r"[a-z]+(?:ed|ew|ot|ook|ave|ent|ame|old|aid|ld|id)", words[0]):
        return None
    return f"{answer} {rest}"


def _with_do(verb: str, subject: str, rest: Sequence[str]) -> str | None:
    """"opened" + "the mayor" + "the bridge" -> "did the mayor open the bridge" (a past or present
    tense of a verb, by lemminflect's tables), else None."""
    lemma = inflection.tensed_lemma(verb)  # known verbs only, not "industries"
    if lemma is None:
        return None
    do = "did" if verb in inflection.inflect(lemma, tag="VBD") else "does"
    return " ".join([do, mid_question(subject), lemma, *rest])  # "did the mayor ..."


_SAME_VERB = re.compile(r"^\s*(?:and\s+|but\s+|so\s+)?(?P<wh>who|what|which \w+)\s+(?P<verb>[a-z]+)\s*[?.!]*\s*$",
                        re.IGNORECASE)


def _same_verb(question: str, last: Answer) -> str | None:
    """A short subject question whose verb the last question had, asked for that question's object:
    "Who paid?" after "How much did the EU pay for the bridge?" -> "Who paid for the bridge?"; None
    when the verbs differ or nothing follows the verb there."""
    m = _SAME_VERB.match(question)
    lemma = inflection.tensed_lemma(m.group("verb")) if m else None
    if m is None or lemma is None:
        return None
    words = (last.query or last.question).strip().rstrip("?.! ").split()
    at = next((i for i, w in enumerate(words) if w.isalpha() and w.islower()
               and lemma in inflection.lemmas(w)), None)
    if at is None or at == len(words) - 1:
        return None
    wh = m.group("wh")
    return f"{wh[:1].upper()}{wh[1:]} {m.group('verb')} {' '.join(words[at + 1:])}?"


_OBJECT_PRONOUNS = {"it": "it", "them": "they", "him": "he", "her": "she", "me": "I", "us": "we", "you": "you"}


def _without_subject(asked: re.Match[str] | None, rest: str) -> str | None:
    """The ``rest`` of a question whose question word was its subject, when nothing answered it: "Who" +
    "attacked the concert hall" -> "was the concert hall attacked" (then "When was the concert hall
    attacked?"); "What" + "happened in Moscow" -> "did it happen in Moscow"; "How many people" + "died" ->
    "did people die"; None for any other question."""
    words = rest.split()
    wh = asked.group().strip().lower().split() if asked else []
    if not words or words[0].lower() in AUX | BE:
        return None  # "What did Darmanin say": its question word is the object ("When was Darmanin say done?")
    lemma = inflection.tensed_lemma(words[0])
    if lemma is None:
        return None
    past = words[0] in inflection.inflect(lemma, tag="VBD")
    if wh[:2] == ["how", "many"] and len(wh) > 2 and \
            (len(words) == 1 or words[1].lower() in _STRANDED):  # "How many people died (in ...)": "did people die"
        return " ".join(["did" if past else "do", *wh[2:], lemma, *words[1:]])
    if not wh or wh[0] not in {"who", "what", "which"}:
        return None
    end = next((i for i in range(1, len(words)) if words[i].lower() in _STRANDED), len(words))
    thing, after = words[1:end], words[end:]
    if not thing:  # no object: "did it happen in Moscow", "did they attack"
        who = wh[0] == "who"
        return " ".join(["did" if past else "do" if who else "does", "they" if who else "it", lemma, *after])
    participle = inflection.inflect(lemma, tag="VBN")
    if not participle or len(thing) > 4:
        return None
    if len(thing) == 1 and thing[0].lower() in _OBJECT_PRONOUNS:
        thing = [_OBJECT_PRONOUNS[thing[0].lower()]]
    last_word = thing[-1].lower()
    plural = last_word in {"they", "we", "you"} or (last_word.endswith("s")
                                                     and not last_word.endswith(("ss", "us", "is")))
    be = ("were" if plural else "was") if past else ("are" if plural else "is")
    return " ".join([be, *thing, participle[0], *after])


def _fill_fragment(x: str, last: Answer) -> str | None:
    """The last question with its subject swapped for ``x``: "Who is the French Interior Minister?" +
    "and the prime minister?" -> "Who is the French prime minister?"; first, for an ``x`` that opens with a
    preposition or is an ordinal, the object or ordinal of the same kind (``_swapped_object``); None when
    nothing lines up."""
    previous = last.query or last.question
    swapped = _swapped_object(x, previous)
    if swapped is not None:
        return swapped
    x_tokens = tokens(x)
    openers = QUESTION_WORDS - {"the", "a", "an", "in", "on", "at"}
    if len(x_tokens) > 6 or any(t.lower() in openers for t in x_tokens[:1]):
        return None
    # the last question's name or role phrase of the same kind as x
    candidates = phrases(previous)
    if not candidates:
        return None
    x_kind = kind_of(x, "")
    if x_kind == "thing" and x[:1].islower() and x_tokens[0].lower() not in {"the", "a", "an", "his", "her", "their",
                                                                            "its"}:
        return None  # "and injured?" names no subject to swap in
    for phrase, kind in candidates:
        if kind == x_kind or (x_kind == "thing" and kind != "time"):
            return previous.replace(phrase, _strip_article(x) if phrase[:1].isupper() else x, 1)
    return None


_ORDINALS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|next"


def _swapped_object(x: str, previous: str) -> str | None:
    """``previous`` asked again of ``x``, a fragment that opens with a preposition or is an ordinal: the
    object of the last use of that preposition swapped for ``x``'s ("And in the west?" after "What did it
    extend to in the east?" -> "What did it extend to in the west?"; "and on Sunday?" after "What did she say
    on Monday?" -> "What did she say on Sunday?"; a year only for a number: "And in 1870?" after "What was
    founded in 1865?"), or its ordinal for ``x``'s ("And the second?" after "What was the first one?" ->
    "What was the second one?"). None when nothing lines up."""
    first, _, rest = x.partition(" ")
    ordinal = re.fullmatch(rf"(?:the\s+)?({_ORDINALS})", x.strip(), re.IGNORECASE)
    if ordinal:  # "And the second?" after "What was the first one?" -> "What was the second one?"
        swapped = re.sub(rf"\b({_ORDINALS})\b", ordinal.group(1).lower(), previous, count=1, flags=re.IGNORECASE)
        return swapped if swapped != previous else None
    if first.lower() not in _STRANDED or not rest.strip() or _LEADING_WH.match(rest):
        return None  # "And to whom else?" asks again, as the frame readings have it
    objects = list(re.finditer(rf"\b{re.escape(first)}\s+(?P<o>(?:(?!\b(?:{_STRANDED_ALTERNATION})\b)[^?,.!])+)",
                               previous, re.IGNORECASE))  # re caches the compiled pattern per preposition
    if not objects:
        return None
    m = objects[-1]
    said = m.group("o").rstrip()
    if not said or len(tokens(said)) > MAX_ENTITY_WORDS or bool(re.search(r"\d", said)) != bool(re.search(r"\d", rest)):
        return None
    return previous[: m.start()] + x + previous[m.start("o") + len(said):]


def _strip_article(text: str) -> str:
    return re.sub(r"^(the|a|an)\s+", "", text, flags=re.IGNORECASE) if text[:1].islower() else text
