"""Answerable training questions in other words: one common word of the question replaced by a near word
the paragraph never uses ("Who suggested sending NATO troops?" -> "Who floated sending NATO troops?").

SQuAD's questions mostly reuse their paragraph's words, and the unanswerable pairs of
``qa.training.negatives`` teach the reader that a question whose words the paragraph lacks has no answer:
a reader so trained abstains on paraphrase ("Who floated sending NATO troops?" over "... by suggesting that
NATO troops could be deployed": no-answer 0.68, against 0.002 for "suggested"). These pairs keep their
answers, so a common word said otherwise is no reason to abstain, while a swapped name, number or year
(``swap``), an opposite (``antonym``) or an added "not" still is: only lower-case words are replaced, never
by a word of the antonym table, a name or a number.

Near words are the nearest whole-word tokens of the reader's own (frozen) word embeddings: inflections and
close synonyms ("claimed" -> "asserted", "alleged"; "warn" -> "alerted", "advised").

    neighbours = word_neighbours(tokenizer, embeddings)
    paraphrase_positives(examples, 0.3, random.Random(7), neighbours)
"""

from __future__ import annotations

import random
import re
from typing import Any

from qa.text import contains_phrase
from qa.training.negatives import ANTONYMS, Example

# whole lower-case words only (not the tail of "Notre"): names, numbers and dates are what swap negatives change
_WORD = re.compile(r"(?<![^\W\d_])[a-z]{4,}(?![^\W\d_])")  # [^\W\d_]: any letter
# words too common or too structural to say otherwise: question words, auxiliaries, pronouns, quantifiers
_KEEP = frozenset({
    "what", "which", "when", "where", "whose", "whom", "does", "have", "were", "been", "being", "they", "them",
    "their", "there", "these", "those", "this", "that", "with", "from", "into", "onto", "upon", "about", "than",
    "then", "also", "only", "some", "many", "much", "more", "most", "other", "another", "each", "every", "such",
    "very", "what's", "name", "named", "called", "year", "years", "time", "times", "first", "last",
})


def word_neighbours(tokenizer: Any, embeddings: Any, count: int = 5,
                    min_similarity: float = 0.45) -> dict[str, list[str]]:
    """For each lower-case whole-word token of ``tokenizer``'s vocabulary, up to ``count`` other such tokens
    nearest by cosine of ``embeddings`` (the model's input word embeddings, rows by token id), at least
    ``min_similarity`` close. Antonym-table words are neither replaced nor replacements."""
    import numpy as np

    vectors = np.asarray(embeddings, dtype=np.float32)
    vocab = tokenizer.convert_ids_to_tokens(list(range(vectors.shape[0])))
    ids = np.array([i for i, t in enumerate(vocab) if _WORD.fullmatch(t) and t not in ANTONYMS and t not in _KEEP])
    unit = vectors[ids] / np.maximum(np.linalg.norm(vectors[ids], axis=1, keepdims=True), 1e-6)
    neighbours: dict[str, list[str]] = {}
    for first in range(0, len(ids), 2048):
        block = unit[first:first + 2048] @ unit.T
        for row, similarities in enumerate(block):
            similarities[first + row] = -1.0
            best = np.argpartition(-similarities, count)[:count]
            best = best[np.argsort(-similarities[best])]
            near = [vocab[ids[j]] for j in best if similarities[j] >= min_similarity]
            if near:
                neighbours[vocab[ids[first + row]]] = near
    return neighbours


def paraphrase(question: str, context: str, answers: list[dict[str, Any]], neighbours: dict[str, list[str]],
               rng: random.Random) -> str | None:
    """``question`` with one of its lower-case words that ``context`` uses replaced by a near word ``context``
    never uses; None when no word can be. Words of the answers are left alone."""
    answer_words = {w.lower() for a in answers for w in re.findall(r"[A-Za-z]+", a["text"])}
    choices = []
    for m in _WORD.finditer(question):
        word = m.group()
        if word in answer_words or word not in neighbours or not contains_phrase(context, word):
            continue
        others = [n for n in neighbours[word] if not contains_phrase(context, n) and n not in answer_words]
        if others:
            choices.append((m, others))
    if not choices:
        return None
    m, others = rng.choice(choices)
    return question[: m.start()] + rng.choice(others) + question[m.end():]


def paraphrase_positives(examples: list[Example], ratio: float, rng: random.Random,
                         neighbours: dict[str, list[str]]) -> list[Example]:
    """For a share ``ratio`` of the answerable questions, a copy asked in other words (``paraphrase``), with
    the same paragraph and answers and ``kind`` "paraphrase"."""
    made = []
    for ex in examples:
        if not ex["answers"] or rng.random() >= ratio:
            continue
        question = paraphrase(ex["question"], ex["context"], ex["answers"], neighbours, rng)
        if question is not None:
            made.append({**ex, "id": f"{ex['id']}-paraphrase", "question": question, "kind": "paraphrase"})
    return made


__all__ = ["paraphrase", "paraphrase_positives", "word_neighbours"]
