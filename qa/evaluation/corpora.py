"""The corpora an evaluation answers from when its file brings its own articles: a SQuAD file's
articles, or a conversation file's stories, written once to a cache folder keyed by the file's
content hash, so a second run reuses the index built beside them.

    corpus, index = squad_corpus("dev-v1.1.json", load_questions("dev-v1.1.json"), None)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from qa.evaluation.files import EvalConversation, EvalQuestion
from qa.files import write_atomic
from qa.settings import Settings, cache_home


def cache_dir() -> Path:
    """Where evaluation corpora and indexes are kept: ``eval/`` in ``qa.settings.cache_home()``."""
    return cache_home() / "eval"


def hide_half_articles(questions: list[EvalQuestion]) -> list[EvalQuestion]:
    """The questions of every other article (the 2nd, 4th...), made unanswerable and without context,
    so that their articles stay out of the corpus."""
    titles = list(dict.fromkeys(q.title for q in questions))
    hidden = set(titles[1::2])
    return [replace(q, answers=[], context=None) if q.title in hidden else q for q in questions]


def squad_corpus(path: str | Path, questions: list[EvalQuestion], index: str | Path | None,
                 variant: str = "") -> tuple[Path, Path]:
    """A corpus folder of the file's articles (its paragraphs joined by blank lines), and its index.

    Keyed by the file's content hash, so a second run reuses the built index.
    """
    data = Path(path).read_bytes()
    folder = cache_dir() / (hashlib.sha256(data).hexdigest()[:16] + (f"-{variant}" if variant else ""))
    paragraphs: dict[str, list[str]] = {}
    for q in questions:
        if q.context is not None:
            kept = paragraphs.setdefault(q.title or "untitled", [])
            if q.context not in kept:
                kept.append(q.context)
    records = [
        {"id": title, "title": title.replace("_", " "), "text": "\n\n".join(texts)}
        for title, texts in paragraphs.items()
    ]
    corpus = folder / "corpus"
    write_if_changed(corpus / "articles.json", json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    return corpus, Path(index) if index is not None else folder / "index"


def conversation_corpus(path: str | Path, conversations: Sequence[EvalConversation]) -> tuple[Path, Path]:
    """A corpus folder of the file's stories (one article each, id = its first conversation's id),
    and its index, cached by the file's content hash."""
    folder = cache_dir() / ("conv-" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16])
    records, seen = [], set()
    for c in conversations:
        if c.context is not None and c.article not in seen:
            seen.add(c.article)
            records.append({"id": c.article, "title": c.title or c.article, "text": c.context})
    corpus = folder / "corpus"
    write_if_changed(corpus / "stories.json", json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    return corpus, folder / "index"


def index_beside(corpus: Path) -> Path | None:
    """An index for a corpus named on the command line, kept clear of the main index.

    None (the settings index) when it is the settings corpus itself.
    """
    if corpus.resolve() == Settings.load().corpus.resolve():
        return None
    key = hashlib.sha256(str(corpus.resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / f"corpus-{key}" / "index"


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically, unless ``path`` already holds it."""
    # An unchanged file keeps its mtime, so the index stays valid without a rescan.
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


__all__ = ["cache_dir", "conversation_corpus", "hide_half_articles", "index_beside", "squad_corpus", "write_if_changed"]
