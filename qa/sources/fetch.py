"""Fetching a URL the careful way: http(s) only, redirects followed one hop at a time (each hop
checked), a timeout, a size limit read as the body streams in, and no addresses on private networks
(loopback, RFC 1918, link-local, ...) unless asked for (``allow_private``; the tests' server is local).
Extra request ``headers`` make a conditional GET (``If-None-Match``, ``If-Modified-Since``): a 304
answer comes back as ``Fetched(status=304, body=b"")``, not as an error.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from qa.errors import SourceError

TIMEOUT_SECONDS = 20.0
MAX_BYTES = 20 * 2**20
MAX_REDIRECTS = 5
USER_AGENT = "qa-news/0.1 (question answering over news articles)"


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # lower case, without parameters: "text/html"
    body: bytes
    charset: str | None = None
    status: int = 200  # 304: not modified since the validators sent; the body is empty
    etag: str | None = None  # the answer's validators, for the next conditional GET
    last_modified: str | None = None


def check_url(url: str, allow_private: bool = False) -> None:
    """``SourceError`` unless ``url`` is http(s) with a host that is public (or ``allow_private``)."""
    if not isinstance(url, str) or not url.strip():
        raise SourceError("a URL is needed, such as https://example.org/news/story")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"}:
        raise SourceError(f"{url}: only http:// and https:// URLs can be added, not {parts.scheme or 'a bare path'}")
    if not parts.hostname:
        raise SourceError(f"{url}: the URL names no host")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise SourceError(f"{url}: cannot resolve {parts.hostname} ({exc.strerror})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise SourceError(f"{url}: {parts.hostname} is on a private network ({address}); "
                              "pass --allow-private to fetch from it")


def fetch(url: str, allow_private: bool = False, timeout: float = TIMEOUT_SECONDS,
          max_bytes: int = MAX_BYTES, headers: dict[str, str] | None = None) -> Fetched:
    """GET ``url``: the final URL, content type and body; ``SourceError`` says what went wrong.

        fetch(feed, headers={"If-None-Match": etag})   # status 304 and no body when unchanged
    """
    import httpx

    current = url.strip() if isinstance(url, str) else url
    sent = {**(headers or {}), "User-Agent": USER_AGENT}
    with httpx.Client(timeout=timeout, follow_redirects=False, headers=sent) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current, allow_private)
            try:
                with client.stream("GET", current) as response:
                    etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
                    if response.status_code == 304:
                        return Fetched(str(response.url), "", b"", status=304, etag=etag, last_modified=modified)
                    if response.has_redirect_location:
                        current = urljoin(current, response.headers["location"])
                        continue
                    if not response.is_success:  # a 3xx without a Location too
                        raise SourceError(f"{url}: the server answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise SourceError(f"{url}: {int(declared):,} bytes is over the {max_bytes:,}-byte limit")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise SourceError(f"{url}: the answer is over the {max_bytes:,}-byte limit")
                    kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                    return Fetched(str(response.url), kind, bytes(body), response.charset_encoding,
                                   response.status_code, etag, modified)
            except httpx.TimeoutException:
                raise SourceError(f"{url}: no answer within {timeout:.0f} s") from None
            except httpx.HTTPError as exc:
                raise SourceError(f"{url}: {type(exc).__name__}: {exc}") from None
    raise SourceError(f"{url}: more than {MAX_REDIRECTS} redirects")
