"""Articles from outside, written into the corpus folder as plain JSON files, one per article.

A page is filed under ``web/<host>/<slug>-<hash of its URL>.json``, so adding the same URL again
rewrites the same file (an update, or nothing when the text is unchanged). A ledger,
``.qa-sources.json`` (hidden, so the corpus reader ignores it), maps each URL to its file and each
text digest to the file that holds it: the same text under another URL is recognised and not
stored twice. Every write goes through a temporary file and a rename.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qa.dates import normalize_date
from qa.errors import SourceError
from qa.files import write_atomic
from qa.ingest import digest

LEDGER = ".qa-sources.json"
UPLOADS = "uploads"
UPLOAD_SUFFIXES = {".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".pdf"}
_lock = threading.Lock()  # one writer of a ledger per process (the CLI, the UI and the API share it)
LOCK = ".qa-sources.lock"


@contextmanager
def ledger_lock(corpus: Path) -> Iterator[None]:
    """Be the one writer of the corpus's sources (ledger, trash): a thread lock, then a file lock
    (another process: ``qa remove`` while ``qa serve`` adds)."""
    from filelock import FileLock

    with _lock:
        corpus.mkdir(parents=True, exist_ok=True)
        with FileLock(corpus / LOCK, timeout=120):
            yield


def canonical(url: str) -> str:
    """``url`` without its fragment, with the scheme and host in lower case."""
    p = urlsplit(url.strip())
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), p.path or "/", p.query, ""))


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "article"


def text_digest(text: str) -> str:
    """The digest of a text, blind to how its whitespace is laid out."""
    return digest(" ".join(text.split()))


class Ledger:
    """The corpus folder's record of what came from where."""

    def __init__(self, corpus: Path):
        self.corpus = corpus
        self.path = corpus / LEDGER
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.urls: dict[str, str] = data.get("urls", {})  # canonical URL -> file (relative)
        self.texts: dict[str, str] = data.get("texts", {})  # text digest -> file
        # canonical URL -> the file it was in, of articles removed from the corpus (qa.sources.trash): a
        # feed listing them again does not bring them back; adding the URL by hand does
        self.removed: dict[str, str] = data.get("removed", {})

    def save(self) -> None:
        body = {"urls": self.urls, "texts": self.texts, "removed": self.removed,
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.corpus.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(body, indent=1, ensure_ascii=False) + "\n")

    def file_of(self, url: str) -> str | None:
        rel = self.urls.get(canonical(url))
        return rel if rel and (self.corpus / rel).exists() else None


def store_record(corpus: Path, record: dict[str, Any], urls: list[str]) -> tuple[str, str]:
    """Write ``record`` (title, text, url, ...) fetched from ``urls`` (the URL asked for and the one it
    ended at); (status, file): added, updated, unchanged, or duplicate (the file already holding its text)."""
    record = {**record, "url": canonical(record["url"]),
              "date": normalize_date(record.get("date")) or record.get("date")}
    with ledger_lock(corpus):
        ledger = Ledger(corpus)
        digest = text_digest(record["text"])
        known = next((f for f in (ledger.file_of(u) for u in urls) if f), None)
        holder = ledger.texts.get(digest)
        if holder and holder != known and (corpus / holder).exists():
            for u in urls:
                ledger.urls.setdefault(canonical(u), holder)
            ledger.save()
            return "duplicate", holder
        url = record["url"]
        rel = known or f"web/{_slug(urlsplit(url).hostname or 'site')}/{_slug(record.get('title') or url)}-" \
                       f"{hashlib.sha256(url.encode()).hexdigest()[:10]}.json"
        path = corpus / rel
        body = {k: v for k, v in record.items() if v not in (None, "", [])}
        status = "added"
        if path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = {}
            if {k: v for k, v in old.items() if k not in {"fetched", "updated"}} == body:
                status = "unchanged"
            else:
                status = "updated"
                ledger.texts = {d: f for d, f in ledger.texts.items() if f != rel}
                if old.get("text") != body.get("text"):  # citations say so: "updated <date>"
                    body["updated"] = time.strftime("%Y-%m-%d")
                elif old.get("updated"):
                    body["updated"] = old["updated"]
        if status != "unchanged":
            body["fetched"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(body, indent=1, ensure_ascii=False) + "\n")
        for u in urls:
            ledger.urls[canonical(u)] = rel
            ledger.removed.pop(canonical(u), None)
        ledger.texts[digest] = rel
        ledger.save()
        return status, rel


def upload_path(corpus: Path, name: str) -> Path:
    """Where an uploaded file called ``name`` goes: ``uploads/<safe name>`` inside the corpus folder,
    whatever the name holds (slashes, "..", NUL, a drive letter); ``SourceError`` for a type qa can't read."""
    base = re.split(r"[\\/]", str(name or ""))[-1].replace("\x00", "")
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in UPLOAD_SUFFIXES:
        raise SourceError(f"{base or 'the file'}: only {', '.join(sorted(UPLOAD_SUFFIXES))} files can be added")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:80] or "upload"
    path = (corpus / UPLOADS / f"{safe}{suffix}").resolve()
    if not path.is_relative_to(corpus.resolve()):
        raise SourceError(f"{base}: not a usable file name")
    return path
