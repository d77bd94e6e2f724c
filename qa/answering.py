"""Answers from readings: merge the spans that say the same thing, cite each, score each, abstain.

    answer = compose(follow_up, passages, reading, threshold, seconds, verifier, index)

The reader gives spans with scores over the passages it read; this stage turns them into an
``Answer``: spans that say the same thing pool their places (``balanced`` and the merging of
near-identical candidates), each candidate is cited exactly (``cite``: the sentence holding it,
and its offsets in the article), the verifier turns its signals into the probability that it is
right, and the best is withheld below the threshold. ``normalize_answer`` is SQuAD's answer
normalisation, which decides what "the same answer" means here and in the evaluation.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace

from qa.dates import resolve_relative
from qa.followup import FollowUp
from qa.index import SentenceIndex
from qa.schema import Answer, Candidate, Citation, Passage, Reading, Span
from qa.sentences import split_text
from qa.text import asked_abbreviation, expansions, spells_out
from qa.verification import (
    NOT_SPELLED_OUT,
    OFF_VERB,
    Verifier,
    abbreviates_asked,
    agent_unsaid,
    besides_signals,
    event_elsewhere,
    holds_asked_name,
    led_by_preposition,
    names_asker,
    object_of_verb,
    other_holder,
    pronoun_did,
    says_asked_verb,
    signals,
)

_PUNCTUATION = set(string.punctuation)
CANDIDATES = 5  # the reader's best spans (after merging) that the verifier scores


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def compose(
    follow_up: FollowUp, passages: list[Passage], reading: Reading, threshold: float, seconds: float,
    verifier: Verifier, index: SentenceIndex | None = None, retrieved: bool = True,
) -> Answer:
    """Merge spans that say the same thing, cite each, score each, and decide whether to answer.

    Spans that run across a sentence boundary are dropped: a citation is one sentence.
    Every citation of a candidate spans exactly the candidate's text in its article.
    The reader's best ``CANDIDATES`` each get the verifier's probability that they are right
    (``Answer.score``), halved for the checks ``besides_signals`` reads (one of them relative: a candidate
    that is not the asked verb's object where another is); the most probable is the answer ("Which group
    made attempts in France?": "ISIS" over the reader's "Moscow", whose "who" has no group to name),
    withheld below ``threshold``.
    Answers a "who else?" follow-up asks past (``follow_up.exclude``) are not candidates, nor is the last answer
    a "Why?" asks past (``follow_up.past``), or a span inside or around it. For "What does
    IS-K stand for?", a span over the name a passage spells out beside "(IS-K)" becomes that whole name
    (``spelled_out``), and a candidate that spells out no such name is halved where another does.
    """
    question, query = follow_up.question, follow_up.query
    letters = asked_abbreviation(query)  # "What does IS-K stand for?": "isk"
    excluded = {normalize_answer(x) for x in follow_up.exclude}
    past = [f" {normalize_answer(x)} " for x in follow_up.past if normalize_answer(x)]
    # where each passage read spells the asked abbreviation out beside its brackets, found once per passage
    names = {p: expansions(letters, passages[p].text) for p in {s.passage for s in reading.spans}} if letters else {}
    groups: dict[str, list[tuple[Span, Citation]]] = {}
    for span in reading.spans:
        span = spelled_out(balanced(span, passages[span.passage].text), passages[span.passage].text,
                           names.get(span.passage, []))
        key = normalize_answer(span.text) or span.text.strip()
        citation = cite(passages[span.passage], span, index)
        before = follow_up.after is not None and citation.article_id == follow_up.after[0] and \
            citation.start < follow_up.after[1]  # "What did she say next?" asks past what was answered
        # what "Why?" asks past is no answer inside a longer span or cut shorter either
        repeated = key in excluded or any(f" {key} " in x or x in f" {key} " for x in past)
        if key and not repeated and citation.end <= citation.sentence_end and not before:
            groups.setdefault(key, []).append((span, citation))
    # the runner-up of each answer text as the verifier was calibrated: the best span of any other text,
    # the near-identical ones that pooling joins below included ("90 people" is "90"'s rival)
    best_of = {k: max(s.score for s, _ in found) for k, found in groups.items()}
    groups = _merged(groups)
    ranked = []
    for found in groups.values():
        span, first = found[0]
        text = first.sentence[first.start - first.sentence_start : first.end - first.sentence_start]
        same: list[Citation] = []
        for c in (_retarget(c, text) for _, c in found):  # one citation per place in an article
            if c is not None and all((c.article_id, c.start) != (d.article_id, d.start) for d in same):
                same.append(c)
        ranked.append((span, text, same))
    ranked.sort(key=lambda r: -r[0].score)
    no_answer = min(reading.no_answer) if reading.no_answer else 1.0
    if not ranked:
        return Answer(question, None, 0.0, no_answer_score=no_answer, passages=passages, seconds=seconds,
                      query=query)
    candidates, objects = [], []
    for span, text, same in ranked[:CANDIDATES]:
        own = normalize_answer(span.text) or span.text.strip()
        rival = max((score for k, score in best_of.items() if k != own), default=0.0)
        passage = passages[span.passage]
        facts = signals(
            query, text, same[0].sentence if same else passage.text, passage.text, span.score,
            reading.no_answer[span.passage], no_answer, rival, places=len(same), passage_rank=span.passage,
            retrieval_score=passage.score, site=(same[0].site or "") if same else "",
        )
        checks = facts.to_dict()
        if same:
            sentence, at, end = (same[0].sentence, same[0].start - same[0].sentence_start,
                                 same[0].end - same[0].sentence_start)
            if event_elsewhere(query, sentence, at, end):
                checks["event_elsewhere"] = 1.0  # "2015" of the other attack a sentence compares the asked one to
            if abbreviates_asked(query, text):
                checks["abbreviates_asked"] = 1.0  # "IS-K" for "What is Islamic State in Khorasan a cell of?"
            if holds_asked_name(query, text):
                checks["holds_asked_name"] = 1.0  # "former French President François Hollande" for "Who was Hollande?"
            if names_asker(query, sentence, at, end):
                checks["names_asker"] = 1.0  # "Maria Zakharova" for "What did the Kremlin spokeswoman claim?"
            if other_holder(query, sentence):
                checks["other_holder"] = 1.0  # the prime minister's words for "What did the interior minister warn?"
            if agent_unsaid(query, sentence):
                checks["agent_unsaid"] = 1.0  # "Emily Carter, said safety staff had been warned" for "Who warned?"
            if pronoun_did(query, sentence, at, end):
                checks["pronoun_did"] = 1.0  # "fans" of "She apologised to fans" for "Who apologised?"
            if says_asked_verb(query, text):
                checks["says_asked_verb"] = 1.0  # "fans ... and promised full refunds" for "Who promised ...?"
            verdicts = [object_of_verb(query, c.sentence, c.start - c.sentence_start, c.end - c.sentence_start)
                        for c in same]  # at any of its places
            objects.append(True if True in verdicts else False if False in verdicts else None)
        else:
            objects.append(None)
        score = verifier.probability(facts, span.score, retrieved, follow_up.uses_history) * besides_signals(checks)
        candidates.append((Candidate(text, score, same, checks), checks, span.score))
    # "What did Attal announce?": what he announced, not what he called for after it
    _halve_beside(candidates, objects, "off_verb", OFF_VERB)
    # ... and never to whom: "to the Russian services" is off the verb even where no candidate is its object
    _halve_beside(candidates, [False if not checks.get("off_verb") and led_by_preposition(query, c.text) else None
                               for c, checks, _ in candidates], "off_verb", OFF_VERB, alone=True)
    if letters:  # "What does UMC stand for?": not "right of liberal and progressive Protestant groups"
        _halve_beside(candidates, [spells_out(letters, c.text) for c, _, _ in candidates], "not_spelled_out",
                      NOT_SPELLED_OUT)
    candidates.sort(key=lambda c: -c[0].score)  # the likeliest right, not the reader's favourite span
    checks, reader_score = candidates[0][1], candidates[0][2]
    # the runners-up's probabilities as runners-up: lower than as the one chosen (``Verifier.alternative``)
    candidates = [candidates[0][0]] + [replace(c, score=verifier.alternative(c.score)) for c, _, _ in candidates[1:]]
    best = candidates[0]
    if best.score < threshold:
        return Answer(question, None, best.score, alternatives=candidates, no_answer_score=no_answer,
                      passages=passages, seconds=seconds, reader_score=reader_score, signals=checks,
                      query=query)
    return Answer(question, best.text, best.score, best.citations, candidates[1:], no_answer, passages,
                  seconds, reader_score, checks, query)


def cite(passage: Passage, span: Span, index: SentenceIndex | None = None) -> Citation:
    """A citation for a span: the sentence holding its start, and its offsets in the article."""
    text = span.text
    lead = len(text) - len(text.lstrip())
    start = passage.start + span.start + lead
    end = start + len(text.strip())
    if index is not None and passage.article_id in index.articles:
        article = index.articles[passage.article_id]
        sentence = index.sentence_at(passage.article_id, start)
        if sentence is not None:
            return Citation(
                passage.article_id, passage.title, sentence.index, sentence.text, start, end,
                sentence.start, sentence.end, article.source, article.url, span.score,
                date=article.date, site=article.site, author=article.author, page=article.page_of(start),
                when=resolve_relative(span.text, article.date), updated=article.updated,
            )
    # A passage from elsewhere (an outside retriever, the evaluation's gold paragraph):
    # split it here; sentence indices then count from the passage's first sentence.
    spans = split_text(passage.text) or [(0, len(passage.text))]
    k = next((k for k, (s, e) in enumerate(spans) if s <= span.start + lead < e), 0)
    s, e = spans[k]
    return Citation(passage.article_id, passage.title, passage.first + k, passage.text[s:e], start, end,
                    passage.start + s, passage.start + e, score=span.score)


_OPENING, _CLOSING = "“‘«\"'", "”’»\"'"
_PAIRS = {"“": "”", "‘": "’", "«": "»", '"': '"', "'": "'"}
_OPENER = {c: o for o, c in _PAIRS.items() if o != c and c != "’"}  # double closing marks: ’ is also an apostrophe


def balanced(span: Span, passage: str = "") -> Span:
    """``span`` with no quotation cut in half. A quotation opened inside the span and closed just after it
    in ``passage`` (within ``QUOTE_REACH`` characters, the same sentence) is taken whole: 'Russia “increased
    cooperation' -> 'Russia “increased cooperation”', and one closed inside it and opened just before it
    likewise; one closed inside it and opened further back ends it at the mark. A quotation mark at either
    end whose partner is not inside the span is dropped: 'increased cooperation”' -> 'increased cooperation'.
    Brackets likewise (``_bracketed``): "the Islamic State in Khorasan (IS-K" -> "... (IS-K)"."""
    text, start = span.text, span.start
    opened = [i for i, ch in enumerate(text) if ch in _PAIRS and ch not in "\"'" and _PAIRS[ch] not in text[i + 1 :]]
    if opened and opened[-1] > 0 and passage[span.start : span.end] == text:
        close = passage.find(_PAIRS[text[opened[-1]]], span.end, span.end + QUOTE_REACH)
        if close >= 0 and not re.search(r"[.!?]\s", passage[span.end : close]):
            text = passage[span.start : close + 1]
    # and the other way: 'increased cooperation” to combat terrorism' -> '“increased cooperation” to ...'
    closed = [i for i, ch in enumerate(text) if ch in _OPENER and _OPENER[ch] not in text[:i]]
    if closed and closed[0] < len(text) - 1 and passage[start : start + len(text)] == text:
        begin = passage.rfind(_OPENER[text[closed[0]]], max(0, start - QUOTE_REACH), start)
        if begin >= 0 and not re.search(r"[.!?]\s", passage[begin:start]):
            text, start = passage[begin : start + len(text)], begin
        else:  # opened too far back: the quoted words alone, as a span that ends on the mark loses it, and
            text = re.sub(r"(?<=[a-z0-9])[.,;:]$", "", text[: closed[0]].rstrip())  # the quote's own stop
    while text and text[-1] in _CLOSING and not any(o in text[:-1] for o, c in _PAIRS.items() if c == text[-1]):
        text = text[:-1].rstrip()
    while text and text[0] in _OPENING and _PAIRS[text[0]] not in text[1:]:
        lead = len(text) - len(text[1:].lstrip())
        text, start = text[lead:], start + lead
    text, start = _bracketed(text, start, passage)
    if text == span.text or not text.strip():
        return span
    return replace(span, start=start, end=start + len(text), text=text)


def _bracketed(text: str, start: int, passage: str) -> tuple[str, int]:
    """``text`` (at ``start`` in ``passage``) with no bracket cut in half: one opened inside it and closed just
    after it is taken whole ("the Islamic State in Khorasan (IS-K" -> "... (IS-K)"), one opened further on is
    left out with what follows it; one closed inside it and opened before it is left out with what comes
    before it ("IS-K), believed to be responsible" -> "believed to be responsible")."""
    if text.count("(") > text.count(")"):
        after = start + len(text)
        close = passage.find(")", after, after + QUOTE_REACH) if passage[start:after] == text else -1
        if close >= 0 and "(" not in passage[after:close] and not re.search(r"[.!?]\s", passage[after:close]):
            return passage[start : close + 1], start
        cut = text[: text.rfind("(")].rstrip(" ,;:")
        return (cut, start) if cut else (text, start)
    if text.count(")") > text.count("("):
        end = text.find(")") + 1
        rest = text[end:]
        lead = len(rest) - len(rest.lstrip(" ,;:"))
        return (rest[lead:], start + end + lead) if rest[lead:] else (text, start)
    return text, start


def _halve_beside(candidates: list[tuple[Candidate, dict[str, float], float]], fits: list[bool | None],
                  check: str, factor: float, alone: bool = False) -> None:
    """Where some candidate fits a check (True), those that do not (False) are marked with ``check`` and keep
    ``factor`` of their probability; None (cannot tell) is left alone. ``alone``: those that do not fit are
    marked even where none does. In place."""
    if True not in fits and not alone:
        return
    for k, fit in enumerate(fits):
        if fit is False:
            c, checks, reader_score = candidates[k]
            checks[check] = 1.0  # c.signals is this dict: the answer's signals record the check
            candidates[k] = (replace(c, score=c.score * factor), checks, reader_score)


def spelled_out(span: Span, passage: str, names: list[tuple[int, int]]) -> Span:
    """``span`` as the whole name of the abbreviation asked about where it overlaps one of ``names``, the
    places ``passage`` spells it out beside its brackets (``qa.text.expansions``): the reader's "Khorasan" and
    "the Islamic State" in "the Islamic State in Khorasan (IS-K)" are both "Islamic State in Khorasan"."""
    for start, end in names:
        if span.start < end and start < span.end and (span.start, span.end) != (start, end):
            return replace(span, start=start, end=end, text=passage[start:end])
    return span


QUOTE_REACH = 60  # how far past a span's end the closing mark of a quotation it opened may be

MERGE_WORDS = 6  # a candidate at most this many words longer than another that it contains is the same answer


def _merged(groups: dict[str, list[tuple[Span, Citation]]]) -> dict[str, list[tuple[Span, Citation]]]:
    """Candidates that say the same thing, pooled: "on Monday" and "Monday after five years of work" join
    "Monday" (a candidate whose words contain another's as a run, at most ``MERGE_WORDS`` longer), and
    "“increased cooperation”" joins "increased cooperation" (the same words but for quotation marks). The
    pooled group keeps the text the reader scored best; the others' places count as its evidence."""
    keys = sorted(groups, key=lambda k: -max(s.score for s, _ in groups[k]))
    # words without their quotation marks: "“increased cooperation” to combat terrorism" holds "increased cooperation"
    bare = {k: [w.strip(_OPENING + _CLOSING) for w in k.split()] for k in keys}
    merged: dict[str, list[tuple[Span, Citation]]] = {}
    for k in keys:
        target = next((h for h in merged if bare[k] == bare[h] or _contains(bare[k], bare[h])
                       or _contains(bare[h], bare[k])), None)
        if target is None:
            merged[k] = list(groups[k])
        else:
            merged[target] += groups[k]
    return merged


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    if not n or len(longer) <= n or len(longer) - n > MERGE_WORDS:
        return False
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def joined(first: Reading, rest: Reading) -> Reading:
    """The reading of a question's first passage and of the passages after it, as one reading."""
    shifted = [replace(span, passage=span.passage + len(first.no_answer)) for span in rest.spans]
    spans = sorted([*first.spans, *shifted], key=lambda x: (-x.score, x.passage, x.start))
    return Reading(spans, [*first.no_answer, *rest.no_answer])


def _retarget(citation: Citation, text: str) -> Citation | None:
    """``citation`` made to span exactly ``text`` ("the Kremlin" vs "Kremlin"), or None if its sentence lacks it."""
    begin = citation.start - citation.sentence_start
    if citation.sentence[begin : begin + len(text)] == text:
        return replace(citation, end=citation.start + len(text))
    found = citation.sentence.find(text)
    if found < 0:
        return None
    return replace(citation, start=citation.sentence_start + found, end=citation.sentence_start + found + len(text))
