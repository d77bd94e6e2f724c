"""qa add: pages, feeds and PDFs from a local web server started here, with pages the tests write
themselves; uploads; and what must fail, failing cleanly."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa.ingest import read_corpus
from qa.sources import add_feed, add_urls, save_upload
from qa.sources.fetch import fetch
from qa.sources.store import upload_path

BRIDGE = (Path(__file__).resolve().parent.parent / "eval" / "pages" / "bridge.html").read_text(encoding="utf-8")

FERRY = """<html><head><title>Ferry rescue off Bergen</title><meta name="date" content="2024-03-20">
<meta property="og:site_name" content="Nordic Wire"></head><body><article><h1>Ferry rescue off Bergen</h1>
<p>All 212 passengers of the ferry Nordlys were rescued by the coast guard near Bergen yesterday evening.</p>
<p>The captain, Ingrid Solberg, said the engine room flooded after the hull struck a rock.</p>
</article></body></html>"""


def feed(base: str, links: list[str]) -> str:
    items = "".join(f"<item><title>Item {n}</title><link>{base}{link}</link>"
                    f"<pubDate>Wed, 2{n} Mar 2024 10:00:00 GMT</pubDate></item>" for n, link in enumerate(links))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>{base}/</link>'
            f"<description>news</description>{items}</channel></rss>")


def make_pdf(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
        else:
            pdf.rect(20, 20, 100, 100)  # a page with a drawing and no text: a scan, as far as text goes
    return bytes(pdf.output())


class Site:
    """A web server on 127.0.0.1 serving ``routes``: path -> (status, content type, body, headers).
    A subclass answers differently by overriding ``answer`` (``tests.test_feeds``: conditional GETs)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                site.requests.append(self.path)
                status, kind, body, headers = site.answer(self.path, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, request: Message) -> tuple[int, str, bytes, dict[str, str]]:
        """Status, content type, body and headers for a GET of ``path`` with the ``request`` headers."""
        if path == "/slow":
            time.sleep(3)
        return self.routes.get(path, (404, "text/plain", b"not found", {}))

    def page(self, path: str, body: str | bytes, kind: str = "text/html; charset=utf-8", status: int = 200,
             **headers: str) -> str:
        self.routes[path] = (status, kind, body.encode() if isinstance(body, str) else body, headers)
        return self.base + path


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.server.shutdown()


def test_a_page_becomes_an_article_without_its_boilerplate(site: Site, corpus: Path) -> None:
    url = site.page("/news/bridge.html", BRIDGE)
    [result] = add_urls([url], corpus, allow_private=True)
    assert result.status == "added" and result.file.startswith("web/") and result.file.endswith(".json")
    record = json.loads((corpus / result.file).read_text(encoding="utf-8"))
    assert record["title"] == "Lyon opens its new bridge"
    assert record["date"] == "2024-03-26" and record["site"] == "Daily Rhône" and record["author"] == "Claire Martin"
    assert record["url"] == url
    assert "Pont Schuman on Monday" in record["text"] and "120 metres" in record["text"]
    for boilerplate in ("Subscribe", "WATCHES", "troll42", "Copyright", "Cookie"):
        assert boilerplate not in record["text"]
    [article] = read_corpus(corpus).articles  # the stored file is an ordinary corpus article
    assert (article.date, article.site, article.url) == ("2024-03-26", "Daily Rhône", url)


def test_re_adding_updates_and_a_copy_elsewhere_is_recognised(site: Site, corpus: Path) -> None:
    url = site.page("/news/bridge.html", BRIDGE)
    first = add_urls([url], corpus, allow_private=True)[0]
    assert add_urls([url + "#comments"], corpus, allow_private=True)[0].status == "unchanged"
    site.page("/news/bridge.html", BRIDGE.replace("40 million", "45 million"))
    again = add_urls([url], corpus, allow_private=True)[0]
    assert again.status == "updated" and again.file == first.file
    assert "45 million" in (corpus / first.file).read_text(encoding="utf-8")
    mirror = site.page("/mirror/bridge", BRIDGE.replace("40 million", "45 million"))
    copy = add_urls([mirror], corpus, allow_private=True)[0]
    assert copy.status == "duplicate" and copy.file == first.file
    assert len(read_corpus(corpus).articles) == 1


