"""A news page and a tiny web server on 127.0.0.1 serving it, for the browser checks
(``scripts/check_ui_articles.py``) that add an article by URL.

    site = Site()
    url = site.page("/news/bridge.html", BRIDGE)
    ...
    site.server.shutdown()

``tests/test_sources.py`` keeps its own richer server (request log, redirects, slow answers) and the
same page: scripts do not import tests.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BRIDGE = """<!doctype html><html><head><title>Lyon opens its new bridge - Daily Rhône</title>
<meta property="og:site_name" content="Daily Rhône">
<meta property="article:published_time" content="2024-03-26T08:00:00+01:00">
<meta name="author" content="Claire Martin">
</head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a> Subscribe now!</nav>
<div class="ad">BUY CHEAP WATCHES TODAY</div>
<article><h1>Lyon opens its new bridge</h1>
<p>The mayor of Lyon, Grégory Doucet, opened the new Pont Schuman on Monday after five years of work.</p>
<p>The bridge cost 40 million euros and carries trams, bicycles and pedestrians across the Saône.</p>
<p>Engineers from the firm Arcadis designed the steel arch, which spans 120 metres.</p>
</article>
<section class="comments"><h3>Comments</h3>
<p>Comment by troll42: first!!! This bridge is a waste of money.</p></section>
<footer>Copyright 2024 Daily Rhône. All rights reserved. Cookie settings.</footer>
</body></html>"""


class Site:
    """A web server on 127.0.0.1 serving the pages given to ``page``; anything else is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                status, kind, body = routes.get(self.path, (404, "text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path: str, body: str | bytes, kind: str = "text/html; charset=utf-8", status: int = 200) -> str:
        """Serve ``body`` at ``path``; its full URL."""
        self.routes[path] = (status, kind, body.encode() if isinstance(body, str) else body)
        return self.base + path
