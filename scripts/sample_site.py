"""A news page and a tiny web server on 127.0.0.1 serving it, for the browser checks
(``scripts/check_ui_articles.py``) that add an article by URL.

    site = Site()
    url = site.page("/news/bridge.html", BRIDGE)
    ...
    site.server.shutdown()

The page is ``eval/pages/bridge.html``, which the tests read too; ``tests/test_sources.py`` keeps its
own richer server (request log, redirects, slow answers): scripts do not import tests.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BRIDGE = (Path(__file__).resolve().parent.parent / "eval" / "pages" / "bridge.html").read_text(encoding="utf-8")


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
