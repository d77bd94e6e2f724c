"""The JSON HTTP API, served beside the chat page by ``qa serve`` (FastAPI; the OpenAPI page is /docs).

    POST /api/answer    {"question": "...", "since": "2024-03-01", "until": ..., "source": ...}
    POST /api/chat      {"question": "...", "conversation": "<any id the client picks>"}  (follow-ups)
    GET  /api/chat/{conversation}                      its remembered turns (kept across restarts)
    DELETE /api/chat/{conversation}
    GET  /api/articles  ?offset=0&limit=100           the corpus: title, date, site, sentence count
    GET  /api/articles/{id}                            one article, its text and sentence spans
    POST /api/articles  {"url": "..."} | {"feed": "..."} | a multipart file upload
    GET  /api/status                                   the index and its background update

Answers are the JSON of ``qa ask --json``. Bad input gets the Python API's message: 422 for a bad
question or filter, 400 for other user errors, 413 for an upload over the limit; never a traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from qa.conversation import ID as CONVERSATION_ID
from qa.conversation_store import ConversationStore
from qa.errors import QAError, QuestionError, SourceError
from qa.filters import Filters

if TYPE_CHECKING:
    from qa.index_service import IndexService
    from qa.pipeline import QA

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


def article_summary(index: Any, article_id: str) -> dict[str, Any]:
    a = index.articles[article_id]
    return {"id": a.id, "title": a.title, "date": a.date, "site": a.site, "author": a.author, "url": a.url,
            "source": a.source, "sentences": len(index.article_positions(a.id)), "pages": len(a.pages or []) or None}


def build_api(qa: QA, indexer: IndexService | None = None, allow_private: bool = False,
              max_upload_bytes: int | None = None, conversations: ConversationStore | None = None) -> FastAPI:
    """The API over ``qa`` (``allow_private``: let POST /api/articles fetch from private networks;
    ``conversations``: where /api/chat keeps them, default ``ConversationStore.for_qa(qa)``)."""
    from qa.sources import add_feed, add_urls, save_upload
    from qa.sources.add import MAX_UPLOAD_BYTES

    limit_bytes = max_upload_bytes or MAX_UPLOAD_BYTES
    indexer = indexer if indexer is not None else qa.indexes
    store = conversations if conversations is not None else ConversationStore.for_qa(qa)
    app = FastAPI(title="qa", summary="Answers with citations from a folder of news articles",
                  description=__doc__, version="0.1.0")

    @app.exception_handler(QAError)
    async def user_error(request: Request, exc: QAError) -> JSONResponse:
        status = 422 if isinstance(exc, QuestionError) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    def where(body: Ask) -> Filters | None:
        return Filters.parse(body.since, body.until, body.source)

    @app.post("/api/answer", summary="Answer one question")
    def answer(body: Ask) -> dict[str, Any]:
        return qa.answer(body.question, min_score=body.min_score, where=where(body)).to_dict()

    @app.post("/api/chat", summary="Answer the next question of a conversation")
    def chat(body: Chat) -> dict[str, Any]:
        result, conversation = store.ask(body.conversation, body.question, min_score=body.min_score, where=where(body))
        return {**result.to_dict(), "conversation": conversation.id, "turn": len(conversation)}

    @app.get("/api/chat/{conversation}", summary="A conversation's remembered turns")
    def turns(conversation: str) -> dict[str, Any]:
        return store.get(conversation).to_dict()

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

    @app.post("/api/articles", summary="Add a web page, a feed or an uploaded file", status_code=202,
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": AddArticle.model_json_schema()},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "file": {"type": "string", "format": "binary"}}}}}}})
    async def add(request: Request) -> dict[str, Any]:
        corpus = qa.settings.corpus
        corpus.mkdir(parents=True, exist_ok=True)
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
            results = [save_upload(corpus, file.filename or "upload", data, limit_bytes)]
        else:
            try:
                body = AddArticle(**(await request.json()))
            except Exception as exc:  # noqa: BLE001 - malformed JSON or fields: the client's mistake
                raise SourceError(f'send {{"url": ...}} or {{"feed": ...}} as JSON, or a file upload ({exc})') from None
            if bool(body.url) == bool(body.feed):
                raise SourceError('send exactly one of "url" and "feed"')
            results = add_urls([body.url], corpus, allow_private) if body.url else \
                add_feed(body.feed, corpus, allow_private)
        if any(r.status in {"added", "updated"} for r in results):
            indexer.request()
        failed = [r for r in results if not r.ok]
        if failed and len(failed) == len(results):
            return JSONResponse({"error": "; ".join(r.error or "" for r in failed),
                                 "results": [r.to_dict() for r in results]}, status_code=400)
        return {"results": [r.to_dict() for r in results], "indexing": indexer.state["updating"]}

    @app.get("/api/status", summary="The index, and its background update")
    def status() -> dict[str, Any]:
        index = qa.current_index()
        return {"articles": len(index.articles), "sentences": len(index.sentences),
                "corpus": str(qa.settings.corpus), **{k: v for k, v in indexer.state.items()
                                                     if k not in {"articles", "sentences"}}}

    app.state.indexer = indexer
    app.state.conversations = store
    return app
