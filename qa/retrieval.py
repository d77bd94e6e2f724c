"""From a question to the passages the reader will read.

Sentences are found two ways, dense (FAISS over MiniLM vectors) and lexical
(BM25), and the two rankings are fused by reciprocal rank: on SQuAD-dev articles
each alone puts the answer in the top 5 for 88% of questions, the fusion for 93%.
Each hit is then widened with its neighbouring sentences; windows that overlap
within an article are merged into one passage.

A follow-up question in a conversation brings two more rankings into the fusion
(see ``qa.followup``): the earlier turns as a second, weaker query (``context``),
and the sentences of the articles the conversation was cited from, ranked by the
question alone (``articles``, each with its weight), so a vague "and the state?"
stays in the story being discussed while a question that plainly fits another
article still finds it.

    HybridRetriever(index, embedder).retrieve("Who offered Russia cooperation?")
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from qa.dates import dates_named
from qa.filters import Filters
from qa.index import Embedder, SentenceIndex
from qa.index.titles import TitleIndex
from qa.schema import Hit, Passage
from qa.settings import Settings
from qa.text import POSSESSIVE

RRF_K = 60  # the constant of reciprocal-rank fusion (Cormack et al., 2009)
CONTEXT_WEIGHT = 0.5  # a follow-up's earlier turns, as a query, against the question itself (1.0)
FOCUS_WEIGHT = 1.0  # the ranking within the conversation's articles, times each article's weight
AFTER_SENTENCES = 4  # "What did she say next?" reads the last answer's sentence and the three after it


def _fuse(fused: dict[int, float], rankings: list[tuple[float, list[tuple[int, float]]]]) -> dict[int, float]:
    """Add weighted reciprocal-rank scores of ``rankings`` (weight, [(position, score), ...]) into ``fused``."""
    for weight, ranking in rankings:
        for rank, (pos, _) in enumerate(ranking):
            fused[pos] = fused.get(pos, 0.0) + weight / (RRF_K + rank + 1)
    return fused


class HybridRetriever:
    """Dense + BM25 sentence retrieval fused by reciprocal rank, widened into passages."""

    def __init__(
        self, index: SentenceIndex, embedder: Embedder, hits: int = Settings.hits, window: int = Settings.window,
        top_passages: int = Settings.top_passages, article_weight: float = Settings.article_weight,
        title_weight: float = Settings.title_weight,
    ):
        self.index = index
        self.embedder = embedder
        self.hits_per_retriever = hits
        self.window = window
        self.top_passages = top_passages
        self.article_weight = article_weight
        self.title_weight = title_weight
        self.titles = TitleIndex(index)


    def hits(self, question: str, context: str = "", articles: Mapping[str, float] | None = None,
             where: Filters | None = None) -> list[Hit]:
        """Sentences for ``question``, best first, scored by reciprocal-rank fusion.

        ``context`` (earlier turns of a conversation) is searched too, with ``CONTEXT_WEIGHT``;
        the sentences of ``articles`` (id -> weight) are ranked by the question among themselves
        and fused with ``FOCUS_WEIGHT`` times the article's weight; so are the sentences of articles
        whose titles the question names (``qa.index.titles``), with ``title_weight`` times the share of
        the title named, and the question's rankings among the articles of a site it names ("What did
        Le Monde report?") or dated when a day or month it names happened ("on 25 March 2024", within
        ``qa.dates.REPORTED_WITHIN`` days after), with ``title_weight``. These change the order only:
        a hit's score stays the question's own fused score (in the corpus, or within those articles,
        whichever is higher), on the scale the reader's verifier was calibrated with.
        """
        if not self.index.sentences:
            return []
        k = self.hits_per_retriever
        queries = [question] + ([context] if context else [])
        vectors = np.asarray(self.embedder.encode(queries))
        dense = self.index.search(vectors[:1], k, where)[0]
        own = [dense, self.index.lexical(question, k, where)]  # the question's own rankings
        extra: list[tuple[float, list[tuple[int, float]]]] = []
        if context:
            extra += [(CONTEXT_WEIGHT, self.index.search(vectors[1:2], k, where)[0]),
                      (CONTEXT_WEIGHT, self.index.lexical(context, k, where))]
        within: dict[int, float] = {}  # the question's rankings inside the conversation's articles
        focus = [(a, w) for a, w in (articles or {}).items() if w > 0 and self.index.allows(a, where)]
        if focus:
            for article_id, weight in focus:
                for ranking in self._within(article_id, question, vectors[0], k):
                    extra.append((FOCUS_WEIGHT * weight, ranking))
                    _fuse(within, [(1.0, ranking)])
        if self.title_weight > 0:
            focused = {a for a, _ in focus}
            for article_id, share in self.titles.named(question).items():
                if article_id not in focused and self.index.allows(article_id, where):
                    extra += [(self.title_weight * share, r) for r in self._within(article_id, question, vectors[0], k)]
            sites = self.titles.sites_named(question) if where is None or where.source is None else []
            scopes = [replace(where or Filters(), source=site) for site in sites]  # within the dates asked
            named = dates_named(question)
            if named is not None:  # articles dated when what the question names happened, or just after
                asked = where or Filters()
                since, until = max(named[0], asked.since or named[0]), min(named[1], asked.until or named[1])
                if since <= until:
                    scopes.append(replace(asked, since=since, until=until))
            for scoped in scopes:  # the question's rankings among those articles
                extra += [(self.title_weight, self.index.search(vectors[:1], k, scoped)[0]),
                          (self.title_weight, self.index.lexical(question, k, scoped))]
        score = _fuse({}, [(1.0, ranking) for ranking in own])
        if self.article_weight > 0:
            # An article that matches the question in many sentences is likelier its subject than one
            # with a single lucky sentence: rank sentences by their article's total, then their own.
            article_of = {p: self.index.sentences[p].article_id for p in score}
            total: dict[str, float] = {}
            for p, value in score.items():
                total[article_of[p]] = total.get(article_of[p], 0.0) + value
            ranking = sorted(score, key=lambda p: (-total[article_of[p]], -score[p], p))[:k]
            extra.append((self.article_weight, [(p, 0.0) for p in ranking]))
        # Order by everything; score by how well the question itself matches the sentence, in the
        # corpus or within the conversation's article: the scale the verifier was calibrated on.
        order_by = _fuse(dict(score), extra)
        score = {p: max(score.get(p, 0.0), within.get(p, 0.0)) for p in order_by}
        cosine = dict(dense)
        order = sorted(order_by, key=lambda p: (-order_by[p], p))
        return [Hit(self.index.sentences[p], score[p], cosine.get(p)) for p in order]

    def _within(self, article_id: str, question: str, vector: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """The dense and the lexical ranking of one article's sentences: cosine to the question's
        ``vector``, and the question's BM25 scores (over the whole corpus' statistics)."""
        positions = self.index.article_positions(article_id)
        if not positions:
            return []
        similarity = self.index.vectors_of(positions) @ np.asarray(vector, dtype=np.float32)
        dense = sorted(zip(positions, similarity.tolist()), key=lambda x: -x[1])[:k]
        lexical: list[tuple[int, float]] = []
        scores = self.index.lexical_scores(question, positions)
        if scores is not None:
            lexical = [(p, float(s)) for p, s in sorted(zip(positions, scores), key=lambda x: -x[1]) if s > 0][:k]
        return [dense, lexical]

    def retrieve(self, question: str, top_passages: int | None = None, context: str = "",
                 articles: Mapping[str, float] | None = None, where: Filters | None = None) -> list[Passage]:
        """The ``top_passages`` best passages: hits widened by ``window`` sentences, overlaps merged.
        ``context`` and ``articles``: a follow-up's conversation, as ``hits`` takes them; ``where``: only
        articles these filters let through (``qa.filters``)."""
        limit = top_passages or self.top_passages
        longest = 2 * (2 * self.window + 1)  # merging stops at two windows' worth of sentences
        spans: list[list[Any]] = []  # [article_id, first, last, score]
        for hit in self.hits(question, context, articles, where):
            s = hit.sentence
            same_article = [sp for sp in spans if sp[0] == s.article_id]
            if any(sp[1] <= s.index <= sp[2] for sp in same_article):
                continue  # already being read
            last_index = len(self.index.article_positions(s.article_id)) - 1
            first, last = max(0, s.index - self.window), min(last_index, s.index + self.window)
            merged = False
            for sp in same_article:
                if first <= sp[2] + 1 and last >= sp[1] - 1 and max(last, sp[2]) - min(first, sp[1]) < longest:
                    sp[1], sp[2] = min(sp[1], first), max(sp[2], last)
                    merged = True
                    break
                # too long to merge: keep the new window clear of this passage
                if sp[1] <= first <= sp[2]:
                    first = sp[2] + 1
                if sp[1] <= last <= sp[2]:
                    last = sp[1] - 1
            if merged:
                continue
            if len(spans) == limit:
                break
            spans.append([s.article_id, first, last, hit.score])
        return [self._passage(*span) for span in spans]

    def _passage(self, article_id: str, first: int, last: int, score: float) -> Passage:
        return passage_of(self.index, article_id, first, last, score)


def passage_of(index: SentenceIndex, article_id: str, first: int, last: int, score: float = 0.0) -> Passage:
    """Sentences ``first..last`` (inclusive) of an article of ``index``, as one passage."""
    article = index.articles[article_id]
    positions = index.article_positions(article_id)
    start, end = index.sentence(positions[first]).start, index.sentence(positions[last]).end
    return Passage(article_id, article.title, first, last, start, article.text[start:end], score)


def passage_after(index: SentenceIndex, article_id: str, offset: int, speaker: str | None = None,
                  sentences: int = AFTER_SENTENCES) -> Passage | None:
    """What an article says from character ``offset`` on, as one passage (for "What did she say next?"):
    the sentence holding it and up to ``sentences`` - 1 after it, as long as each goes on with ``speaker``
    (names them, or opens with a quotation or "He"/"She"/"They"); None for an article no longer indexed."""
    positions = index.article_positions(article_id)
    if not positions:
        return None
    at = index.sentence_at(article_id, max(0, offset - 1))
    first = at.index if at is not None else 0
    surname = POSSESSIVE.sub("", speaker.split()[-1]) if speaker and speaker.split() else ""
    names = re.compile(rf"\b{re.escape(surname)}\b") if surname else None

    def goes_on(i: int) -> bool:
        text = index.sentence(positions[i]).text
        return names is None or bool(names.search(text) or _GOES_ON.match(text))

    def run_from(first: int) -> int:  # the last sentence of the run that goes on with the speaker
        last = first
        while last + 1 < min(len(positions), first + sentences) and goes_on(last + 1):
            last += 1
        return last

    last = run_from(first)
    if names is not None and last == first and at is not None and not re.search(r"\w{3}", at.text[offset - at.start :]):
        # nothing more of theirs here: the next sentence of the article that names them
        later = next((i for i in range(first + 1, len(positions)) if names.search(index.sentence(positions[i]).text)),
                     None)
        if later is not None:
            first, last = later, run_from(later)
    # scored as a passage ranked first by both retrievers: it is where the conversation is
    return passage_of(index, article_id, first, last, 2.0 / (RRF_K + 1))


_GOES_ON = re.compile(r"\s*(?:[\"“‘]|(?:He|She|They)\b)")  # a sentence that goes on with the last one's speaker