def test_redirects_are_followed(site: Site, corpus: Path) -> None:
    target = site.page("/news/ferry.html", FERRY)
    moved = site.page("/old/ferry", "", status=301, Location="/news/ferry.html")
    [result] = add_urls([moved], corpus, allow_private=True)
    assert result.status == "added"
    assert json.loads((corpus / result.file).read_text(encoding="utf-8"))["url"] == target


def test_bad_urls_fail_cleanly_and_never_stop_the_others(site: Site, corpus: Path) -> None:
    good = site.page("/news/ferry.html", FERRY)
    image = site.page("/photo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), kind="image/png")
    empty = site.page("/empty.html", "<html><body><nav>Home</nav></body></html>")
    missing = site.base + "/gone.html"
    results = {r.item: r for r in add_urls(
        ["ftp://example.org/a.txt", "file:///etc/passwd", "not a url", image, missing, empty, good],
        corpus, allow_private=True)}
    assert results[good].status == "added"
    errors = {k: r.error for k, r in results.items() if k != good}
    assert all(r.status == "failed" for k, r in results.items() if k != good)
    assert "only http:// and https://" in errors["ftp://example.org/a.txt"]
    assert "only http:// and https://" in errors["file:///etc/passwd"]
    assert "image/png" in errors[image] and "not a web page" in errors[image]
    assert "HTTP 404" in errors[missing]
    assert "no article text" in errors[empty]


def test_private_addresses_are_refused_unless_allowed(site: Site, corpus: Path) -> None:
    url = site.page("/news/ferry.html", FERRY)
    for private in (url, "http://localhost:9/x", "http://10.0.0.1/x", "http://[::1]:9/x", "http://169.254.169.254/"):
        [result] = add_urls([private], corpus)
        assert result.status == "failed" and "private network" in result.error and "--allow-private" in result.error
    assert site.requests == []  # refused before any connection


def test_huge_and_slow_answers_fail_within_their_limits(site: Site) -> None:
    from qa.errors import SourceError

    big = site.page("/big.html", "<p>" + "x" * 200_000 + "</p>")
    with pytest.raises(SourceError, match="byte limit"):
        fetch(big, allow_private=True, max_bytes=100_000)
    slow = site.page("/slow", FERRY)
    began = time.perf_counter()
    with pytest.raises(SourceError, match="no answer within"):
        fetch(slow, allow_private=True, timeout=0.5)
    assert time.perf_counter() - began < 2.5


def test_a_feed_adds_only_what_is_new(site: Site, corpus: Path) -> None:
    site.page("/news/bridge.html", BRIDGE)
    site.page("/news/ferry.html", FERRY.replace('<meta name="date" content="2024-03-20">', ""))
    url = site.page("/feed.xml", feed(site.base, ["/news/bridge.html", "/news/ferry.html"]),
                    kind="application/rss+xml")
    first = add_feed(url, corpus, allow_private=True)
    assert [r.status for r in first] == ["added", "added"]
    ferry = json.loads((corpus / first[1].file).read_text(encoding="utf-8"))
    assert ferry["date"] == "2024-03-21"  # the page states none: the feed entry's date
    site.requests.clear()
    site.page("/news/storm.html", FERRY.replace("Ferry rescue", "Storm warning").replace("212", "90"))
    site.page("/feed.xml", feed(site.base, ["/news/bridge.html", "/news/ferry.html", "/news/storm.html"]),
              kind="application/rss+xml")
    second = add_feed(url, corpus, allow_private=True)
    assert [r.status for r in second] == ["known", "known", "added"]
    assert site.requests == ["/feed.xml", "/news/storm.html"]  # known entries are not fetched again
    not_a_feed = site.page("/plain.xml", "<html>nope</html>", kind="text/xml")
    assert add_feed(not_a_feed, corpus, allow_private=True)[0].status == "failed"


def test_pdfs_keep_their_pages_and_scans_are_skipped(
    site: Site, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    report = make_pdf(["Annual report 2024\n25 March 2024", "Revenue rose by 8 percent.",
                       "The board appointed Marta Ruiz as chief executive."])
    [result] = add_urls([site.page("/report.pdf", report, kind="application/pdf")], corpus, allow_private=True)
    assert result.status == "added"
    (corpus / "local.pdf").write_bytes(report)
    (corpus / "scan.pdf").write_bytes(make_pdf(["", ""]))
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    with caplog.at_level(logging.WARNING, logger="qa.ingest"):
        read = read_corpus(corpus)
    by_id = {a.id: a for a in read.articles}
    local = by_id["local.pdf"]
    assert len(local.pages) == 3 and local.date == "2024-03-25"
    offset = local.text.index("Marta Ruiz")
    assert local.page_of(offset) == 3 and local.page_of(local.text.index("Revenue")) == 2
    fetched = next(a for a in read.articles if a.source.startswith("web/"))
    assert fetched.pages == local.pages and fetched.text == local.text
    skipped = {s.path: s.reason for s in read.skipped}
    assert "without a text layer" in skipped["scan.pdf"] and "not a readable PDF" in skipped["broken.pdf"]
    assert "scan.pdf" in caplog.text


def test_uploads_stay_inside_the_corpus_and_are_checked(corpus: Path) -> None:
    for hostile in ("../../etc/passwd.txt", "/etc/cron.d/x.txt", "..\\..\\boot.ini.txt", "a/../../b.md", "\x00.txt"):
        path = upload_path(corpus, hostile)
        assert path.is_relative_to(corpus.resolve() / "uploads"), hostile
    ok = save_upload(corpus, "../../Lyon bridge.txt", b"Lyon bridge\nThe bridge opened on Monday.")
    assert ok.status == "added" and ok.file == "uploads/Lyon-bridge.txt"
    assert save_upload(corpus, "x.exe", b"MZ").error.startswith("x.exe: only")
    assert "binary" in save_upload(corpus, "junk.txt", b"\x00\x01\x02" * 10).error
    assert "invalid JSON" in save_upload(corpus, "bad.json", b"{nope").error
    assert "byte limit" in save_upload(corpus, "big.txt", b"a" * 101, max_bytes=100).error
    assert save_upload(corpus, "report.pdf", make_pdf(["Quarterly figures were published."])).status == "added"
    names = sorted(p.name for p in (corpus / "uploads").iterdir())
    assert names == ["Lyon-bridge.txt", "report.pdf"]  # nothing of the refused ones is left behind


def test_qa_add_reports_each_url_and_fails_when_one_did(site: Site, corpus: Path) -> None:
    from click.testing import CliRunner

    from qa.cli import cli

    good = site.page("/news/bridge.html", BRIDGE)
    feed_url = site.page("/feed.xml", feed(site.base, ["/news/bridge.html"]), kind="application/rss+xml")
    runner = CliRunner()
    done = runner.invoke(cli, ["add", good, "ftp://nowhere/x", "--feed", feed_url, "--corpus", str(corpus),
                               "--allow-private", "--no-index"])
    assert done.exit_code == 1
    assert "added     " + good in done.output and "known     " + good in done.output
    assert "failed    ftp://nowhere/x: only http://" in done.output
    refused = runner.invoke(cli, ["add", good, "--corpus", str(corpus), "--no-index"])
    assert refused.exit_code == 1 and "private network" in refused.output
    assert runner.invoke(cli, ["add", "--corpus", str(corpus)]).exit_code == 2


def test_qa_add_takes_files_on_this_disk_as_uploads(corpus: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qa.cli import cli

    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "lund.txt").write_text("Lund bridge\nKarl Olsen opened the north bridge on Monday.", encoding="utf-8")
    (saved / "report.pdf").write_bytes(make_pdf(["Quarterly figures were published."]))
    where = ["--corpus", str(corpus), "--no-index"]
    done = CliRunner().invoke(cli, ["add", str(saved / "lund.txt"), (saved / "report.pdf").as_uri(), *where])
    assert done.exit_code == 0, done.output
    assert "added     lund.txt -> uploads/lund.txt  (Lund bridge)" in done.output
    assert (corpus / "uploads" / "report.pdf").read_bytes() == (saved / "report.pdf").read_bytes()
    bad = CliRunner().invoke(cli, ["add", str(saved / "gone.txt"), str(saved), "example.org/x", *where])
    assert bad.exit_code == 1
    assert f"failed    {saved / 'gone.txt'}: no such file" in bad.output
    assert f"failed    {saved}: a folder" in bad.output and "failed    example.org/x: no such file" in bad.output
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["lund.txt", "report.pdf"]
