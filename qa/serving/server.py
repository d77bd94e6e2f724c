"""``qa serve``: the chat page at / and the JSON API at /api in one FastAPI app, served by uvicorn.

    from qa.serving import serve
    serve(corpus="articles/", port=7860)                  # http://127.0.0.1:7860, until Ctrl-C
    served = serve(qa, block=False); ...; served.close()  # in a test

``build_app`` puts the parts together (also for each replica on Ray Serve, ``qa.serving.replicas``):
who may write (``access``), the bound on model calls (``gate``), the metrics (``metrics``), the
conversations kept on disk, the feed poller, the API (``qa.api``) and the page (``qa.ui``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.errors import CorpusError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from qa.pipeline import QA
    from qa.serving.access import Tokens
    from qa.serving.metrics import Metrics
    from qa.sources.feeds import FeedPoller

log = logging.getLogger(__name__)
# On SIGTERM/SIGINT, requests still running get this long before their connections are closed: an open
# chat page keeps a stream that never ends, and without a limit uvicorn would wait for it forever.
SHUTDOWN_SECONDS = 5


@dataclass
class Options:
    """How a server runs, beyond the ``QA``'s settings (``Settings`` gives the defaults: ``from_settings``)."""

    host: str = "127.0.0.1"
    tokens: Tokens | None = None  # who may write; None: open writes on loopback only (``access.for_host``)
    allow_private: bool = False  # URLs added through the page or the API may be on private networks
    max_concurrent: int = 0  # model calls at once (0: sized to the machine)
    max_waiting: int = 0
    request_seconds: float = 30.0
    feed_poll_seconds: float = 900.0  # 0: no feed polling in this process
    warm_up: bool = True

    @classmethod
    def from_settings(cls, qa: QA, host: str | None = None, token: str | list[str] | tuple[str, ...] | None = None,
                      read_only: bool | None = None, **overrides: Any) -> Options:
        """Options for ``qa``'s settings; ``token``/``read_only`` override ``Settings.api_token``/``read_only``.
        ``AccessError`` when ``host`` is public and nobody could be told apart from a writer."""
        from qa.serving.access import for_host

        s = qa.settings
        host = host or s.host
        tokens = for_host(host, token if token else s.api_token, s.read_only if read_only is None else read_only)
        values = {"max_concurrent": s.max_concurrent, "max_waiting": s.max_waiting,
                  "request_seconds": s.request_seconds, "feed_poll_seconds": s.feed_poll_seconds}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(host=host, tokens=tokens, **values)


def build_app(qa: QA, options: Options | None = None) -> FastAPI:
    """The whole app over ``qa``: the API, /metrics, and the page mounted at /; not yet served.
    ``app.state`` holds the shared parts (gate, metrics, conversations, editor, feeds)."""
    import gradio as gr

    from qa.api import build_api
    from qa.conversation_store import ConversationStore
    from qa.serving.access import Tokens
    from qa.serving.gate import Gate
    from qa.serving.metrics import Metrics
    from qa.sources.add import MAX_UPLOAD_BYTES
    from qa.ui import CSS, THEME
    from qa.ui import build_app as build_page

    options = options or Options()
    tokens = options.tokens if options.tokens is not None else Tokens(local=True)
    gate = Gate.for_machine(options.max_concurrent, options.max_waiting, options.request_seconds)
    metrics = Metrics(qa.indexes, gate)
    conversations = ConversationStore.for_qa(qa)
    api = build_api(qa, allow_private=options.allow_private, conversations=conversations, tokens=tokens,
                    gate=gate, metrics=metrics, feeds=feed_poller(qa, options, metrics))
    page = build_page(qa, api.state.editor, conversations, tokens=tokens, gate=gate)
    page.queue(default_concurrency_limit=gate.limit + gate.waiting)
    app = gr.mount_gradio_app(api, page, path="/", css=CSS, theme=THEME, max_file_size=MAX_UPLOAD_BYTES)
    app.state.options = options
    return app


class Served:
    """A running server (``serve(block=False)``): the app, its uvicorn server and thread."""

    def __init__(self, app: Any, server: Any, thread: threading.Thread, url: str):
        self.app, self.server, self.thread, self.url = app, server, thread, url

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        feeds = getattr(self.app.state, "feeds", None)
        if feeds is not None:
            feeds.stop()


def serve(qa: QA | None = None, host: str | None = None, port: int | None = None, *, block: bool = True,
          options: Options | None = None, allow_private: bool = False, token: str | list[str] | None = None,
          read_only: bool | None = None, **settings: Any) -> Served:
    """Serve the chat page at / and the JSON API at /api with uvicorn; ``settings`` (corpus, index, reader,
    embedder, ...) build the ``QA`` if none is given.

    ``host``/``port`` default to the settings' (127.0.0.1:7860, or ``QA_HOST``/``QA_PORT``); ``token``:
    who may write (``name=secret`` items; default ``QA_API_TOKEN``); ``read_only``: nobody writes through
    this server. A public ``host`` without either is refused (``AccessError``).
    ``block=False`` returns once the server accepts connections (``served.close()`` stops it).
    """
    import uvicorn

    if qa is None:
        from qa.pipeline import QA

        qa = QA(**settings)
    elif settings:
        raise TypeError(f"serve() got both a QA and settings for one: {', '.join(sorted(settings))}")
    host, port = host or qa.settings.host, port or qa.settings.port
    options = options or Options.from_settings(qa, host, token, read_only, allow_private=allow_private)
    if options.warm_up:
        warm_up(qa)
    app = build_app(qa, options)
    if app.state.feeds is not None:
        app.state.feeds.start()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           timeout_graceful_shutdown=SHUTDOWN_SECONDS))
    url = f"http://{host}:{port}"
    if block:
        log.warning("serving the chat at %s/ and the API at %s/api (OpenAPI: %s/docs)", url, url, url)
        try:
            server.run()
        finally:
            if getattr(app.state, "feeds", None) is not None:
                app.state.feeds.stop()
        return Served(app, server, threading.current_thread(), url)
    thread = threading.Thread(target=server.run, name="qa-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {url}")
        time.sleep(0.05)
    return Served(app, server, thread, url)


def feed_poller(qa: QA, options: Options, metrics: Metrics) -> FeedPoller | None:
    """The poller of the corpus's subscribed feeds (``qa.sources.feeds``), not started; None when the
    server is read-only or polling is off (``feed_poll_seconds`` 0: replicas, where ``qa watch`` polls)."""
    from qa.sources.feeds import FeedPoller, log_failures

    if options.feed_poll_seconds <= 0 or (options.tokens is not None and options.tokens.read_only):
        return None

    def after_round(polls: list[Any]) -> None:
        log_failures(polls)
        metrics.polled(poller.last_duration or 0.0, sum(p.new_items for p in polls))

    poller = FeedPoller(qa.settings.corpus, on_new=qa.indexes.request, interval=options.feed_poll_seconds,
                        allow_private=options.allow_private, on_round=after_round)
    return poller


def warm_up(qa: QA) -> None:
    """Index the corpus and load the models before the first visitor waits for them."""
    try:
        qa.index()
    except CorpusError as exc:  # the page shows it too; the corpus may be filled while we run
        log.warning("%s", exc)
    for model in (qa.embedder, qa.reader):
        method = getattr(model, "warm_up", None)
        if callable(method):
            method()
    from qa import inflection  # the follow-up stage's and the verifier's verb tables

    inflection.warm_up()
