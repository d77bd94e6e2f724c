"""Unanswerable training pairs made from SQuAD v1.1, the way SQuAD 2.0's annotators made theirs.

Each maker takes flattened examples (``squad_examples``), a share and a seeded
``random.Random``, and returns new examples with ``answers == []`` and a ``kind``:

- ``other``: the question with another paragraph of its article that holds none of its answers;
- ``hard``: the question with the most BM25-similar paragraph of the whole set that holds none of
  its answers (same topic, shares the question's words);
- ``cut``: its own paragraph minus the sentences that hold the answer;
- ``swap``: an entity, number, year or month of the question that the paragraph contains replaced
  by another of the same kind from the same article that the paragraph never mentions
  ("Who founded Yale in 1701?" -> "Who founded Yale in 1718?");
- ``antonym``: a word replaced by its opposite the paragraph never uses ("first" -> "last");
- ``negation``: "not" after the question's auxiliary verb, with a paragraph that negates nothing;
- ``condition``: a time condition the paragraph never states ("... in 1642?") on a question that
  had none, with a paragraph that does give years.

Every kind checks that the paragraph still does not contain the changed words, so the pair is
unanswerable by construction, not by luck. ``make_negatives`` draws a mix of them.

    make_negatives(examples, {"swap": 0.3, "cut": 0.15}, seed=42)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa.text import contains_phrase as _contains
from qa.verification import MONTH, YEAR, phrases

Example = dict[str, Any]

KINDS = ("other", "hard", "cut", "swap", "antonym", "negation", "condition")

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
ANTONYMS = {
    "first": "last", "largest": "smallest", "biggest": "smallest", "most": "least", "highest": "lowest",
    "earliest": "latest", "oldest": "youngest", "before": "after", "north": "south", "east": "west",
    "increase": "decrease", "increased": "decreased", "maximum": "minimum", "won": "lost", "win": "lose",
    "longest": "shortest", "older": "younger", "larger": "smaller", "higher": "lower", "more": "fewer",
    "best": "worst", "major": "minor", "inner": "outer", "upper": "lower", "early": "late", "start": "end",
    "started": "ended", "began": "ended", "allowed": "banned", "accepted": "rejected", "supported": "opposed",
    "rise": "fall", "rose": "fell", "strongest": "weakest", "richest": "poorest", "northern": "southern",
    "eastern": "western", "public": "private", "male": "female", "men": "women", "positive": "negative",
}
ANTONYMS.update({b: a for a, b in list(ANTONYMS.items()) if b not in ANTONYMS})
_AUXILIARY = re.compile(r"\b(is|was|are|were|did|does|do|can|could|has|have|had|will|would|should)\s+(?=[a-z])")
_ASKS_TIME = re.compile(r"\b(when|year|years|century|centuries|decade|date|era|period|age)\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(not|never|no|none|nor|n't)\b|n't\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _sentences(context: str) -> list[tuple[int, int]]:
    from qa.sentences import split_text

    return split_text(context)


def _holds_answer(context: str, ex: Example) -> bool:
    lowered = context.lower()
    return any(a["text"].lower() in lowered for a in ex["answers"])


def _negative(ex: Example, kind: str, question: str | None = None, context: str | None = None) -> Example:
    return {**ex, "id": f"{ex['id']}-{kind}", "question": question or ex["question"],
            "context": context if context is not None else ex["context"], "answers": [], "kind": kind}


def _by_article(examples: list[Example]) -> dict[int, dict[int, str]]:
    contexts: dict[int, dict[int, str]] = {}
    for ex in examples:
        contexts.setdefault(ex["article"], {})[ex["paragraph"]] = ex["context"]
    return contexts


def add_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Pair questions with another paragraph of their article that holds none of their answers."""
    contexts = _by_article(examples)
    negatives = []
    for ex in examples:
        if rng.random() >= ratio:
            continue
        others = [i for i in contexts[ex["article"]] if i != ex["paragraph"]]
        if not others:
            continue
        context = contexts[ex["article"]][rng.choice(others)]
        if _holds_answer(context, ex):
            continue
        negatives.append({**_negative(ex, "other", context=context), "id": ex["id"] + "-neg"})
    return negatives


