"""Serving qa to a team: one place where the server is put together and run.

- ``server``: ``serve()`` / ``build_app()``: the API and the chat page in one app, warmed up, served by uvicorn
- ``access``: who may write (tokens, read-only, refusing a public bind without a token)
- ``gate``: a bound on model calls at once; past it, 429 with Retry-After
- ``metrics``: ``/metrics`` for Prometheus, one JSON log line per request
- ``replicas``: the same app as a Ray Serve deployment of several replicas over one index

    from qa.serving import serve
    serve(corpus="articles/", token="alice=a-long-secret")
"""

from __future__ import annotations

from typing import Any


def serve(*args: Any, **kwargs: Any) -> Any:
    """``qa.serving.server.serve`` (imported on first use: it loads FastAPI, Gradio and uvicorn)."""
    from qa.serving.server import serve as run

    return run(*args, **kwargs)


__all__ = ["serve"]
