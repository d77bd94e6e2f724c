"""What a fetched answer holds: a web page's article (trafilatura: main text without navigation,
comments or ads, and its title, date, author and site), a PDF's text page by page (pypdf), or a
feed's entries (feedparser)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from qa.errors import SourceError
from qa.sources.fetch import Fetched

HTML_TYPES = {"text/html", "application/xhtml+xml"}
PDF_TYPES = {"application/pdf"}
MIN_WORDS = 8  # fewer words than this is a menu or a stub, not an article
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/rdf+xml",
              "application/feed+json"}


def _text(fetched: Fetched) -> str:
    for encoding in (fetched.charset, "utf-8", "latin-1"):
        if not encoding:
            continue
        try:
            return fetched.body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return fetched.body.decode("utf-8", errors="replace")


def page_record(fetched: Fetched) -> dict[str, Any]:
    """The article of a fetched web page or PDF as a corpus record (title, text, url, date, site, author)."""
    if fetched.content_type in PDF_TYPES or fetched.body[:5] == b"%PDF-":
        return pdf_record(fetched)
    if fetched.content_type not in HTML_TYPES:
        raise SourceError(f"{fetched.url}: the answer is {fetched.content_type or 'of no declared type'}, "
                          "not a web page (HTML) or a PDF")
    import trafilatura

    from qa.dates import page_date
    from qa.ingest import searched_date

    html = _text(fetched)
    # the date from the page's markup first: htmldate's search of the text guesses from any year it says
    marked_only = {"original_date": True, "extensive_search": False, "max_date": date.today().isoformat()}
    document = trafilatura.bare_extraction(html, url=fetched.url, with_metadata=True, include_comments=False,
                                           include_tables=False, include_images=False, favor_precision=True,
                                           date_extraction_params=marked_only)
    if document is None or len((document.text or "").split()) < MIN_WORDS:
        raise SourceError(f"{fetched.url}: no article text found on the page")
    text = document.text.strip()
    title = (document.title or "").strip()
    first, _, rest = text.partition("\n")
    if title and first.strip() == title and rest.strip():
        text = rest.strip()  # trafilatura repeats the headline as the first line
    date_found = page_date(document.date, lambda: searched_date(html, fetched.url), text)
    return {"title": title or first[:150], "text": text, "url": fetched.url, "date": date_found,
            "site": document.sitename or urlsplit(fetched.url).hostname, "author": document.author}


def pdf_record(fetched: Fetched) -> dict[str, Any]:
    from qa.ingest import UnreadableFile, read_pdf

    try:
        article = read_pdf(fetched.body, urlsplit(fetched.url).path.rsplit("/", 1)[-1] or "document.pdf")
    except UnreadableFile as exc:
        raise SourceError(f"{fetched.url}: {exc}") from None
    return {"title": article.title, "text": article.text, "url": fetched.url, "date": article.date,
            "site": urlsplit(fetched.url).hostname, "author": article.author, "pages": article.pages}


@dataclass(frozen=True)
class Entry:
    link: str
    title: str
    published: str | None


def feed_entries(fetched: Fetched) -> list[Entry]:
    """The entries of an RSS or Atom feed, in feed order; ``SourceError`` if it is no feed."""
    import feedparser

    parsed = feedparser.parse(fetched.body)
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        raise SourceError(f"{fetched.url}: not an RSS or Atom feed ({parsed.get('bozo_exception', 'no entries')})")
    entries = []
    for e in parsed.entries:
        link = e.get("link")
        if link:
            entries.append(Entry(link, str(e.get("title", "")), e.get("published") or e.get("updated")))
    return entries