def cut_answer_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Pair questions with their own paragraph minus every sentence that holds one of their answers."""
    negatives = []
    for ex in examples:
        if rng.random() >= ratio or not ex["answers"]:
            continue
        context = ex["context"]
        answer_spans = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in ex["answers"]]
        kept = [context[start:end] for start, end in _sentences(context)
                if not any(start < a_end and a_start < end for a_start, a_end in answer_spans)]
        cut = " ".join(kept)
        if not kept or _holds_answer(cut, ex):
            continue
        negatives.append(_negative(ex, "cut", context=cut))
    return negatives


def similar_paragraphs(examples: list[Example], chosen: list[Example], per: int = 1) -> list[list[str]]:
    """For each chosen question, up to ``per`` other paragraphs of the set that are most BM25-similar to it and
    hold none of its answers, most similar first; a paragraph of the question's own article first if one is
    among the top twenty (same topic, the likeliest to mislead)."""
    import bm25s

    from qa.text import stemmer

    if not chosen:
        return []
    paragraphs = sorted({(ex["article"], ex["paragraph"]): ex["context"] for ex in examples}.items())
    keys = [k for k, _ in paragraphs]

    def tokens(texts: list[str], ids: bool) -> Any:  # the terms of qa.index.lexical.tokenize; ids to index them
        return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False, return_ids=ids)

    bm25 = bm25s.BM25()
    bm25.index(tokens([t for _, t in paragraphs], True), show_progress=False)
    k = min(20, len(paragraphs))
    found, _ = bm25.retrieve(tokens([ex["question"] for ex in chosen], False), k=k, show_progress=False,
                             n_threads=1)
    similar = []
    for ex, row in zip(chosen, found):
        usable = [int(p) for p in row
                  if keys[int(p)] != (ex["article"], ex["paragraph"]) and not _holds_answer(paragraphs[int(p)][1], ex)]
        same = [p for p in usable if keys[p][0] == ex["article"]][:1]
        similar.append([paragraphs[p][1] for p in (same + [p for p in usable if p not in same])[:per]])
    return similar


def hard_paragraph_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Pair questions with the most BM25-similar other paragraph that holds none of their answers."""
    chosen = [ex for ex in examples if rng.random() < ratio and ex["answers"]]
    return [_negative(ex, "hard", context=found[0])
            for ex, found in zip(chosen, similar_paragraphs(examples, chosen)) if found]


def _article_pools(examples: list[Example]) -> dict[int, dict[str, list[str]]]:
    """Per article, the distinct phrases of each kind found in its paragraphs."""
    pools: dict[int, dict[str, set[str]]] = {}
    for article, paragraphs in _by_article(examples).items():
        pool = pools.setdefault(article, {})
        for context in paragraphs.values():
            for kind, s, e in phrases(context, skip_start=False):
                pool.setdefault(kind, set()).add(context[s:e])
    return {a: {k: sorted(v) for k, v in pool.items()} for a, pool in pools.items()}


def swap_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Replace a year, number, month or name of the question that the paragraph contains by another of
    the same kind, from the same article (or a nearby year or number) that the paragraph never mentions."""
    pools = _article_pools(examples)
    negatives = []
    for ex in examples:
        if rng.random() >= ratio:
            continue
        question, context = ex["question"], ex["context"]
        grounded = [(kind, s, e) for kind, s, e in phrases(question, skip_start=True)
                    if _contains(context, question[s:e])]
        if not grounded:
            continue
        kind, s, e = rng.choice(grounded)
        original = question[s:e]
        options = [p for p in pools.get(ex["article"], {}).get(kind, [])
                   if not _contains(context, p) and p.lower() not in original.lower()
                   and original.lower() not in p.lower() and not _contains(question, p)]
        if kind == "year" and not options:
            options = [str(int(original) + d) for d in (-30, -12, -7, -3, 3, 7, 12, 30)
                       if not _contains(context, str(int(original) + d))]
        elif kind == "number" and not options and original.isdigit():
            n = int(original)
            options = [str(v) for v in {n + 1, n + 2, n * 2, n * 3 + 1, max(0, n - 1)} - {n}
                       if not _contains(context, str(v))]
        elif kind == "month" and not options:
            options = [m for m in _MONTHS if m != original and not _contains(context, m)]
        if not options:
            continue
        replacement = rng.choice(options)
        changed = question[:s] + replacement + question[e:]
        negatives.append(_negative(ex, "swap", question=changed))
    return negatives


def antonym_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Replace a word of the question the paragraph uses by its opposite, which the paragraph never uses."""
    negatives = []
    for ex in examples:
        if rng.random() >= ratio:
            continue
        question, context = ex["question"], ex["context"]
        words = [m for m in re.finditer(r"[A-Za-z]+", question)
                 if m.group().lower() in ANTONYMS and _contains(context, m.group())
                 and not _contains(context, ANTONYMS[m.group().lower()])]
        if not words:
            continue
        m = rng.choice(words)
        opposite = ANTONYMS[m.group().lower()]
        if m.group()[0].isupper():
            opposite = opposite.capitalize()
        negatives.append(_negative(ex, "antonym", question=question[: m.start()] + opposite + question[m.end():]))
    return negatives


