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

The stage is a small package: ``readings`` (the rules that make readings, and ``respelled``),
``entities`` (what earlier turns talked about) and ``words`` (its vocabulary).

    f = interpret("What did he propose?", [earlier_answer])
    f.query   # "What did Emmanuel Macron propose?"
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from qa.followup.entities import Entity, entities_of, new_subject
from qa.followup.readings import (
    MAX_READINGS,
    asks_past,
    fragment_of,
    is_pronoun,
    readings,
    respelled,
    said_next,
    speaker_of,
)
from qa.followup.words import ELSE, RECENT_TURNS, tokens
from qa.schema import Answer

PARTS = ("complete", "context", "focus")  # what a follow-up may take from the history (see ``parse_parts``)

__all__ = ["MAX_READINGS", "PARTS", "Entity", "FollowUp", "entities_of", "interpret", "parse_parts", "readings",
           "respelled", "said_next", "speaker_of"]


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
    # "What did she say next?": (article id, char offset) of the last answer's end; only what that
    # article says after it is read
    after: tuple[str, int] | None = None
    # "Why?" after "What did Attal announce?": the last answer, and any span inside or around it, is no answer
    past: tuple[str, ...] = ()

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
    lowered = [t.lower() for t in tokens(question)]
    after, asked = None, question
    next_said = said_next(question)
    if next_said is not None:  # "What did she say next?": read what her article says after the last answer
        cited = next((a.citations[0] for a in recent if a.citations), None)
        if cited is not None and (known_articles is None or cited.article_id in known_articles):
            after, asked = (cited.article_id, cited.end), next_said
    wants_else = after is None and any(w in ELSE for w in lowered)
    query, alternatives = question, ()
    needs = wants_else or after is not None or fragment_of(question) is not None or \
        any(is_pronoun(lowered, i) for i in range(len(lowered)))
    if "complete" in parts:
        found = readings(asked, recent)
        query, alternatives = found[0], tuple(found[1:])
        needs = needs or len(found) > 1
    fresh = not needs and new_subject(question, turns)
    context = ""
    if "context" in parts and not fresh:
        context = " ".join(x for a in recent[:2] for x in (a.query or a.question, a.text or ""))
    articles: dict[str, float] = {}
    if "focus" in parts and not fresh:
        for back, a in enumerate(recent):
            for c in a.citations[:1]:
                if known_articles is None or c.article_id in known_articles:
                    articles[c.article_id] = max(articles.get(c.article_id, 0.0), 1.0 / (1 + back))
    exclude = tuple(dict.fromkeys(a.text for a in recent if a.text)) if wants_else else ()
    past = (recent[0].text,) if recent[0].text and asks_past(question, recent[0]) else ()  # "Why?" asks anew
    return FollowUp(question, query, context.strip(), articles, exclude, needs_history=needs,
                    alternatives=alternatives, after=after, past=past)


def _still_known(answer: Answer, known: Collection[str] | None) -> bool:
    if known is None or not answer.citations:
        return True
    return any(c.article_id in known for c in answer.citations)
