"""Which articles a question names: by their title ("In what year did the earthquake in Sichuan occur?"
names the article "2008 Sichuan earthquake": two of its three title terms are in the question), or by
the site that published them ("What did Le Monde report about the bridge?" names Le Monde's articles).

Titles are read from the segments' article tables (in SQLite, once per segment and process; no article
is loaded), as BM25 terms (``qa.index.lexical.tokenize``: stopwords out, stemmed), into a map from term to the
articles whose titles hold it. A question names an article when at least ``MIN_SHARE`` of its title's
terms are among the question's; the retriever then ranks that article's sentences by the question
among themselves and fuses that ranking in (``qa.retrieval``), so a question about a topic finds its
article even where a distractor's single sentence matches better.

Sites are the articles' site names (kept in memory by the segments); a question names one when it holds
the whole name as words, in any case ("le monde", "Reuters"); names under ``MIN_SITE_CHARS`` are not
looked for.

    TitleIndex(index).named("In what year did the earthquake in Sichuan occur?")   # {"...": 0.67}
    TitleIndex(index).sites_named("What did Le Monde report?")                    # ["Le Monde"]
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.index.sentence_index import SentenceIndex

MIN_SHARE = 0.6  # of a title's terms that a question must hold to name the article (2 of 2, 2 of 3, 3 of 4)
MAX_NAMED = 3  # articles a question may name (the best shares first; more is a generic title word)
MIN_SITE_CHARS = 3  # shorter site names are not looked for in questions
MAX_SITES = 2  # sites a question may name


class TitleIndex:
    """Title terms -> live articles, for one loaded index; built on first use."""

    def __init__(self, index: SentenceIndex):
        self.index = index
        self._terms: dict[str, list[str]] | None = None
        self._sizes: dict[str, int] = {}  # article id -> distinct terms in its title
        self._lock = threading.Lock()
        self._sites: tuple[re.Pattern[str] | None, dict[str, str]] | None = None  # one pattern, lower -> name

    def _build(self) -> dict[str, list[str]]:
        from qa.index.lexical import tokenize

        with self._lock:
            if self._terms is not None:
                return self._terms
            ids, titles = [], []
            for segment in self.index.segments:
                for article_id, title in zip(segment.ids, segment.titles()):
                    ids.append(article_id)
                    titles.append((title or "").replace("_", " "))  # "Super_Bowl_50" (SQuAD's titles)
            terms: dict[str, list[str]] = {}
            for article_id, words in zip(ids, tokenize(titles) if titles else []):
                distinct = set(words)
                self._sizes[article_id] = len(distinct)
                for word in distinct:
                    terms.setdefault(word, []).append(article_id)
            self._terms = terms
            return terms

    def named(self, question: str) -> dict[str, float]:
        """Live articles whose titles the question names: id -> share of the title's terms it holds."""
        from qa.index.lexical import tokenize

        terms = self._build()
        counts: dict[str, int] = {}
        for word in set(tokenize([question])[0]):
            for article_id in terms.get(word, ()):
                counts[article_id] = counts.get(article_id, 0) + 1
        shares = {a: c / self._sizes[a] for a, c in counts.items()
                  if c / self._sizes[a] >= MIN_SHARE and a in self.index.articles}
        best = sorted(shares, key=lambda a: (-shares[a], -self._sizes[a], a))[:MAX_NAMED]
        return {a: shares[a] for a in best}

    def sites_named(self, question: str) -> list[str]:
        """The site names (as the articles give them) that ``question`` holds as whole words, in the order it
        names them (at one place the longest name wins: "Lyon Times", not "Times")."""
        if self._sites is None:
            names = {site.strip().lower(): site.strip() for segment in self.index.segments for site in segment.sites
                     if site and len(site.strip()) >= MIN_SITE_CHARS}
            alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if names else None
            self._sites = (pattern, names)
        pattern, names = self._sites
        if pattern is None:
            return []
        found = dict.fromkeys(names.get(m.group().lower(), m.group()) for m in pattern.finditer(question))
        return list(found)[:MAX_SITES]
