"""Read a folder of articles: ``.txt``, ``.md``, ``.html``/``.htm``, ``.json``, ``.jsonl`` and ``.pdf``.

A file that is not readable text (binary, not UTF-8, empty, malformed JSON) is
skipped with a warning that names it; everything else is still read.

    corpus = read_corpus("seeds")
    corpus.articles[0].title, corpus.skipped
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.dates import date_at_top, normalize_date, page_date
from qa.errors import CorpusError
from qa.schema import Article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
PDF_SUFFIXES = {".pdf"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | PDF_SUFFIXES
MAX_TITLE_CHARS = 150


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Corpus:
    """The articles read from a folder, and the files that had to be skipped."""

    root: Path
    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def corpus_files(root: str | Path) -> list[Path]:
    """Article files under ``root``, recursively, in a stable order; hidden files are ignored."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist: create it and add .txt, .md, "
                          ".html or .json articles, or point --corpus / QA_CORPUS elsewhere")
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def read_corpus(root: str | Path, only: Iterable[str] | None = None) -> Corpus:
    """Read every article file under ``root`` (or just the files ``only`` names, paths relative to it);
    unreadable files land in ``Corpus.skipped``."""
    root = Path(root)
    corpus = Corpus(root=root)
    paths = corpus_files(root) if only is None else [root / rel for rel in sorted(only)]
    for path in paths:
        rel = path.relative_to(root).as_posix()
        problems: list[Skipped] = []
        try:
            corpus.articles.extend(read_file(path, rel, problems))
        except UnreadableFile as exc:
            problems.append(Skipped(rel, str(exc)))
        except OSError as exc:  # removed or made unreadable since the folder was listed
            problems.append(Skipped(rel, f"cannot read it ({exc.strerror or exc})"))
        for problem in problems:
            log.warning("skipping %s: %s", problem.path, problem.reason)
        corpus.skipped.extend(problems)
    seen: set[str] = set()
    for article in corpus.articles:
        if article.id in seen:
            raise CorpusError(f"two articles share the id {article.id!r}: give them distinct ids")
        seen.add(article.id)
    return corpus


class UnreadableFile(Exception):
    """A file that holds no article we can read."""


def read_file(path: Path, rel: str, problems: list[Skipped] | None = None) -> list[Article]:
    """The articles in one file; ``rel`` (its path in the corpus) becomes the article id.

    Bad records of a JSONL file are reported in ``problems`` and the rest is read.
    """
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return [read_pdf(path.read_bytes(), rel)]
    text = decode(path.read_bytes())
    if suffix in HTML_SUFFIXES:
        articles = [_html_article(text, rel)]
    elif suffix == ".jsonl":
        articles = list(_jsonl_articles(text, rel, problems if problems is not None else []))
    elif suffix == ".json":
        articles = list(_json_articles(text, rel))
    else:
        articles = [_text_article(text, rel, markdown=suffix != ".txt")]
    articles = [a for a in articles if a.text.strip()]
    if not articles:
        raise UnreadableFile("no article text in it")
    return articles


def decode(data: bytes) -> str:
    """UTF-8 text of a file, or ``UnreadableFile`` for empty, binary or mis-encoded bytes."""
    if not data.strip():
        raise UnreadableFile("empty file")
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    # Offsets index this exact string, so line endings are normalised once, here.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def make_article(id: str, title: str, text: str, source: str, **meta: Any) -> Article:
    """An article; ``meta``: url, date (normalised to YYYY-MM-DD when it can be read), site, author, pages."""
    url, raw_date = _field(meta.get("url")), _field(meta.get("date"))
    date = normalize_date(raw_date) or raw_date
    site, author, pages = _field(meta.get("site")), _field(meta.get("author")), meta.get("pages") or None
    updated = normalize_date(_field(meta.get("updated"))) or _field(meta.get("updated"))
    extra = [str(site or ""), str(author or ""), json.dumps(pages)] if site or author or pages else []
    return Article(
        id=id, title=title, text=text, source=source, url=url, date=date,
        digest=digest(title, text, str(url or ""), str(date or ""), *extra, *([updated] if updated else [])),
        site=site, author=author, pages=list(pages) if pages else None, updated=updated,
    )


