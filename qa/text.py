"""English words as the lexical stages compare them: one Snowball stemmer for BM25 (``qa.index.lexical``),
answer verification (``qa.verification``) and the reader's training negatives, so "opened" and "opens"
meet as "open" everywhere.

    stemmer().stemWords(["opened", "bridges"])   # ['open', 'bridg']
"""

from __future__ import annotations

import re
from collections.abc import Container
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), made once per process."""
    import Stemmer

    return Stemmer.Stemmer("english")


# words and punctuation marks, as the name scanner and the follow-up stage step through text
TOKEN = re.compile(r"[\w'’-]+|[^\w\s]")
POSSESSIVE = re.compile(r"['’]s?$")  # the ending a name loses: "Macron's" is "Macron"


def name_end(tokens: list[str], i: int, *, joins: Container[str], not_first: Container[str] = (),
             not_inside: Container[str] = ()) -> int:
    """The end (exclusive token index) of the proper-noun run starting at ``tokens[i]``, or ``i`` when none
    starts there: the one scanner of names for answer verification and follow-up questions.

    A run starts at a capitalised word not in ``not_first`` (lower-cased) and goes on over capitalised
    words not in ``not_inside``, initials ("Frederick G. Kilgour") and a word of ``joins`` followed by a
    capitalised word ("University of Notre Dame", "Islamic State in Khorasan").
    """
    word = tokens[i]
    if not word[:1].isupper() or word.lower() in not_first:
        return i
    j = i + 1
    while j < len(tokens):
        w = tokens[j]
        if w[:1].isupper() and w.lower() not in not_inside:
            j += 1
            if len(w) == 1 and j + 1 < len(tokens) and tokens[j] == "." and tokens[j + 1][:1].isupper():
                j += 1  # an initial
        elif w.lower() in joins and j + 1 < len(tokens) and tokens[j + 1][:1].isupper():
            j += 2
        else:
            break
    return j
