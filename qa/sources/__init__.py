"""Bringing news in from outside: web pages, RSS/Atom feeds, PDFs and uploads, stored as plain article
files in the corpus folder (so the corpus stays a folder anyone can read). One module per job:

- ``fetch``: HTTP(S) with timeouts, a size limit, redirects checked hop by hop, private networks refused
- ``extract``: a fetched page or PDF -> an article record (trafilatura, pypdf); a feed -> its entries
- ``store``: writing records into the corpus folder, by URL (re-adding updates) and by text (a copy
  under another URL is recognised); safe names for uploads
- ``add``: ``qa add URL...`` and ``qa add --feed URL``, each item reported on its own
- ``feeds``: feed subscriptions (``.qa-feeds.json``), polled with conditional GETs on a schedule
  (``qa feeds``, ``qa watch``, the server's ``FeedPoller``)

    from qa.sources import add_urls
    for result in add_urls(["https://example.org/news/1"], corpus="seeds"):
        print(result.item, result.status, result.file or result.error)
"""

from qa.sources.add import AddResult, add_feed, add_urls, save_upload

__all__ = ["AddResult", "add_feed", "add_urls", "save_upload"]
