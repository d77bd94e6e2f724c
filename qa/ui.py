"""The chat web UI: ask questions about the articles, read answers with their citations.

    from qa.ui import serve
    serve(corpus="articles/", port=7860)     # http://127.0.0.1:7860

The handlers are plain functions (``render_answer``, ``converse``, ``corpus_status``)
so they are tested without a browser. Each browser session holds its own conversation
(a ``gr.State`` of its earlier answers), so follow-ups ("What did he propose?") are read
with that session's history and two tabs never share one. Everything that comes from the corpus or the
user is HTML-escaped here; the only raw markup is our own. The chat renders messages
as HTML (no Markdown, no LaTeX), so corpus text can't smuggle in links or formatting
either, and Gradio's sanitizer stays on as a second line of defence.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import gradio as gr

from qa.errors import CorpusError, QAError
from qa.schema import Answer, Article, Citation
from qa.sentences import split_text

if TYPE_CHECKING:
    from qa.pipeline import QA

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
    if answer.alternatives:
        others = " · ".join(f"{escape(_clip(c.text))} ({c.score:.2f})" for c in answer.alternatives[:3])
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
    if answer.alternatives:
        closest = answer.alternatives[0]
        where = ""
        if closest.citations:
            where = f" in {_title_html(closest.citations[0], articles.get(closest.citations[0].article_id))}"
        parts.append(
            f'<div class="qa-meta">Closest candidate: “{escape(_clip(closest.text))}”{where} '
            f"(score {closest.score:.2f}, too uncertain to answer)</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_citation(citation: Citation, article: Article | None = None, number: int = 1) -> str:
    """One citation: linked title, the sentence with the answer marked, and the article around it."""
    source = citation.source or (article.source if article else "")
    meta = " · ".join(x for x in (escape(source), f"sentence {citation.sentence_index + 1}") if x)
    sentence, offset = _sentence_in_article(citation, article)
    parts = [
        '<div class="qa-citation">',
        f'<div>[{number}] {_title_html(citation, article)} <span class="qa-meta">{meta}</span></div>',
        f'<div class="qa-sentence">{_marked(sentence, offset, _answer_span(citation, sentence, offset))}'
        "</div>",
    ]
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


def respond(message: str, history: list[dict[str, Any]] | None, qa: QA) -> list[dict[str, Any]]:
    """The chat history with ``message`` and its answer appended, the question read on its own."""
    return converse(message, history, None, qa)[0]


def converse(
    message: str, history: list[dict[str, Any]] | None, turns: list[Answer] | None, qa: QA,
) -> tuple[list[dict[str, Any]], list[Answer]]:
    """The chat history with ``message`` and its answer (or the problem that prevented one) appended,
    and the conversation's answers with this one added (at most ``history_turns`` of them).

    ``turns`` are this session's earlier answers: a follow-up is read with them in view. A question
    that could not be answered (empty, too long) leaves them as they were.
    """
    history = list(history or [])
    turns = list(turns or [])
    if message and message.strip():
        history.append({"role": "user", "content": escape(message.strip())})
    try:
        answer = qa.answer(message, history=turns)
        turns = (turns + [answer])[-max(1, qa.settings.history_turns):]
        reply = render_answer(answer, _articles(qa))
    except QAError as exc:
        reply = render_error(exc)
    except Exception:  # noqa: BLE001 - the page must survive a bug; the log keeps the traceback
        log.exception("answering %r failed", message)
        reply = render_error(RuntimeError("something went wrong while answering: see the server log"))
    history.append({"role": "assistant", "content": reply})
    return history, turns


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


def build_app(qa: QA) -> gr.Blocks:
    """The Gradio app over ``qa``, not yet launched (``serve`` launches it)."""

    def status() -> str:
        return escape(corpus_status(qa))

    def send(message: str, history: list[dict[str, Any]], turns: list[Answer]
             ) -> tuple[list[dict[str, Any]], list[Answer], str, str]:
        history, turns = converse(message, history, turns, qa)
        return history, turns, "", status()

    def forget() -> tuple[list[dict[str, Any]], list[Answer]]:
        return [], []

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}\nExtractive answers from the news articles, each with the sentence it came "
                    "from. When the articles don't say, the answer is *not found*.")
        status_line = gr.HTML("Loading the corpus…", elem_id="qa-status")
        turns = gr.State([])  # this browser session's earlier answers: the conversation
        chat = gr.Chatbot(
            label="Conversation", elem_id="qa-chat", height=520, render_markdown=False, sanitize_html=True,
            latex_delimiters=[], allow_tags=False, feedback_options=None, buttons=["copy"],
            placeholder="Ask a question about the articles, or pick an example below.",
        )
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, placeholder="Ask a question…", scale=8, lines=1, max_lines=4,
                             autofocus=True, elem_id="qa-question")
            button = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="qa-send")
        restart = gr.Button("New conversation", variant="secondary", size="sm", elem_id="qa-new")
        examples = gr.Examples([[q] for q in EXAMPLES], inputs=box, label="Example questions")
        ask = {"fn": send, "inputs": [box, chat, turns], "outputs": [chat, turns, box, status_line],
               "concurrency_id": "answer", "show_progress": "minimal"}
        box.submit(**ask, api_name="ask")
        button.click(**ask, api_name=False)
        examples.load_input_event.then(**ask, api_name=False)
        restart.click(forget, outputs=[chat, turns], api_name="new_conversation")
        chat.clear(lambda: [], outputs=turns)  # the chat's own clear button forgets the conversation too
        app.load(status, outputs=status_line)
    return app


def serve(
    qa: QA | None = None, host: str | None = None, port: int | None = None, *, block: bool = True,
    **settings: Any,
) -> gr.Blocks:
    """Launch the UI; ``settings`` (corpus, index, reader, embedder, ...) build the ``QA`` if none is given.

    ``host``/``port`` default to the settings' (127.0.0.1:7860, or ``QA_HOST``/``QA_PORT``).
    ``block=False`` returns once the server runs (``app.close()`` stops it).
    """
    if qa is None:
        from qa.pipeline import QA

        qa = QA(**settings)
    elif settings:
        raise TypeError(f"serve() got both a QA and settings for one: {', '.join(sorted(settings))}")
    _warm_up(qa)
    app = build_app(qa)
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=host or qa.settings.host, server_port=port or qa.settings.port, share=False,
        inbrowser=False, prevent_thread_lock=not block, css=CSS, theme=THEME,
    )
    return app


def _warm_up(qa: QA) -> None:
    """Index the corpus and load the models before the first visitor waits for them."""
    try:
        qa.index()
    except CorpusError as exc:  # the page shows it too; the corpus may be filled while we run
        log.warning("%s", exc)
    for model in (qa.embedder, qa.reader):
        warm_up = getattr(model, "warm_up", None)
        if callable(warm_up):
            warm_up()
