"""``qa add``: URLs and feeds into the corpus folder, and uploads; every item gets its own result, and
one that fails never stops the others."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import SourceError
from qa.sources.extract import feed_entries, page_record
from qa.sources.fetch import MAX_BYTES, Fetched, fetch
from qa.sources.result import ItemResult
from qa.sources.store import Ledger, canonical, store_record, upload_path

MAX_UPLOAD_BYTES = MAX_BYTES  # an uploaded file is held to the limit on a fetched one


@dataclass(frozen=True)
class AddResult(ItemResult):
    """What became of one URL, feed entry or upload (``item``: the URL, or the uploaded file's name).

    ``status``: added, updated, unchanged, duplicate, known (a feed entry added before), removed (a feed
    entry whose article a user removed), failed; ``file``: where it is, relative to the corpus folder.
    """

    title: str | None = None
    error: str | None = None


Fetcher = Callable[..., Fetched]


def add_urls(urls: Iterable[str], corpus: str | Path, allow_private: bool = False,
             fetcher: Fetcher = fetch, dates: dict[str, str] | None = None) -> list[AddResult]:
    """Fetch each web page (or PDF) and store its article in ``corpus``. ``dates``: a date per URL to
    use when the page states none (a feed entry's)."""
    corpus = Path(corpus)
    results = []
    for url in urls:
        try:
            fetched = fetcher(url, allow_private=allow_private)
            record = page_record(fetched)
            if not record.get("date") and dates and dates.get(url):
                record["date"] = dates[url]
            status, rel = store_record(corpus, record, [url, fetched.url])
            results.append(AddResult(url, status, rel, record.get("title")))
        except SourceError as exc:
            results.append(AddResult(url, "failed", error=str(exc)))
    return results


def add_feed_entries(feed: Fetched, corpus: str | Path, allow_private: bool = False,
                     fetcher: Fetcher = fetch) -> list[AddResult]:
    """Add the articles of a fetched feed that are new to the corpus: entries added before are "known"
    and entries whose article a user removed are "removed" (``qa.sources.trash``), neither fetched
    again. ``SourceError`` if ``feed`` is no RSS or Atom feed."""
    corpus = Path(corpus)
    entries = feed_entries(feed)
    ledger = Ledger(corpus)
    results, new, seen = [], [], set()
    for e in entries:
        key = canonical(e.link)
        if key in ledger.removed:
            results.append(AddResult(e.link, "removed", title=e.title))
        elif ledger.file_of(e.link):
            results.append(AddResult(e.link, "known", ledger.file_of(e.link), e.title))
        elif key not in seen:
            seen.add(key)
            new.append(e)
    dates = {e.link: e.published for e in new if e.published}
    return results + add_urls([e.link for e in new], corpus, allow_private, fetcher, dates)


def add_feed(url: str, corpus: str | Path, allow_private: bool = False, fetcher: Fetcher = fetch) -> list[AddResult]:
    """Add the articles of an RSS/Atom feed that are not in the corpus yet (run again: only new ones)."""
    try:
        return add_feed_entries(fetcher(url, allow_private=allow_private), corpus, allow_private, fetcher)
    except SourceError as exc:
        return [AddResult(url, "failed", error=str(exc))]


def save_upload(corpus: str | Path, name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> AddResult:
    """Store an uploaded file under ``uploads/`` in the corpus, once it is known to hold an article."""
    from qa.ingest import UnreadableFile, read_file

    corpus = Path(corpus)
    try:
        path = upload_path(corpus, name)
        if len(data) > max_bytes:
            raise SourceError(f"{name}: {len(data):,} bytes is over the {max_bytes:,}-byte limit for one file")
        rel = path.relative_to(corpus.resolve()).as_posix()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=path.suffix, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            try:
                articles = read_file(Path(tmp), rel)
            except UnreadableFile as exc:
                raise SourceError(f"{name}: {exc}") from None
            status = "updated" if path.exists() else "added"
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except SourceError as exc:
        return AddResult(str(name), "failed", error=str(exc))
    return AddResult(str(name), status, rel, articles[0].title)


def local_files(items: Iterable[str], max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[list[tuple[str, bytes]], list[str],
                                                                                  list[AddResult]]:
    """``qa add``'s arguments sorted: files on this disk (a path, or a ``file://`` URL) as uploads (name,
    bytes), what is left as URLs to fetch, and a failed result for each argument that names no readable
    file (none there, a folder, a file over ``max_bytes``) and is no URL (no scheme)."""
    from urllib.parse import unquote, urlsplit

    uploads: list[tuple[str, bytes]] = []
    urls: list[str] = []
    failed: list[AddResult] = []
    for item in items:
        parts = urlsplit(item)
        if parts.scheme.lower() == "file":
            path = Path(unquote(parts.path))
        elif not parts.scheme or len(parts.scheme) == 1:  # a bare path, or a Windows drive letter
            path = Path(item).expanduser()
            if not path.exists():
                failed.append(AddResult(item, "failed", error=f"{item}: no such file (and no http:// or https:// "
                                                              "URL to fetch)"))
                continue
        else:
            urls.append(item)
            continue
        try:
            if path.is_dir():
                raise SourceError(f"{item}: a folder; add its files one by one, or copy them into the corpus "
                                  "folder")
            size = path.stat().st_size
            if size > max_bytes:
                raise SourceError(f"{item}: {size:,} bytes is over the {max_bytes:,}-byte limit for one file")
            uploads.append((path.name, path.read_bytes()))
        except OSError as exc:
            failed.append(AddResult(item, "failed", error=f"{item}: {exc.strerror or exc}"))
        except SourceError as exc:
            failed.append(AddResult(item, "failed", error=str(exc)))
    return uploads, urls, failed


__all__ = ["MAX_BYTES", "AddResult", "add_feed", "add_feed_entries", "add_urls", "local_files", "save_upload"]
