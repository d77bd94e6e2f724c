"""Removing articles from the corpus without losing them: ``qa remove`` moves an article's file into
the corpus's hidden ``.trash/`` folder (the corpus reader skips hidden folders, so the next index
update writes its tombstone), and ``qa restore`` moves it back.

    removed = remove(corpus, ["web/example-org/story-1a2b3c4d5e.json"], who="alice")
    restore(corpus, [removed[0].item], who="alice")

An id is an article id or a corpus file. A file holding several articles (a JSONL feed dump) is
removed whole, by its file name: naming one of its articles says which file to name instead.
Each removal is kept in ``.trash/<when>-<random id>/<file>`` with a line in ``.trash/trash.json`` (who,
when, which articles, which URLs). URLs of removed articles are remembered by the sources' ledger,
so a feed that still lists them does not bring them back; adding such a URL by hand does.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import SourceError
from qa.files import fsync_path, write_atomic
from qa.sources.result import ItemResult
from qa.sources.store import Ledger, canonical, ledger_lock, text_digest

log = logging.getLogger(__name__)
TRASH = ".trash"
MANIFEST = "trash.json"


@dataclass(frozen=True)
class TrashResult(ItemResult):
    """What became of one id given to ``remove`` or ``restore`` (``status``: removed, restored, failed;
    ``file``: the corpus file, relative to the corpus folder)."""

    articles: list[str] = field(default_factory=list)  # the article ids it held
    title: str | None = None
    error: str | None = None


def _manifest(corpus: Path) -> list[dict[str, Any]]:
    try:
        entries = json.loads((corpus / TRASH / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise SourceError(f"the trash list {corpus / TRASH / MANIFEST} is unreadable ({exc}): "
                          "the removed files are still in that folder") from None
    return entries if isinstance(entries, list) else []


def _save(corpus: Path, entries: list[dict[str, Any]]) -> None:
    (corpus / TRASH).mkdir(parents=True, exist_ok=True)
    write_atomic(corpus / TRASH / MANIFEST, json.dumps(entries, indent=1, ensure_ascii=False) + "\n")


def trashed(corpus: str | Path) -> list[dict[str, Any]]:
    """What is in the trash, most recently removed first: file, articles, titles, when, who."""
    return list(reversed(_manifest(Path(corpus))))


def _articles_in(corpus: Path, rel: str) -> list[Any]:
    from qa.ingest import UnreadableFile, read_file

    try:
        return read_file(corpus / rel, rel)
    except (UnreadableFile, OSError):
        return []


def _file_of(corpus: Path, item: str) -> tuple[str, list[Any]]:
    """The corpus file an id names and the articles in it; ``SourceError`` if none, or if the id is one
    article of several in its file."""
    item = item.strip()
    root = corpus.resolve()
    candidates = [item, item.split("#", 1)[0]]
    for rel in candidates:
        path = (corpus / rel).resolve()
        if rel and path.is_file() and path.is_relative_to(root) and \
                not any(p.startswith(".") for p in path.relative_to(root).parts):
            rel = path.relative_to(root).as_posix()
            articles = _articles_in(corpus, rel)
            if item != rel and len(articles) > 1:
                if not any(a.id == item for a in articles):
                    break
                raise SourceError(f"{item} is one of {len(articles)} articles in {rel}: remove the file "
                                  f"({rel}) to remove them all")
            return rel, articles
    raise SourceError(f"no article or file {item!r} in the corpus (`qa remove` takes the ids `/api/articles` "
                      "and the page list)")


@contextmanager
def _editing(corpus: Path) -> Iterator[tuple[list[dict[str, Any]], Ledger]]:
    """The trash list and the sources' ledger, as the one writer of both; the ledger is saved at the end
    (the list after each move, by the caller)."""
    with ledger_lock(corpus):
        entries = _manifest(corpus)
        ledger = Ledger(corpus)
        yield entries, ledger
        ledger.save()


def remove(corpus: str | Path, ids: list[str], who: str) -> list[TrashResult]:
    """Move the files of ``ids`` into the trash; one result per id (a failure never stops the others)."""
    corpus = Path(corpus)
    results = []
    with _editing(corpus) as (entries, ledger):
        for item in ids:
            try:
                rel, articles = _file_of(corpus, item)
            except SourceError as exc:
                results.append(TrashResult(item, "failed", error=str(exc)))
                continue
            # a folder of its own, whatever is already in the trash (a count of the entries could name
            # one again after a restore, and a second removal of the same file would overwrite the first)
            slot = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
            target = corpus / TRASH / slot / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(corpus / rel, target)
            fsync_path(target.parent)
            urls = sorted(u for u, f in ledger.urls.items() if f == rel)
            for url in urls:
                ledger.removed[url] = rel
                del ledger.urls[url]
            ledger.texts = {d: f for d, f in ledger.texts.items() if f != rel}
            entries.append({"slot": slot, "file": rel, "articles": [a.id for a in articles],
                            "titles": [a.title for a in articles], "urls": urls, "who": who,
                            "removed": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            _save(corpus, entries)  # after each move: the list never misses a file that is in the trash
            results.append(TrashResult(item, "removed", rel, [a.id for a in articles],
                                       articles[0].title if articles else None))
    return results


def restore(corpus: str | Path, ids: list[str], who: str) -> list[TrashResult]:
    """Move the most recently removed file of each id (an article id or a file) back into the corpus."""
    corpus = Path(corpus)
    results = []
    with _editing(corpus) as (entries, ledger):
        for item in ids:
            item = item.strip()
            found = next((e for e in reversed(entries) if item == e["file"] or item in e.get("articles", [])), None)
            if found is None:
                results.append(TrashResult(item, "failed", error=f"{item!r} is not in the trash (`qa restore --list` "
                                                                  "shows what is)"))
                continue
            rel, source = found["file"], corpus / TRASH / found["slot"] / found["file"]
            if (corpus / rel).exists():
                results.append(TrashResult(item, "failed", rel, error=f"{rel} is in the corpus again (added since "
                                           "it was removed): remove that one first to bring the old one back"))
                continue
            if not source.is_file():
                results.append(TrashResult(item, "failed", rel, error=f"the trash no longer holds {source}"))
                continue
            (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, corpus / rel)
            fsync_path((corpus / rel).parent)
            entries.remove(found)
            _save(corpus, entries)
            for url in found.get("urls", []):
                ledger.urls[canonical(url)] = rel
                ledger.removed.pop(canonical(url), None)
            for article in _articles_in(corpus, rel):
                ledger.texts.setdefault(text_digest(article.text), rel)
            _prune(source.parent, corpus / TRASH)
            results.append(TrashResult(item, "restored", rel, found.get("articles", []),
                                       (found.get("titles") or [None])[0]))
    return results


def _prune(folder: Path, top: Path) -> None:
    """Remove the empty folders a restore leaves in the trash."""
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
