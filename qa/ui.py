"""The chat web UI: ask questions about the articles, read answers with their citations.

    page = build_app(qa)                      # gr.Blocks; qa.serving mounts it beside the API

The handlers are plain functions (``render_answer``, ``converse``, ``corpus_status``)
so they are tested without a browser. Each browser tab holds the id of its own conversation
(in its sessionStorage) and the server keeps the turns (``qa.conversation_store``), so
follow-ups ("What did he propose?") are read with that tab's history, two tabs never share
one, and a reload (or a restart of the server) shows the conversation again. Everything
that comes from the corpus or the user is HTML-escaped here; the only raw markup is our
own. The chat renders messages as HTML (no Markdown, no LaTeX), so corpus text can't
smuggle in links or formatting
either, and Gradio's sanitizer stays on as a second line of defence.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import gradio as gr

from qa.errors import QAError
from qa.filters import Filters
from qa.schema import Answer, Article, Citation
from qa.sentences import split_text
from qa.text import clip
from qa.verification import YES_OR_NO, YES_OR_NO_QUOTED, asks_yes_or_no

if TYPE_CHECKING:
    from qa.conversation import Conversation
    from qa.conversation_store import ConversationStore
    from qa.editing import CorpusEditor
    from qa.pipeline import QA
    from qa.serving.access import Tokens
    from qa.serving.gate import Gate

log = logging.getLogger(__name__)

TITLE = "Ask the articles"
EXAMPLES = [
    "Who offered Russia cooperation?",
    "How many Russians were killed in the attack?",
    "Who is the French Interior Minister?",
    "Who won the 2022 football World Cup?",  # not in the seed article: the QA should abstain
]
NOT_FOUND = "Not found in the articles."
MAX_CITATIONS = 3  # citations shown per answer; the rest are counted
CONTEXT_SENTENCES = 2  # sentences shown on each side of the cited one

CSS = """
.qa-answer { line-height: 1.5; }
.qa-headline { font-size: 1.05em; }
.qa-meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
.qa-citation { margin-top: 0.6em; padding-left: 0.7em; border-left: 3px solid var(--color-accent); }
.qa-sentence { margin: 0.2em 0; }
.qa-answer mark { background: #fde68a; color: #111; padding: 0 0.15em; border-radius: 3px; }
.qa-context { margin-top: 0.2em; }
.qa-context summary { cursor: pointer; color: var(--body-text-color-subdued); font-size: 0.85em; }
.qa-context > div { color: var(--body-text-color-subdued); font-size: 0.95em; }
.qa-context .qa-cited { color: var(--body-text-color); }
.qa-error { color: var(--error-text-color); }
.qa-when { font-size: 0.9em; }
.qa-article { max-height: 520px; overflow-y: auto; line-height: 1.5; }
.qa-article mark { background: #fde68a; color: #111; }
.qa-added td, .qa-added th { padding: 0.15em 0.6em; text-align: left; }
.qa-interpreted { color: var(--body-text-color-subdued); font-size: 0.8em; font-style: italic; margin-bottom: 0.3em; }
#qa-status { color: var(--body-text-color-subdued); font-size: 0.9em; }
"""

# System fonts: the page makes no request outside this machine.
THEME = gr.themes.Soft(
    font=["ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
)


# -- rendering ------------------------------------------------------------------------------


def escape(text: str) -> str:
    """``text`` as HTML text: markup escaped, line breaks kept as ``<br>``."""
    return re.sub(r"\r?\n", "<br>", html.escape(text, quote=True))


def render_answer(answer: Answer, articles: Mapping[str, Article] | None = None) -> str:
    """The HTML of one answer: its text and score and its citations, or the abstention.

    ``articles`` (id -> Article) supplies links and the surrounding text of each
    cited sentence; without it, citations show only what they carry themselves.
    """
    articles = articles or {}
    if answer.text is None:
        return _render_abstention(answer, articles)
    interpreted = _render_interpreted(answer)
    if asks_yes_or_no(answer.query or answer.question):
        interpreted += f'<div class="qa-meta">{YES_OR_NO_QUOTED}</div>'
    meta = f"score {answer.score:.2f}"
    if answer.seconds:
        meta += f" · {answer.seconds:.1f} s"
    parts = [
        '<div class="qa-answer">',
        interpreted,
        f'<div class="qa-headline"><strong>{escape(answer.text)}</strong> '
        f'<span class="qa-meta" title="{SCORE_HELP}">{meta}</span></div>',
    ]
    for n, citation in enumerate(answer.citations[:MAX_CITATIONS], start=1):
        parts.append(render_citation(citation, articles.get(citation.article_id), n))
    hidden = len(answer.citations) - MAX_CITATIONS
    if hidden > 0:
        parts.append(f'<div class="qa-meta">and {hidden} more mention{"s" if hidden > 1 else ""}</div>')
    # of the kind asked for: "Moscow" is no candidate answer to "Which day?"
    kept = [c for c in answer.alternatives if not c.signals.get("type_mismatch")]
    if kept:
        others = " · ".join(f"{escape(clip(c.text))} ({c.score:.2f})" for c in kept[:3])
        parts.append(f'<div class="qa-meta">Other candidates: {others}</div>')
    parts.append("</div>")
    return "".join(parts)


SCORE_HELP = "the probability that this answer is right, as measured on held-out questions"


def _render_interpreted(answer: Answer) -> str:
    """"Interpreted as: ..." when a follow-up was completed from the conversation, else nothing."""
    if not answer.query or answer.query == answer.question:
        return ""
    return f'<div class="qa-interpreted">Interpreted as: {escape(answer.query)}</div>'


def _render_abstention(answer: Answer, articles: Mapping[str, Article]) -> str:
    parts = ['<div class="qa-answer qa-abstain">', _render_interpreted(answer),
             f'<div class="qa-headline">{NOT_FOUND}</div>']
    if asks_yes_or_no(answer.query or answer.question):
        parts.append(f'<div class="qa-meta">{YES_OR_NO}</div>')
        if answer.passages:
            top = answer.passages[0]
            title = escape(top.title or (articles[top.article_id].title if top.article_id in articles else "")
                           or top.article_id)
            parts.append(f'<div class="qa-meta">The passage that comes closest, in <strong>{title}</strong>: '
                         f"“{escape(clip(top.text, 240))}”</div>")
    elif answer.alternatives:
        closest = answer.alternatives[0]
        where = ""
        if closest.citations:
            where = f" in {_title_html(closest.citations[0], articles.get(closest.citations[0].article_id))}"
        parts.append(
            f'<div class="qa-meta">Closest candidate: “{escape(clip(closest.text))}”{where} '
            f"(score {closest.score:.2f}, too uncertain to answer)</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def render_citation(citation: Citation, article: Article | None = None, number: int = 1) -> str:
    """One citation: linked title, the sentence with the answer marked, and the article around it."""
    source = citation.source or (article.source if article else "")
    site = citation.site or (article.site if article else None)
    published = citation.date or (article.date if article else None)
    updated = citation.updated or (article.updated if article else None)
    where = [escape(site) if site else "", escape(published) if published else "",
             f"updated {escape(updated)}" if updated else "",
             f"page {citation.page}" if citation.page else "", escape(source),
             f"sentence {citation.sentence_index + 1}"]
    meta = " · ".join(x for x in where if x)
    sentence, offset = _sentence_in_article(citation, article)
    parts = [
        '<div class="qa-citation">',
        f'<div>[{number}] {_title_html(citation, article)} <span class="qa-meta">{meta}</span></div>',
        f'<div class="qa-sentence">{_marked(sentence, offset, _answer_span(citation, sentence, offset))}'
        "</div>",
    ]
    if citation.when:
        parts.append(f'<div class="qa-when">When: {escape(citation.when)}</div>')
    if article is not None and offset is not None:
        parts.append(_render_context(article, citation))
    parts.append("</div>")
    return "".join(parts)


def _title_html(citation: Citation, article: Article | None) -> str:
    title = escape(citation.title or (article.title if article else "") or citation.article_id)
    url = citation.url or (article.url if article else None)
    if url and urlsplit(url).scheme.lower() in {"http", "https"}:
        href = html.escape(url, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{title}</a>'
    return f"<strong>{title}</strong>"


def _sentence_in_article(citation: Citation, article: Article | None) -> tuple[str, int | None]:
    """The cited sentence, and its offset in the article when the article text still holds it."""
    s, e = citation.sentence_start, citation.sentence_end
    if article is not None and e > s and article.text[s:e] == citation.sentence:
        return citation.sentence, s
    return citation.sentence, None


def _answer_span(citation: Citation, sentence: str, offset: int | None) -> tuple[int, int] | None:
    """The answer's span in the coordinates that ``_marked`` gets (article, or sentence if offset is None)."""
    if offset is not None:
        return citation.start, citation.end
    s, e = citation.sentence_start, citation.sentence_end
    if e - s == len(sentence) and s <= citation.start < e:  # offsets are right even without the article
        return citation.start - s, citation.end - s
    return None


def _marked(text: str, offset: int | None, span: tuple[int, int] | None) -> str:
    """``text`` escaped, with ``span`` (same coordinates as ``offset``: where ``text`` begins) in <mark>."""
    offset = offset or 0
    if span is None:
        return escape(text)
    start = min(max(span[0] - offset, 0), len(text))
    end = min(max(span[1] - offset, start), len(text))
    if end == start:
        return escape(text)
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


@lru_cache(maxsize=64)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(split_text(text))


def _render_context(article: Article, citation: Citation, around: int = CONTEXT_SENTENCES) -> str:
    """A collapsed view of the sentences around the cited one, the answer marked."""
    spans = _sentence_spans(article.text) or ((0, len(article.text)),)
    s, e = citation.sentence_start, citation.sentence_end
    k = next((k for k, (a, b) in enumerate(spans) if a <= s < b), None)
    if k is None:
        begin, end = s, e
    else:
        begin, end = spans[max(0, k - around)][0], spans[min(len(spans) - 1, k + around)][1]
        begin, end = min(begin, s), max(end, e)
    answer = (citation.start, citation.end)
    body = "".join([
        "… " if begin > 0 else "",
        _marked(article.text[begin:s], begin, answer),
        f'<span class="qa-cited">{_marked(article.text[s:e], s, answer)}</span>',
        _marked(article.text[e:end], e, answer),
        " …" if end < len(article.text.rstrip()) else "",
    ])
    return f'<details class="qa-context"><summary>Show article context</summary><div>{body}</div></details>'


def render_error(error: Exception) -> str:
    """A user-facing problem as a chat message."""
    message = str(error) or type(error).__name__
    return f'<div class="qa-error">⚠ {escape(message[:1].upper() + message[1:])}</div>'


# -- handlers -------------------------------------------------------------------------------


def converse(
    message: str, history: list[dict[str, Any]] | None, conversation: Conversation | None, qa: QA,
    since: str | None = None, until: str | None = None, source: str | None = None,
) -> list[dict[str, Any]]:
    """The chat history with ``message`` and its answer (or the problem that prevented one) appended.

    ``conversation``: this page's conversation; the question is asked in it (a follow-up is read with
    its earlier turns in view) and becomes its latest turn. A question that could not be answered
    (empty, too long) leaves it as it was. ``since``/``until``/``source``: the page's filters (``qa.filters``).
    """
    history = list(history or [])
    if message and message.strip():
        history.append({"role": "user", "content": escape(message.strip())})
    try:
        where = Filters.parse(since, until, source)
        answer = conversation.ask(message, where=where) if conversation is not None else \
            qa.answer(message, where=where)
        reply = render_answer(answer, _articles(qa))
    except QAError as exc:
        reply = render_error(exc)
    except Exception:  # noqa: BLE001 - the page must survive a bug; the log keeps the traceback
        log.exception("answering %r failed", message)
        reply = render_error(RuntimeError("something went wrong while answering: see the server log"))
    history.append({"role": "assistant", "content": reply})
    return history


def replay(conversation: Conversation, qa: QA) -> list[dict[str, Any]]:
    """The chat messages of ``conversation``'s remembered turns: what a reloaded page shows again."""
    articles = _articles(qa)
    messages = []
    for answer in conversation.history:
        messages.append({"role": "user", "content": escape(answer.question)})
        messages.append({"role": "assistant", "content": render_answer(answer, articles)})
    return messages


def _articles(qa: QA) -> Mapping[str, Article]:
    try:
        return qa.current_index().articles
    except QAError:
        return {}


def corpus_status(qa: QA) -> str:
    """One line about the corpus, e.g. ``1 article · 15 sentences · corpus seeds/``."""
    corpus = qa.settings.corpus.as_posix().rstrip("/") + "/"
    try:
        index = qa.current_index()
    except QAError as exc:
        return f"corpus {corpus}: {exc}"
    parts = [_count(len(index.articles), "article"), _count(len(index.sentences), "sentence"),
             f"corpus {corpus}"]
    skipped = index.skipped
    if skipped:
        names = ", ".join(f"{s.path} ({s.reason})" for s in skipped[:3])
        parts.append(f"{_count(len(skipped), 'file')} skipped: {names}{', …' if len(skipped) > 3 else ''}")
    return " · ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- the app ----------------------------------------------------------------------------------


def render_added(results: list[Any]) -> str:
    """What became of each upload or URL, as an HTML table (names and errors escaped)."""
    if not results:
        return '<div class="qa-meta">Nothing to add: choose files or paste URLs.</div>'
    return _results_table(results, ("item", "result", "article"))


def _results_table(results: list[Any], headers: tuple[str, str, str]) -> str:
    """One row per ``qa.sources.result.ItemResult``: the item, its status, and its file and title or error."""
    rows = []
    for r in results:
        what = escape(r.error) if r.error else escape(f"{r.file}" + (f" — {r.title}" if r.title else ""))
        rows.append(f"<tr><td>{escape(r.item)}</td><td>{escape(r.status)}</td><td>{what}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in headers)
    return f'<table class="qa-added"><tr>{head}</tr>{"".join(rows)}</table>'


def add_sources(files: list[Any] | None, urls: str | None, editor: CorpusEditor, who: str) -> str:
    """Store uploaded files and the pages at ``urls`` (one per line or space) in the corpus, as ``who``;
    the index catches up in the background (``CorpusEditor``). The results as HTML."""
    from pathlib import Path

    from qa.sources.add import MAX_UPLOAD_BYTES, AddResult

    refused: list[Any] = []
    uploads: list[tuple[str, bytes]] = []
    for item in files or []:
        path = Path(getattr(item, "name", item))
        name = getattr(item, "orig_name", None) or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            refused.append(AddResult(name, "failed", error=f"the upload is gone ({exc.strerror})"))
            continue
        if size > MAX_UPLOAD_BYTES:
            error = f"{size:,} bytes is over the {MAX_UPLOAD_BYTES:,}-byte limit"
            refused.append(AddResult(name, "failed", error=error))
            continue
        uploads.append((name, path.read_bytes()))
    editor.failed_uploads(who, refused, via="page")
    results = refused + (editor.add(who, urls=(urls or "").split(), uploads=uploads, via="page")
                         if uploads or (urls or "").split() else [])
    return render_added(results)


def render_trashed(results: list[Any]) -> str:
    """What became of each article removed or restored, as HTML (escaped)."""
    return _results_table(results, ("article", "result", "file"))


def index_status(qa: QA, indexer: Any) -> str:
    """The corpus line, or the background update in progress (questions meanwhile use the previous index)."""
    state = indexer.state
    if state.get("updating"):
        elapsed = time.time() - (state.get("started") or time.time())
        return escape(f"Updating the index… {elapsed:.0f} s (questions are answered from the previous index)")
    line = corpus_status(qa)
    if state.get("error"):
        line += f" · last update failed: {state['error']}"
    return escape(line)


def article_rows(qa: QA, limit: int = 5000) -> list[list[Any]]:
    """Title, date, source and sentence count of each article (the first ``limit``)."""
    try:
        index = qa.current_index()
    except QAError:
        return []
    rows = []
    for article_id in list(index.articles)[:limit]:
        a = index.articles[article_id]
        rows.append([a.title, a.date or "", a.site or a.source, len(index.article_positions(article_id)), a.id])
    return rows


def render_article(qa: QA, article_id: str | None, turns: list[Answer] | None = None) -> str:
    """One article in full, the sentences this conversation cited from it marked."""
    if not article_id:
        return '<div class="qa-meta">Pick an article to read it.</div>'
    try:
        index = qa.current_index()
    except QAError as exc:
        return render_error(exc)
    if article_id not in index.articles:
        return render_error(QAError(f"the article {article_id} is no longer in the corpus"))
    article = index.articles[article_id]
    cited = {(c.sentence_start, c.sentence_end) for a in turns or [] for c in a.citations if c.article_id == article_id}
    meta = " · ".join(escape(x) for x in (article.site, article.date, article.author, article.source) if x)
    body = []
    for sentence in index.article_sentences(article_id):
        text = escape(sentence.text)
        body.append(f"<mark>{text}</mark>" if (sentence.start, sentence.end) in cited else text)
    title = _title_html(Citation(article.id, article.title, 0, "", 0, 0, url=article.url), article)
    return (f'<div class="qa-article"><div class="qa-headline">{title}</div><div class="qa-meta">{meta} · '
            f'{len(cited)} cited sentence{"" if len(cited) == 1 else "s"} marked</div><p>{" ".join(body)}</p></div>')


# -- the app ----------------------------------------------------------------------------------


TAB_KEY = "qa-conversation"  # the sessionStorage key holding a tab's conversation id


def build_app(qa: QA, editor: CorpusEditor | None = None, conversations: ConversationStore | None = None, *,
              tokens: Tokens | None = None, gate: Gate | None = None) -> gr.Blocks:
    """The Gradio app over ``qa``, not yet served (``qa.serving.server`` mounts it beside the JSON API).

    Each browser keeps the id of its conversation (local storage); the turns live in ``conversations``
    (default ``ConversationStore.for_qa(qa)``), so a reload, or a restart of the server, shows them again.
    ``editor`` makes the Articles tab's changes (default: over ``qa``'s corpus and index); ``tokens``: who
    may make them (default: anyone, on a loopback-only server); ``gate``: the server's bound on model calls
    (a question past it shows "busy, retrying" and waits its turn).
    """
    import uuid

    from qa.conversation_store import ConversationStore
    from qa.editing import CorpusEditor
    from qa.errors import AccessError
    from qa.serving.access import Tokens
    from qa.serving.gate import Busy, Gate
    from qa.sources.store import UPLOAD_SUFFIXES
    from qa.sources.trash import trashed

    s = qa.settings
    editor = editor if editor is not None else CorpusEditor(s.corpus, qa.indexes)
    indexer = editor.indexes if editor.indexes is not None else qa.indexes
    store = conversations if conversations is not None else ConversationStore.for_qa(qa)
    tokens = tokens if tokens is not None else Tokens(local=True)
    gate = gate if gate is not None else Gate.for_machine(s.max_concurrent, s.max_waiting, s.request_seconds)
    open_writes = not tokens.read_only and not tokens.writes_need_token

    def conversation_of(cid: str | None) -> Conversation:
        try:
            return store.get(cid or "")
        except QAError:  # no id yet, or one this server would not have made: a new conversation
            return store.get(uuid.uuid4().hex)

    def status() -> str:
        return index_status(qa, indexer)

    def send(message: str, history: list[dict[str, Any]], cid: str | None, since: str, until: str,
             source: str) -> Any:
        conversation = conversation_of(cid)
        deadline = time.monotonic() + gate.seconds
        while True:
            try:
                with gate.slot(timeout=max(0.0, min(2.0, deadline - time.monotonic()))), \
                        store.turn(conversation.id) as conversation:  # one turn at a time, saved after it
                    answered = converse(message, history, conversation, qa, since, until, source)
                break
            except Busy as exc:
                if time.monotonic() >= deadline:
                    busy = QAError(f"the server is busy answering other questions: try again in {exc.retry_after} s")
                    answered = [*(history or []), {"role": "user", "content": escape(message.strip())},
                                {"role": "assistant", "content": render_error(busy)}]
                    break
                yield history, conversation.id, conversation.id, message, escape("Busy, retrying…")
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        yield answered, conversation.id, conversation.id, "", status()

    def forget(cid: str | None) -> tuple[list[dict[str, Any]], str, str]:
        if cid:
            with contextlib.suppress(QAError):  # an id this server would not have made: nothing to forget
                store.forget(cid)
        new = uuid.uuid4().hex
        return [], new, new

    def restore_chat(cid: str | None) -> tuple[list[dict[str, Any]], str, str]:
        conversation = conversation_of(cid)
        return replay(conversation, qa), conversation.id, conversation.id

    def cited(cid: str | None) -> list[Answer]:
        return conversation_of(cid).history if cid else []

    def sign_in(token: str) -> tuple[str | None, str, Any, str]:
        try:
            who = tokens.writer(token)
        except AccessError as exc:
            return None, render_error(exc), gr.update(visible=False), ""
        return who, f'<div class="qa-meta">Signed in as {escape(who)}.</div>', gr.update(visible=True), ""

    def may_write(who: str | None) -> str:
        if who is None:
            raise AccessError("sign in with a token to change the articles")
        return who

    def add(files: list[Any] | None, urls: str, who: str | None) -> tuple[str, str, None, str]:
        try:
            added = add_sources(files, urls, editor, may_write(who))
        except QAError as exc:
            added = render_error(exc)
        return added, status(), None, ""

    def trash_choices() -> Any:
        try:
            entries = trashed(s.corpus)
        except QAError:
            entries = []
        return gr.update(choices=[(f"{(e.get('titles') or [e['file']])[0]} ({e['file']}, removed "
                                   f"{e.get('removed', '')[:16]} by {e.get('who', '?')})", e["file"])
                                  for e in entries], value=None)

    def remove(article_id: str | None, who: str | None) -> tuple[str, str, Any, Any, Any]:
        try:
            if not article_id:
                raise QAError("pick the article to remove first")
            done = render_trashed(editor.remove(may_write(who), [article_id], via="page"))
        except QAError as exc:
            done = render_error(exc)
        return done, status(), article_rows(qa), choices(), trash_choices()

    def bring_back(item: str | None, who: str | None) -> tuple[str, str, Any, Any, Any]:
        try:
            if not item:
                raise QAError("pick a removed article to bring back")
            done = render_trashed(editor.restore(may_write(who), [item], via="page"))
        except QAError as exc:
            done = render_error(exc)
        return done, status(), article_rows(qa), choices(), trash_choices()

    def choices() -> Any:
        rows = article_rows(qa)
        return gr.update(choices=[(f"{r[0]} ({r[1] or 'no date'}, {r[2]})", r[4]) for r in rows])

    def tick(seen: float | None) -> tuple[str, Any, Any, float | None]:
        finished = indexer.state.get("finished")
        if finished == seen:
            return status(), gr.update(), gr.update(), seen
        return status(), article_rows(qa), choices(), finished

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}\nExtractive answers from the news articles, each with the sentence it came "
                    "from. When the articles don't say, the answer is *not found*.")
        status_line = gr.HTML("Loading the corpus…", elem_id="qa-status")
        # this tab's conversation, by id (kept in the tab's sessionStorage, so a reload keeps it and two
        # tabs have two); its turns are kept on the server (``conversations``) and survive a restart
        cid = gr.State("")  # this session's conversation id (gr.State: API clients have one too)
        tab = gr.Textbox("", visible=False, elem_id="qa-conversation-id")  # the same, mirrored for sessionStorage
        seen = gr.State(None)  # when the index update last shown finished
        # who may change the articles from this page: kept on the server, set only by a valid token
        writer = gr.State(tokens.writer(None) if open_writes else None)
        with gr.Tab("Chat"):
            chat = gr.Chatbot(
                label="Conversation", elem_id="qa-chat", height=520, render_markdown=False, sanitize_html=True,
                latex_delimiters=[], allow_tags=False, feedback_options=None, buttons=["copy"],
                placeholder="Ask a question about the articles, or pick an example below.",
            )
            with gr.Row(equal_height=True):
                box = gr.Textbox(show_label=False, placeholder="Ask a question…", scale=8, lines=1, max_lines=4,
                                 autofocus=True, elem_id="qa-question")
                button = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="qa-send")
            with gr.Accordion("Filters: dates and sources", open=False), gr.Row():
                since = gr.Textbox(value="", label="Published since", placeholder="YYYY-MM-DD", elem_id="qa-since")
                until = gr.Textbox(value="", label="Published until", placeholder="YYYY-MM-DD", elem_id="qa-until")
                source = gr.Textbox(value="", label="Source", placeholder="site name or folder", elem_id="qa-source")
            restart = gr.Button("New conversation", variant="secondary", size="sm", elem_id="qa-new")
            examples = gr.Examples([[q] for q in EXAMPLES], inputs=box, label="Example questions")
        with gr.Tab("Articles", elem_id="qa-articles-tab"):
            if tokens.read_only:
                gr.HTML('<div class="qa-meta">This server is read-only: articles are added and removed where '
                        'the corpus folder is written.</div>', elem_id="qa-read-only")
            with gr.Row(visible=tokens.writes_need_token):
                token_box = gr.Textbox(label="Token (to add or remove articles)", type="password", scale=4,
                                       elem_id="qa-token")
                sign_button = gr.Button("Sign in", scale=1, elem_id="qa-sign-in")
            signed = gr.HTML(elem_id="qa-signed")
            with gr.Column(visible=open_writes) as editing:
                with gr.Row():
                    files = gr.File(label="Add files (.txt .md .html .json .jsonl .pdf)", file_count="multiple",
                                    file_types=sorted(UPLOAD_SUFFIXES),
                                    elem_id="qa-upload")
                    urls = gr.Textbox(label="…or web pages to fetch (one URL per line)", lines=4, elem_id="qa-urls")
                add_button = gr.Button("Add to the corpus", variant="primary", elem_id="qa-add")
                added = gr.HTML(elem_id="qa-added")
            table = gr.Dataframe(headers=["title", "date", "source", "sentences", "id"], interactive=False,
                                 label="Articles", elem_id="qa-article-table", wrap=True)
            picked = gr.Dropdown(label="Read an article", choices=[], elem_id="qa-article-pick")
            article_view = gr.HTML(elem_id="qa-article")
            with gr.Column(visible=open_writes) as removing:
                remove_button = gr.Button("Remove this article (it goes to the trash)", variant="stop", size="sm",
                                          elem_id="qa-remove")
                removed_pick = gr.Dropdown(label="Removed articles", choices=[], elem_id="qa-trash-pick")
                restore_button = gr.Button("Restore", size="sm", elem_id="qa-restore")
                trash_result = gr.HTML(elem_id="qa-trash-result")
        ask = {"fn": send, "inputs": [box, chat, cid, since, until, source],
               "outputs": [chat, cid, tab, box, status_line], "concurrency_id": "answer", "show_progress": "minimal"}
        box.submit(**ask, api_name="ask")
        button.click(**ask, api_name=False)
        examples.load_input_event.then(**ask, api_name=False)
        restart.click(forget, inputs=cid, outputs=[chat, cid, tab], api_name="new_conversation")
        chat.clear(forget, inputs=cid, outputs=[chat, cid, tab])  # the chat's own clear button forgets it too
        sign = {"fn": sign_in, "inputs": token_box, "outputs": [writer, signed, editing, token_box], "api_name": False}
        sign_button.click(**sign)
        token_box.submit(**sign)
        for shown in (editing, removing):
            writer.change(lambda who: gr.update(visible=who is not None), inputs=writer, outputs=shown, api_name=False)
        add_button.click(add, inputs=[files, urls, writer], outputs=[added, status_line, files, urls], api_name=False)
        remove_button.click(remove, inputs=[picked, writer], api_name=False,
                            outputs=[trash_result, status_line, table, picked, removed_pick])
        restore_button.click(bring_back, inputs=[removed_pick, writer], api_name=False,
                             outputs=[trash_result, status_line, table, picked, removed_pick])
        picked.change(lambda a, c: render_article(qa, a, cited(c)), inputs=[picked, cid], outputs=article_view,
                      api_name=False)
        gr.Timer(2.0).tick(tick, inputs=seen, outputs=[status_line, table, picked, seen], api_name=False,
                           show_progress="hidden")
        app.load(lambda: (status(), article_rows(qa), choices(), trash_choices()),
                 outputs=[status_line, table, picked, removed_pick])
        app.load(None, js=f"() => window.sessionStorage.getItem('{TAB_KEY}') || ''", outputs=tab,
                 api_name=False).then(restore_chat, inputs=tab, outputs=[chat, cid, tab], api_name=False)
        tab.change(None, inputs=tab, js=f"(c) => {{ window.sessionStorage.setItem('{TAB_KEY}', c || ''); }}",
                   api_name=False)
    return app