def _field(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return text or None


def title_from_name(rel: str) -> str:
    stem = Path(rel).stem
    return re.sub(r"[_-]+", " ", stem).strip() or stem


def _text_article(text: str, rel: str, markdown: bool) -> Article:
    """Plain text or Markdown: the title is a Markdown heading, or a short first line, or the file name."""
    lines = text.lstrip().split("\n", 1)
    first = lines[0].strip()
    heading = re.match(r"#+\s+(.*)", first) if markdown else None
    if heading:
        title = heading.group(1).strip()
    elif len(lines) > 1 and lines[1].strip() and _looks_like_title(first):
        title = first
    else:
        title = _fallback_title(first, rel)
    return make_article(rel, title, text, rel, date=date_at_top(text))


def _fallback_title(first_line: str, rel: str) -> str:
    """A file name that reads as words ("bridge-reopens.txt"), else the start of the first line."""
    name = title_from_name(rel)
    if len(re.findall(r"[A-Za-z]{3,}", name)) >= 2 or not first_line:
        return name
    if len(first_line) <= MAX_TITLE_CHARS // 2:
        return first_line
    return first_line[: MAX_TITLE_CHARS // 2].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _looks_like_title(line: str) -> bool:
    return 0 < len(line) <= MAX_TITLE_CHARS and not line.endswith((".", "!", "?", ":", ";", ","))


BLOCKS = ["p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "figcaption"]


def _html_article(html: str, rel: str) -> Article:
    """Visible article text of an HTML page, one block (paragraph, heading, item) per line."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with(" ")
    title = ""
    if soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    body = soup.find("article") or soup.body or soup
    h1 = body.find("h1")
    if not title and h1:
        title = h1.get_text(" ", strip=True)
    blocks = []
    for el in body.find_all(BLOCKS):
        if el.find(BLOCKS):  # a container: its inner blocks are read on their own
            continue
        line = " ".join(el.get_text().split())  # inline tags join without spaces: "<b>8</b>pm"
        if line:
            blocks.append(line)
    if not blocks:
        blocks = [" ".join(body.get_text(" ").split())]
    text = "\n".join(blocks)
    meta = html_metadata(html, text=text)
    return make_article(rel, title or title_from_name(rel), text, rel, **meta)


def html_metadata(html: str, url: str | None = None, text: str = "") -> dict[str, Any]:
    """Date, site name, author and canonical URL of a web page (meta tags, JSON-LD), by trafilatura; the
    date as ``qa.dates.page_date`` trusts it (``text``: the page's article text)."""
    from trafilatura import extract_metadata

    try:
        found = extract_metadata(html, default_url=url, extensive=False)
        if found is None:
            return {}
        date = page_date(found.date, lambda: searched_date(html, url), text)
    except Exception:  # noqa: BLE001 - a page trafilatura can't parse has no metadata we can trust
        return {}
    return {k: v for k, v in (("date", date), ("site", found.sitename), ("author", found.author),
                              ("url", found.url)) if v}


def searched_date(html: str, url: str | None = None) -> str | None:
    """The date htmldate's extensive search finds anywhere in a web page (trafilatura's full metadata
    pass), or None: the last resort of ``qa.dates.page_date``, for pages added by URL and files alike."""
    from trafilatura import extract_metadata

    found = extract_metadata(html, default_url=url)
    return found.date if found is not None else None


def read_pdf(data: bytes, rel: str) -> Article:
    """A PDF's text layer, page by page (``Article.pages`` says where each begins)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").replace("\r\n", "\n").replace("\r", "\n").strip()
                 for page in reader.pages]
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    if not any(pages):
        raise UnreadableFile("PDF without a text layer (a scan?): run OCR on it to index it")
    text, starts = "", []
    for page in pages:
        if text:
            text += "\n\n"
        starts.append(len(text))
        text += page
    title = str(info.get("/Title") or "").strip()
    if not title:
        first = text.strip().split("\n", 1)[0].strip()
        title = first if _looks_like_title(first) else title_from_name(rel)
    date = str(info.get("/CreationDate") or "")
    created = f"{date[2:6]}-{date[6:8]}-{date[8:10]}" if date.startswith("D:") and len(date) >= 10 else None
    date = date_at_top(text) or created  # a date printed at the top of the first page is the article's
    return make_article(rel, title, text, rel, date=date, author=info.get("/Author"), pages=starts)


def _record_article(record: Any, rel: str, key: str) -> Article:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise UnreadableFile(f"record {key} has no \"text\" string")
    text = record["text"].replace("\r\n", "\n").replace("\r", "\n")
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        first = text.strip().split("\n", 1)[0].strip()
        title = first if _looks_like_title(first) else f"{title_from_name(rel)} {key}"
    article_id = f"{rel}#{record['id']}" if record.get("id") is not None else f"{rel}#{key}"
    return make_article(article_id, title.strip(), text, rel, url=record.get("url"), date=record.get("date"),
                        site=record.get("site") or record.get("sitename"), author=record.get("author"),
                        pages=_pages(record.get("pages"), len(text)), updated=record.get("updated"))


def _pages(value: Any, length: int) -> list[int] | None:
    """A record's page starts, if they are a valid increasing list of offsets into its text."""
    if not isinstance(value, list) or not value or not all(isinstance(v, int) for v in value):
        return None
    if value[0] != 0 or any(b <= a for a, b in zip(value, value[1:])) or value[-1] >= max(length, 1):
        return None
    return value


def _json_articles(text: str, rel: str) -> Iterator[Article]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        yield _record_article(data, rel, "0")
        return
    if not isinstance(data, list):
        raise UnreadableFile("JSON is neither an article record nor a list of them")
    for i, record in enumerate(data):
        yield _record_article(record, rel, str(i))


def _jsonl_articles(text: str, rel: str, problems: list[Skipped]) -> Iterator[Article]:
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield _record_article(json.loads(line), rel, str(lineno))
        except json.JSONDecodeError as exc:
            problems.append(Skipped(f"{rel} line {lineno}", f"invalid JSON ({exc.msg})"))
        except UnreadableFile as exc:
            problems.append(Skipped(f"{rel} line {lineno}", str(exc)))
