"""English words as the lexical stages compare them: one Snowball stemmer for BM25 (``qa.index.lexical``),
answer verification (``qa.verification``) and the reader's training negatives, so "opened" and "opens"
meet as "open" everywhere.

    stemmer().stemWords(["opened", "bridges"])   # ['open', 'bridg']
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), made once per process."""
    import Stemmer

    return Stemmer.Stemmer("english")
