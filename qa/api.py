"""The JSON HTTP API, served beside the chat page by ``qa serve`` (FastAPI; the OpenAPI page is /docs).

    POST /api/answer    {"question": "...", "since": "2024-03-01", "until": ..., "source": ...}
    POST /api/chat      {"question": "...", "conversation": "<any id the client picks>"}  (follow-ups)
    GET  /api/chat/{conversation}                      its remembered turns (kept across restarts)
    DELETE /api/chat/{conversation}
    GET  /api/articles  ?offset=0&limit=100           the corpus: title, date, site, sentence count
    GET  /api/articles/{id}                            one article, its text and sentence spans
    POST /api/articles  {"url": "..."} | {"feed": "..."} | a multipart file upload       (writes)
    DELETE /api/articles/{id}                          remove it: no longer cited, kept in the trash (writes)
    GET  /api/trash                                    what was removed, by whom and when
    POST /api/restore   {"ids": ["..."]}                bring removed articles back (writes)
    POST /api/index                                    compare the corpus folder with the index now (writes)
    GET  /api/feeds     POST /api/feeds {"url": ...}   DELETE /api/feeds?url=...  subscriptions (writes)
    GET  /api/status                                   the index, its background update, feeds, load
    GET  /metrics                                      Prometheus metrics (``qa.serving.metrics``)

Writes need ``Authorization: Bearer <token>`` when the server has tokens (``qa.serving.access``):
401 without a valid one, 403 on a read-only server. Past the bound on model calls a question gets
429 with Retry-After, and 503 with Retry-After when it waited and ran past the time limit
(``qa.serving.gate``). Answers are the JSON of ``qa ask --json``. Bad input gets the Python API's
message: 422 for a bad question or filter, 400 for other user errors, 413 for an upload over the
limit; never a traceback.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from qa.conversation import ID as CONVERSATION_ID
from qa.conversation_store import ConversationStore
from qa.editing import CorpusEditor
from qa.errors import AccessError, QAError, QuestionError, SourceError
from qa.filters import Filters
from qa.serving.access import Tokens
from qa.serving.gate import Busy, Gate, TimedOut
from qa.serving.metrics import Metrics
from qa.verification import answer_json

if TYPE_CHECKING:
    from qa.index_service import IndexService
    from qa.pipeline import QA
    from qa.sources.feeds import FeedPoller

log = logging.getLogger(__name__)


class Ask(BaseModel):
    question: Any = Field(description="The question; at most Settings.max_question_chars characters.")
    since: str | None = Field(None, description="Only articles published on or after this date (YYYY-MM-DD).")
    until: str | None = Field(None, description="Only articles published on or before this date.")
    source: str | None = Field(None, description="Only articles whose site name contains this, or whose file "
                                                 "in the corpus starts with it.")
    min_score: float | None = Field(None, description="Abstain below this answer score (default: the reader's).")


class Chat(Ask):
    conversation: str = Field(min_length=1, max_length=200, pattern=f"^{CONVERSATION_ID.pattern}$",
                              description="Any id the client chooses (letters, digits, _ - . :); the same id "
                                          "continues the same conversation, across restarts of the server.")


class AddArticle(BaseModel):
    url: str | None = Field(None, description="A web page or PDF to fetch and add.")
    feed: str | None = Field(None, description="An RSS/Atom feed: its entries not added before.")


class Ids(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=1000, description="Article ids or corpus files.")


class Feed(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="An RSS/Atom feed to poll on a schedule.")


def article_summary(index: Any, article_id: str) -> dict[str, Any]:
    a = index.articles[article_id]
    return {"id": a.id, "title": a.title, "date": a.date, "site": a.site, "author": a.author, "url": a.url,
            "source": a.source, "sentences": len(index.article_positions(a.id)), "pages": len(a.pages or []) or None,
            "updated": a.updated}


def build_api(qa: QA, indexer: IndexService | None = None, allow_private: bool = False,
              max_upload_bytes: int | None = None, conversations: ConversationStore | None = None,
              tokens: Tokens | None = None, gate: Gate | None = None, metrics: Metrics | None = None,
              feeds: FeedPoller | None = None) -> FastAPI:
    """The API over ``qa``. ``allow_private``: let POST /api/articles fetch from private networks;
    ``conversations``: where /api/chat keeps them (default ``ConversationStore.for_qa(qa)``); ``tokens``:
    who may write (default: anyone on loopback, as "local"); ``gate``: the bound on model calls (default
    sized to the machine); ``metrics``: what /metrics shows (default: a registry of its own); ``feeds``:
    the server's feed poller (woken when a feed is subscribed; its state in /api/status)."""
    from qa.sources.add import MAX_UPLOAD_BYTES

    limit_bytes = max_upload_bytes or MAX_UPLOAD_BYTES
    indexer = indexer if indexer is not None else qa.indexes
    store = conversations if conversations is not None else ConversationStore.for_qa(qa)
    tokens = tokens if tokens is not None else Tokens(local=True)
    s = qa.settings
    gate = gate if gate is not None else Gate.for_machine(s.max_concurrent, s.max_waiting, s.request_seconds)
    metrics = metrics if metrics is not None else Metrics(indexer, gate)
    qa.observers.append(metrics.stage)
    indexer.observers.append(metrics.updates.observe)
    editor = CorpusEditor(s.corpus, indexer, allow_private)
    app = FastAPI(title="qa", summary="Answers with citations from a folder of news articles",
                  description=__doc__, version="0.1.0")

    @app.exception_handler(QAError)
    async def user_error(request: Request, exc: QAError) -> JSONResponse:
        if isinstance(exc, AccessError):
            status = 403 if tokens.read_only else 401
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)
        status = 422 if isinstance(exc, QuestionError) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A body or query that is not what the endpoint takes (a field missing, JSON that does not parse):
        the same ``{"error": ...}`` as every other bad input, with FastAPI's ``detail`` list beside it."""
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":  # its "loc" is the character where parsing failed
                reason = (error.get("ctx") or {}).get("error", "")
                problems.append(f"the body is not JSON{': ' + reason if reason else ''}")
                continue
            where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
            problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
        detail = jsonable_encoder(exc.errors())
        return JSONResponse({"error": "; ".join(problems) or "invalid request", "detail": detail}, status_code=422)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        timed_out = isinstance(exc, TimedOut)
        metrics.busy.labels("timed out" if timed_out else "busy").inc()
        return JSONResponse({"error": f"{exc}: try again in {exc.retry_after} s", "retry_after": exc.retry_after},
                            status_code=503 if timed_out else 429, headers={"Retry-After": str(exc.retry_after)})

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Any:
        began = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", None) or ("/" if not request.url.path.startswith("/api") else "other")
            metrics.request(path, request.method, status, time.perf_counter() - began,
                            client=request.client.host if request.client else None,
                            who=getattr(request.state, "who", None))

    def writer(request: Request) -> str:
        """The name of who is writing; AccessError (401/403) when they may not."""
        who = tokens.writer(request.headers.get("authorization"))
        request.state.who = who
        return who

    def where(body: Ask) -> Filters | None:
        return Filters.parse(body.since, body.until, body.source)

    @app.post("/api/answer", summary="Answer one question")
    async def answer(body: Ask) -> dict[str, Any]:
        filters = where(body)
        result = await gate.run(qa.answer, body.question, min_score=body.min_score, where=filters)
        metrics.answered(result)
        return answer_json(result)

    @app.post("/api/chat", summary="Answer the next question of a conversation")
    async def chat(body: Chat) -> dict[str, Any]:
        filters = where(body)
        result, conversation = await gate.run(store.ask, body.conversation, body.question,
                                               min_score=body.min_score, where=filters)
        metrics.answered(result)
        return {**answer_json(result), "conversation": conversation.id, "turn": len(conversation)}

    @app.get("/api/chat/{conversation}", summary="A conversation's remembered turns")
    def turns(conversation: str) -> dict[str, Any]:
        return store.get(conversation, keep=False).to_dict()

    @app.delete("/api/chat/{conversation}", summary="Forget a conversation")
    def forget(conversation: str) -> dict[str, Any]:
        return {"conversation": conversation, "forgotten": store.forget(conversation)}

    @app.get("/api/articles", summary="The articles of the corpus")
    def articles(offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        index = qa.current_index()
        ids = list(index.articles)
        return {"total": len(ids), "offset": offset,
                "articles": [article_summary(index, a) for a in ids[offset : offset + limit]]}

    @app.get("/api/articles/{article_id:path}", summary="One article with its sentences")
    def article(article_id: str) -> dict[str, Any]:
        index = qa.current_index()
        if article_id not in index.articles:
            raise HTTPException(404, detail=f"no article {article_id!r} in the corpus")
        text = index.articles[article_id].text
        spans = [[s.start, s.end] for s in index.article_sentences(article_id)]
        return {**article_summary(index, article_id), "text": text, "sentence_spans": spans}

    @app.delete("/api/articles/{article_id:path}", summary="Remove an article: no longer cited, kept in the trash")
    def remove(article_id: str, who: str = Depends(writer)) -> Any:
        results = editor.remove(who, [article_id], via="api")
        if not results[0].ok:
            return JSONResponse({"error": results[0].error, "results": [r.to_dict() for r in results]},
                                status_code=404)
        return {"results": [r.to_dict() for r in results], "indexing": indexer.state["updating"]}

    @app.get("/api/trash", summary="Removed articles, most recent first")
    def trash() -> dict[str, Any]:
        from qa.sources.trash import trashed

        return {"removed": trashed(s.corpus)}

    @app.post("/api/restore", summary="Bring removed articles back")
    def restore(body: Ids, who: str = Depends(writer)) -> Any:
        results = editor.restore(who, body.ids, via="api")
        status = 200 if any(r.ok for r in results) else 404
        return JSONResponse({"results": [r.to_dict() for r in results], "indexing": indexer.state["updating"]},
                            status_code=status)

    @app.post("/api/index", summary="Compare the corpus folder with the index and update it", status_code=202)
    def reindex(who: str = Depends(writer)) -> dict[str, Any]:
        editor.reindex(who, via="api")
        return {"indexing": indexer.state["updating"]}

    @app.post("/api/articles", summary="Add a web page, a feed or an uploaded file", status_code=202,
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": AddArticle.model_json_schema()},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "file": {"type": "string", "format": "binary"}}}}}}})
    async def add(request: Request, who: str = Depends(writer)) -> Any:
        from starlette.concurrency import run_in_threadpool

        file = None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            file = form.get("file")
            if not isinstance(file, StarletteUpload):
                raise SourceError('send the file as the multipart field "file"')
        if file is not None:
            data = await file.read(limit_bytes + 1)
            if len(data) > limit_bytes:
                raise HTTPException(413, detail=f"{file.filename}: over the {limit_bytes:,}-byte limit for one file")
            results = await run_in_threadpool(editor.add, who, uploads=[(file.filename or "upload", data)], via="api")
        else:
            try:
                body = AddArticle(**(await request.json()))
            except Exception as exc:  # noqa: BLE001 - malformed JSON or fields: the client's mistake
                raise SourceError(f'send {{"url": ...}} or {{"feed": ...}} as JSON, or a file upload ({exc})') from None
            if bool(body.url) == bool(body.feed):
                raise SourceError('send exactly one of "url" and "feed"')
            results = await run_in_threadpool(editor.add, who, urls=[body.url] if body.url else [],
                                              feeds=[body.feed] if body.feed else [], via="api")
        failed = [r for r in results if not r.ok]
        if failed and len(failed) == len(results):
            return JSONResponse({"error": "; ".join(r.error or "" for r in failed),
                                 "results": [r.to_dict() for r in results]}, status_code=400)
        return {"results": [r.to_dict() for r in results], "indexing": indexer.state["updating"]}

    @app.get("/api/feeds", summary="The feeds the corpus is subscribed to, and how their polls went")
    def feed_list() -> dict[str, Any]:
        from qa.sources.feeds import Subscriptions

        return {"feeds": [f.to_dict() for f in Subscriptions(s.corpus).list()],
                "polling": feeds is not None and feeds.running}

    @app.post("/api/feeds", summary="Subscribe to a feed (polled on a schedule, now first)", status_code=201)
    def subscribe(body: Feed, who: str = Depends(writer)) -> dict[str, Any]:
        feed = editor.subscribe(who, body.url, via="api")
        if feeds is not None:
            feeds.wake()
        return {"feed": feed.to_dict()}

    @app.delete("/api/feeds", summary="Unsubscribe from a feed")
    def unsubscribe(url: str = Query(min_length=1), who: str = Depends(writer)) -> dict[str, Any]:
        return {"feed": editor.unsubscribe(who, url, via="api").to_dict()}

    @app.get("/api/status", summary="The index, its background update, and the load")
    def status() -> dict[str, Any]:
        index = qa.current_index()
        return {"articles": len(index.articles), "sentences": len(index.sentences),
                "generation": index.manifest.get("generation"), "corpus": str(s.corpus),
                **{k: v for k, v in indexer.state.items() if k not in {"articles", "sentences"}},
                "model_calls": {"running": gate.running, "waiting": gate.queued, "limit": gate.limit,
                                "line": gate.waiting, "turned_away": gate.turned_away, "timed_out": gate.timed_out},
                "writes": "read-only" if tokens.read_only else "token" if tokens.writes_need_token else "local",
                "feeds": feeds.state if feeds is not None else None}

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.state.indexer = indexer
    app.state.conversations = store
    app.state.editor = editor
    app.state.gate = gate
    app.state.metrics = metrics
    app.state.tokens = tokens
    app.state.feeds = feeds
    return app