def negation_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Negate the question ("What did X not build?") where the paragraph negates nothing."""
    negatives = []
    for ex in examples:
        if rng.random() >= ratio:
            continue
        question, context = ex["question"], ex["context"]
        m = _AUXILIARY.search(question)
        if m is None or _NEGATED.search(question) or _NEGATED.search(context):
            continue
        negatives.append(_negative(ex, "negation", question=question[: m.end()] + "not " + question[m.end():]))
    return negatives


def condition_negatives(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Add a year the paragraph never states ("... in 1642?") to a question with no date, where the
    paragraph dates its facts."""
    negatives = []
    for ex in examples:
        if rng.random() >= ratio:
            continue
        question, context = ex["question"].rstrip(), ex["context"]
        years = [int(y) for y in YEAR.findall(context)]
        if (not years or YEAR.search(question) or MONTH.search(question) or not question.endswith("?")
                or _ASKS_TIME.search(question)):
            continue
        year = str(rng.choice(years) + rng.choice((-40, -25, -15, -9, -4, 4, 9, 15, 25, 40)))
        if _contains(context, year):
            continue
        preposition = rng.choice(("in", "in", "during", "by", "before", "after"))
        negatives.append(_negative(ex, "condition", question=f"{question[:-1].rstrip()} {preposition} {year}?"))
    return negatives


MAKERS: dict[str, Callable[[list[Example], float, random.Random], list[Example]]] = {
    "other": add_negatives, "hard": hard_paragraph_negatives, "cut": cut_answer_negatives,
    "swap": swap_negatives, "antonym": antonym_negatives, "negation": negation_negatives,
    "condition": condition_negatives,
}


def make_negatives(examples: list[Example], shares: dict[str, float], seed: int) -> list[Example]:
    """Unanswerable pairs of each kind at its share of the questions; each kind has its own seeded draw.

    The seed offsets keep "other" and "cut" pairs the same as in runs made before the other kinds existed.
    """
    unknown = set(shares) - set(MAKERS)
    if unknown:
        raise ValueError(f"unknown negative kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    negatives = []
    for offset, kind in enumerate(KINDS):
        share = shares.get(kind, 0.0)
        if share > 0:
            # historical offsets: "other" drew with the seed, "cut" with seed + 1
            salt = {"other": 0, "cut": 1}.get(kind, 100 + offset)
            negatives += MAKERS[kind](examples, share, random.Random(seed + salt))
    return negatives


def write_pairs(examples: list[Example], negatives: list[Example], path: str | Path) -> Path:
    """Questions and unanswerable pairs as one SQuAD 2.0-style file (each context stored once, xz-compressed
    when ``path`` ends in ``.xz``): training elsewhere then needs neither the makers nor their libraries.

    Pairs keep their article, so ``squad_examples`` gives them back grouped as before.
    """
    import json
    import lzma

    articles: dict[int, dict[str, dict[str, Any]]] = {}
    for ex in examples + negatives:
        paragraphs = articles.setdefault(ex["article"], {})
        paragraph = paragraphs.setdefault(ex["context"], {"context": ex["context"], "qas": []})
        qa: dict[str, Any] = {"id": ex["id"], "question": ex["question"], "answers": ex["answers"]}
        if not ex["answers"]:
            qa["is_impossible"] = True
            qa["kind"] = ex.get("kind", "unanswerable")
        paragraph["qas"].append(qa)
    data = {"version": "v2.0", "data": [{"title": str(a), "paragraphs": list(articles[a].values())}
                                        for a in sorted(articles)]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False)
    if path.suffix == ".xz":
        with lzma.open(path, "wt", encoding="utf-8", preset=6) as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
