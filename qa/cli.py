"""The ``qa`` command: index the corpus, ask questions, evaluate, serve the chat UI, train the models.

    qa index
    qa ask "Who offered Russia cooperation?" [--json] [--since 2024-03-01 --source lemonde]
    qa chat                              # a conversation: follow-ups know who "he" is
    qa eval eval/seed_questions.jsonl
    qa add https://example.org/news/story [--feed https://example.org/rss]
    qa feeds add https://example.org/rss  # a subscription: qa watch (or qa serve) polls it
    qa serve                             # the chat page and the JSON API
    qa info                              # the CPU, the backend each model runs on and why, the index
    qa train-reader --train train-v1.1.json --out runs/reader
    qa train-embedder --train train-v1.1.json --out runs/embedder

User errors (``QAError``) are printed on one line with exit status 1, never as a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from qa.errors import QAError

_shared = [
    click.option("--corpus", type=click.Path(path_type=Path), help="Article folder (default seeds/, QA_CORPUS)."),
    click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default index/)."),
    click.option("--embedder", help="sentence-transformers model name or path (default: the packaged 2-layer student, "
                                    "QA_EMBEDDER; all-MiniLM-L6-v2 for its 6-layer teacher)."),
    click.option("--reader", help="Extractive QA model name or path (default: the packaged reader)."),
    click.option("--backend", type=click.Choice(["auto", "fp32", "bf16", "int8", "onnx-fp32"]),
                 help="How the models run: auto (default: the fastest this CPU runs natively, chosen once per "
                      "host), fp32, bf16, int8 or onnx-fp32 (QA_BACKEND)."),
]


_filters = [
    click.option("--since", metavar="DATE", help="Only articles published on or after DATE (YYYY-MM-DD)."),
    click.option("--until", metavar="DATE", help="Only articles published on or before DATE (YYYY-MM-DD)."),
    click.option("--source", metavar="NAME", help="Only articles whose site name contains NAME, or whose file "
                                                  "in the corpus starts with it."),
]


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_filters):
        func = option(func)
    return func


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_shared):
        func = option(func)
    return func


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``QAError`` into ``Error: ...`` on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QAError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def make_qa(corpus: Path | None, index_dir: Path | None, embedder: str | None, reader: str | None,
            **overrides: Any) -> Any:
    from qa.pipeline import QA

    return QA(corpus=corpus, index=index_dir, embedder=embedder, reader=reader, **overrides)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (index builds, model loading).")
@click.version_option(package_name="qa")
def cli(verbose: bool) -> None:
    """Answers to questions over a folder of news articles, with citations."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)  # libraries that set their own loggers to DEBUG stay quiet too
    if not verbose:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bars of transformers
        for noisy in ("faiss.loader", "sentence_transformers", "transformers", "bm25s", "httpx"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


@cli.command("index")
@settings_options
@click.option("--rebuild", is_flag=True, help="Re-embed everything, even unchanged articles.")
@click.option("--optimize", is_flag=True,
              help="Merge the index into one segment, leaving deleted articles out (HNSW if it is large).")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Split and embed new articles on the Ray cluster at ADDRESS ('auto': this machine's "
                   "cluster); needs pip install 'qa[ray]'.")
@user_errors
def index_command(corpus: Path | None, index_dir: Path | None, embedder: str | None, reader: str | None,
                  backend: str | None, rebuild: bool, optimize: bool, ray_address: str | None) -> None:
    """Build or update the sentence index of the corpus (only what changed is read and embedded)."""
    qa = make_qa(corpus, index_dir, embedder, reader, backend=backend)
    encoder = None
    if ray_address:
        from qa.index.distributed import ray_encoder

        encoder = ray_encoder(ray_address)
    began = time.perf_counter()
    index = qa.index(progress=True, rebuild=rebuild, optimize=optimize, encoder=encoder)
    m = index.manifest
    segments = ", ".join(f"{e['rows']:,} {e['dense']}" for e in m["segments"])
    click.echo(f"{m['articles']} articles, {m['sentences']} sentences indexed in {qa.settings.index} "
               f"(embedder {m['embedder']}; segments: {segments}) in {time.perf_counter() - began:.1f} s")
    for skipped in index.skipped:
        click.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)


@cli.command("add")
@click.argument("urls", nargs=-1, metavar="[URLS OR FILES]...")
@click.option("--feed", "feeds", multiple=True, metavar="URL", help="An RSS/Atom feed: add its articles not "
              "added before (repeatable).")
@click.option("--corpus", type=click.Path(path_type=Path), help="Article folder (default seeds/, QA_CORPUS).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default index/).")
@click.option("--allow-private", is_flag=True, help="Also fetch from addresses on private networks (localhost, "
              "10.x, 192.168.x, ...), refused by default.")
@click.option("--no-index", is_flag=True, help="Only store the articles; the index catches up on the next question.")
@user_errors
def add_command(urls: tuple[str, ...], feeds: tuple[str, ...], corpus: Path | None, index_dir: Path | None,
                allow_private: bool, no_index: bool) -> None:
    """Fetch web pages (or PDFs) and feeds into the corpus folder, one JSON article each, and index them;
    files on this disk (.txt, .md, .html, .json, .pdf) are added as uploads, under uploads/.

    Re-adding a URL updates its article; the same text under another URL is not stored twice.
    Exit status 1 when any item failed (the others are added all the same).
    """
    from qa.editing import CorpusEditor
    from qa.settings import Settings
    from qa.sources.add import local_files

    if not urls and not feeds:
        raise click.UsageError("give URLs or files to add, or --feed URL")
    folder = Settings.load(corpus=corpus).corpus
    editor = CorpusEditor(folder, None, allow_private)
    uploads, urls, unread = local_files(urls)
    editor.failed_uploads(_who(), unread, via="cli")
    results = unread + editor.add(_who(), urls=urls, feeds=feeds, uploads=uploads, via="cli") \
        if uploads or urls or feeds else unread
    for r in results:
        if r.ok:
            click.echo(f"{r.status:9} {r.item} -> {r.file}" + (f"  ({r.title})" if r.title else ""))
        else:
            error = r.error or ""
            click.echo(f"failed    {error if error.startswith(r.item) else f'{r.item}: {error}'}", err=True)
    if not no_index and any(r.status in {"added", "updated"} for r in results):
        _update_index(folder, index_dir)
    if not all(r.ok for r in results):
        sys.exit(1)

_feed_options = {
    "corpus": click.option("--corpus", type=click.Path(path_type=Path),
                           help="Article folder (default seeds/, QA_CORPUS)."),
    "index": click.option("--index", "index_dir", type=click.Path(path_type=Path),
                          help="Index folder (default index/)."),
    "allow_private": click.option("--allow-private", is_flag=True, help="Also fetch from addresses on private "
                                  "networks (localhost, 10.x, 192.168.x, ...), refused by default."),
    "no_index": click.option("--no-index", is_flag=True,
                             help="Only store the articles; the index catches up on the next question."),
}


def _corpus_folder(corpus: Path | None) -> Path:
    from qa.settings import Settings

    folder = Settings.load(corpus=corpus).corpus
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _poll_seconds(interval: float | None) -> float:
    from qa.settings import Settings
    from qa.sources.feeds import POLL_SECONDS

    return interval if interval is not None else getattr(Settings.load(), "feed_poll_seconds", POLL_SECONDS)


def _update_index(folder: Path, index_dir: Path | None) -> None:
    """Bring the index up to date after a command changed the corpus, and say what it holds."""
    from qa.errors import CorpusError
    from qa.ingest import corpus_files

    try:
        index = make_qa(folder, index_dir, None, None).index(progress=False)
    except CorpusError:
        if corpus_files(folder):
            raise
        click.echo(f"no articles left in {folder}: nothing is answered until one is added")
        return
    click.echo(f"{len(index.articles)} articles, {len(index.sentences)} sentences indexed")


def _echo_polls(polls: list[Any]) -> None:
    """Each feed's outcome on a line, then the entries it added, updated or failed on."""
    for p in polls:
        if p.ok:
            click.echo(f"{p.status:13} {p.url}" + (f" ({p.new_items} new)" if p.new_items else ""))
        else:
            click.echo(f"failed        {p.error if (p.error or '').startswith(p.url) else f'{p.url}: {p.error}'}",
                       err=True)
        for r in p.results:
            if r.status in {"added", "updated"}:
                click.echo(f"  {r.status:9} {r.item} -> {r.file}" + (f"  ({r.title})" if r.title else ""))
            elif not r.ok:
                click.echo(f"  failed    {r.error if (r.error or '').startswith(r.item) else f'{r.item}: {r.error}'}",
                           err=True)


@cli.group("feeds")
def feeds_group() -> None:
    """Feed subscriptions: RSS/Atom feeds whose new articles come in by themselves (qa watch, qa serve)."""


@feeds_group.command("add")
@click.argument("urls", nargs=-1, required=True)
@_feed_options["corpus"]
@user_errors
def feeds_add_command(urls: tuple[str, ...], corpus: Path | None) -> None:
    """Subscribe to the feeds at URLS (polled by `qa watch` or `qa serve`; `qa feeds poll` polls now)."""
    from qa.editing import CorpusEditor
    from qa.sources.feeds import Subscriptions

    folder = _corpus_folder(corpus)
    editor = CorpusEditor(folder)
    for url in urls:
        before = Subscriptions(folder).get(url)
        feed = editor.subscribe(_who(), url, via="cli")
        click.echo(f"{'subscribed' if before is None else 'already subscribed'} {feed.url}")


@feeds_group.command("list")
@_feed_options["corpus"]
@click.option("--json", "as_json", is_flag=True, help="Print the subscriptions as JSON.")
@user_errors
def feeds_list_command(corpus: Path | None, as_json: bool) -> None:
    """The subscribed feeds: last poll, its outcome, articles it brought, articles in all, and any error."""
    from qa.settings import Settings
    from qa.sources.feeds import Subscriptions

    feeds = Subscriptions(Settings.load(corpus=corpus).corpus).list()
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in feeds], indent=2, ensure_ascii=False))
        return
    if not feeds:
        click.echo("no feed subscriptions (qa feeds add URL)")
        return
    click.echo(f"{'last poll':24}  {'status':13} {'new':>4} {'total':>6}  url")
    for f in feeds:
        click.echo(f"{f.last_poll or 'never':24}  {f.last_status or '-':13} {f.new_items:4} {f.total_added:6}  {f.url}")
        if f.error:
            click.echo(f"{'':53}error: {f.error}" + (f" ({f.failures} in a row)" if f.failures > 1 else ""))


@feeds_group.command("remove")
@click.argument("urls", nargs=-1, required=True)
@_feed_options["corpus"]
@user_errors
def feeds_remove_command(urls: tuple[str, ...], corpus: Path | None) -> None:
    """Unsubscribe from the feeds at URLS; the articles they brought stay."""
    from qa.editing import CorpusEditor
    from qa.settings import Settings

    editor = CorpusEditor(Settings.load(corpus=corpus).corpus)
    for url in urls:
        click.echo(f"unsubscribed {editor.unsubscribe(_who(), url, via='cli').url}")


@feeds_group.command("poll")
@_feed_options["corpus"]
@_feed_options["index"]
@_feed_options["allow_private"]
@_feed_options["no_index"]
@user_errors
def feeds_poll_command(corpus: Path | None, index_dir: Path | None, allow_private: bool, no_index: bool) -> None:
    """Poll every subscribed feed now, due or not, and index what came in.

    Exit status 1 when a feed could not be polled (the others are polled all the same).
    """
    from qa.sources.feeds import Subscriptions, poll

    folder = _corpus_folder(corpus)
    if not Subscriptions(folder).list():
        click.echo("no feed subscriptions (qa feeds add URL)")
        return
    polls = poll(folder, allow_private, force=True, interval=_poll_seconds(None))
    _echo_polls(polls)
    if not no_index and any(p.new_items for p in polls):
        _update_index(folder, index_dir)
    if not all(p.ok for p in polls):
        sys.exit(1)


@cli.command("watch")
@_feed_options["corpus"]
@_feed_options["index"]
@_feed_options["allow_private"]
@_feed_options["no_index"]
@click.option("--interval", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Poll each feed this often (default 900, QA_FEED_POLL_SECONDS); failing feeds less often.")
@click.option("--once", is_flag=True, help="Poll the feeds that are due once, then stop (for cron).")
@user_errors
def watch_command(corpus: Path | None, index_dir: Path | None, allow_private: bool, no_index: bool,
                  interval: float | None, once: bool) -> None:
    """Poll the subscribed feeds whenever they are due and index what comes in; Ctrl-C stops."""
    from qa.sources.feeds import FeedPoller, Subscriptions

    folder = _corpus_folder(corpus)
    seconds = _poll_seconds(interval)
    poller = FeedPoller(folder, on_new=(lambda: None) if no_index else (lambda: _update_index(folder, index_dir)),
                        interval=seconds, allow_private=allow_private, on_round=_echo_polls)
    if once:
        poller.poll_round()
        return
    click.echo(f"watching {len(Subscriptions(folder).list())} feeds of {folder}, each every {seconds:g} s "
               "(Ctrl-C stops)")
    try:
        poller.run()
    except KeyboardInterrupt:
        click.echo("stopped")



def _who() -> str:
    """Who runs a command, for the corpus's audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_trash_results(results: list[Any]) -> None:
    for r in results:
        if r.ok:
            click.echo(f"{r.status:9} {r.file}" + (f"  ({r.title})" if r.title else "") +
                       (f"  [{len(r.articles)} articles]" if len(r.articles) > 1 else ""))
        else:
            click.echo(f"failed    {r.item}: {r.error}", err=True)


@cli.command("remove")
@click.argument("ids", nargs=-1, required=True)
@click.option("--corpus", type=click.Path(path_type=Path), help="Article folder (default seeds/, QA_CORPUS).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default index/).")
@click.option("--no-index", is_flag=True, help="Only move the files; the index catches up on the next question.")
@user_errors
def remove_command(ids: tuple[str, ...], corpus: Path | None, index_dir: Path | None, no_index: bool) -> None:
    """Remove articles (by id, as `qa ask --json` and /api/articles name them, or by corpus file).

    Their files move to the corpus's .trash/ folder (nothing is lost: `qa restore` brings them back), the
    index stops citing them, and the audit log records it. Exit status 1 when any id failed.
    """
    from qa.editing import CorpusEditor
    from qa.settings import Settings

    folder = Settings.load(corpus=corpus).corpus
    results = CorpusEditor(folder).remove(_who(), list(ids), via="cli")
    _print_trash_results(results)
    if not no_index and any(r.ok for r in results):
        _update_index(folder, index_dir)
    if not all(r.ok for r in results):
        sys.exit(1)


@cli.command("restore")
@click.argument("ids", nargs=-1)
@click.option("--list", "listing", is_flag=True, help="List what is in the trash.")
@click.option("--corpus", type=click.Path(path_type=Path), help="Article folder (default seeds/, QA_CORPUS).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default index/).")
@click.option("--no-index", is_flag=True, help="Only move the files back; the index catches up on the next question.")
@user_errors
def restore_command(ids: tuple[str, ...], listing: bool, corpus: Path | None, index_dir: Path | None,
                    no_index: bool) -> None:
    """Bring removed articles back from the trash (by article id or corpus file); --list shows the trash."""
    from qa.editing import CorpusEditor
    from qa.settings import Settings
    from qa.sources.trash import trashed

    folder = Settings.load(corpus=corpus).corpus
    if listing or not ids:
        entries = trashed(folder)
        if not entries:
            click.echo("The trash is empty.")
        for e in entries:
            title = (e.get("titles") or [""])[0]
            click.echo(f"{e['file']}  removed {e.get('removed', '?')} by {e.get('who', '?')}" +
                       (f"  ({title})" if title else ""))
        if not ids:
            return
    results = CorpusEditor(folder).restore(_who(), list(ids), via="cli")
    _print_trash_results(results)
    if not no_index and any(r.ok for r in results):
        _update_index(folder, index_dir)
    if not all(r.ok for r in results):
        sys.exit(1)


@cli.command("info")
@settings_options
@click.option("--rechoose", is_flag=True, help="Time the backends on this host again (the choice is kept per host).")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@user_errors
def info_command(corpus: Path | None, index_dir: Path | None, embedder: str | None, reader: str | None,
                 backend: str | None, rechoose: bool, as_json: bool) -> None:
    """The CPU, the backend each model runs on and why, the models and the index."""
    from qa.backends.choice import forget
    from qa.backends.cpu import detect
    from qa.info import describe, render
    from qa.settings import cache_home

    if rechoose:
        forget(cache_home(), detect())
    found = describe(make_qa(corpus, index_dir, embedder, reader, backend=backend))
    click.echo(json.dumps(found, indent=2, ensure_ascii=False) if as_json else render(found))


@cli.command("ask")
@click.argument("question")
@settings_options
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the full answer as JSON.")
@click.option("--min-score", type=float, help="Abstain below this answer score (default: the reader's).")
@user_errors
def ask_command(question: str, corpus: Path | None, index_dir: Path | None, embedder: str | None,
                reader: str | None, backend: str | None, since: str | None, until: str | None,
                source: str | None, as_json: bool, min_score: float | None) -> None:
    """Answer QUESTION from the articles, with its citations."""
    from qa.filters import Filters

    where = Filters.parse(since, until, source)
    qa = make_qa(corpus, index_dir, embedder, reader, backend=backend)
    answer = qa.answer(question, min_score=min_score, where=where)
    if as_json:
        from qa.verification import answer_json

        click.echo(json.dumps(answer_json(answer), indent=2, ensure_ascii=False))
        return
    print_answer(answer)


def print_answer(answer: Any) -> None:
    """An answer as ``qa ask`` prints it: the text and score, then each citation with its sentence."""
    from qa.text import clip
    from qa.verification import YES_OR_NO, YES_OR_NO_QUOTED, asks_yes_or_no

    polar = asks_yes_or_no(answer.query or answer.question)
    if answer.text is None:
        click.echo("Not found in the articles.")
        if polar:
            click.echo(YES_OR_NO)
            if answer.passages:  # what the articles say nearest to it, for the reader to judge
                top = answer.passages[0]
                click.echo(f"closest passage, in {top.title or top.article_id} ({top.article_id}):")
                click.echo(f"    {clip(' '.join(top.text.split()), 240)}")
        elif answer.alternatives:
            best = answer.alternatives[0]
            click.echo(f"(closest candidate, withheld: {best.text!r}, score {best.score:.2f})")
        return
    if polar:
        click.echo(YES_OR_NO_QUOTED)
    click.echo(f"{answer.text}  (score {answer.score:.2f})")
    for n, c in enumerate(answer.citations, 1):
        origin = ", ".join(x for x in (c.site, c.date, f"updated {c.updated}" if c.updated else None,
                                       f"page {c.page}" if c.page else None) if x)
        click.echo(f"[{n}] {c.title} ({c.article_id}{'; ' + origin if origin else ''}), "
                   f"sentence {c.sentence_index + 1}, chars {c.start}-{c.end}")
        if c.when:
            click.echo(f"    when: {c.when}")
        click.echo(f"    {c.sentence}")


CHAT_HELP = ("Ask about the articles; follow-ups may say he, she, it, there... "
             "/reset starts over, /quit (or Ctrl-D) ends.")


@cli.command("chat")
@settings_options
@filter_options
@click.option("--min-score", type=float, help="Abstain below this answer score (default: the reader's).")
@click.option("--conversation", "conversation_id", metavar="ID",
              help="Keep this conversation with qa serve's (<index>/conversations): it goes on where it "
                   "stopped, in the terminal, the page or /api/chat.")
@user_errors
def chat_command(corpus: Path | None, index_dir: Path | None, embedder: str | None, reader: str | None,
                 backend: str | None, since: str | None, until: str | None, source: str | None,
                 min_score: float | None, conversation_id: str | None) -> None:
    """A conversation in the terminal: each question is read with the earlier ones in view.

    Questions come from the keyboard (with line editing and history) or, piped, one per line.
    """
    from qa.errors import QuestionError
    from qa.filters import Filters

    where = Filters.parse(since, until, source)
    qa = make_qa(corpus, index_dir, embedder, reader, backend=backend)
    # the follow-up stage's verb tables (about 0.3 s) load while the first question is typed and read
    from qa import inflection

    threading.Thread(target=inflection.warm_up, name="follow-up warm-up", daemon=True).start()
    store = None
    if conversation_id is not None:
        from qa.conversation_store import ConversationStore

        store = ConversationStore.for_qa(qa)
        conversation = store.get(conversation_id)
        if len(conversation):
            click.echo(f"(going on with conversation {conversation.id}: {len(conversation)} earlier turns)")
    else:
        conversation = qa.chat()
    interactive = sys.stdin.isatty()
    history_file = _readline_history() if interactive else None
    if interactive:
        click.echo(CHAT_HELP)
    try:
        while True:
            try:
                line = input("? " if interactive else "")
            except EOFError:
                break
            question = line.strip()
            if not question:
                continue
            if question.lower() in {"/quit", "/exit", "/q"}:
                break
            if question.lower() == "/reset":
                conversation.reset()
                if store is not None:
                    store.save(conversation)
                click.echo("(new conversation)")
                continue
            if question.lower() == "/help":
                click.echo(CHAT_HELP)
                continue
            if not interactive:
                click.echo(f"? {question}")
            try:
                answer = conversation.ask(question, min_score=min_score, where=where)
            except QuestionError as exc:
                click.echo(f"Error: {exc}", err=True)
                continue
            if store is not None:
                store.save(conversation)
            if answer.query != answer.question:
                click.echo(f"(interpreted as: {answer.query})")
            print_answer(answer)
            click.echo("")
    except KeyboardInterrupt:
        click.echo("")
    finally:
        if history_file is not None:
            import readline

            with contextlib.suppress(OSError):
                readline.write_history_file(history_file)


def _readline_history() -> str | None:
    """Line editing and a question history kept across sessions (``$XDG_STATE_HOME/qa/chat_history``)."""
    try:
        import readline
    except ImportError:  # not on every platform; chat works without it
        return None
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "qa" / "chat_history"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            readline.read_history_file(path)
    except OSError:
        return None
    readline.set_history_length(1000)
    return str(path)


@cli.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@settings_options
@click.option("--mode", type=click.Choice(["end-to-end", "reader"]), default="end-to-end", show_default=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="Write the full report (with per-question rows) here, and its reliability diagram and "
                   "score histogram as PNG beside it.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--min-score", type=float, help="Abstain below this answer score (default: the reader's).")
@click.option("--hide-half", is_flag=True,
              help="SQuAD file, end to end: leave every other article out of the corpus and ask its "
                   "questions as unanswerable.")
@click.option("--follow-up", "follow_ups", multiple=True, metavar="PARTS",
              help="Conversation file: what follow-ups take from the history, 'all' (default) or a comma list "
                   "of complete, context, focus; repeat for an ablation, one column each.")
@click.option("--no-history", is_flag=True, help="Conversation file: only the run without history.")
@click.option("--conversations", "as_conversations", is_flag=True,
              help="Read a SQuAD-shaped FILE as conversations (each paragraph's qas in order), even without "
                   "CoQA/QuAC's yesno/followup fields.")
@user_errors
def eval_command(file: Path, corpus: Path | None, index_dir: Path | None, embedder: str | None,
                 reader: str | None, backend: str | None, mode: str, out: Path | None, limit: int | None,
                 min_score: float | None, hide_half: bool, follow_ups: tuple[str, ...], no_history: bool,
                 as_conversations: bool) -> None:
    """Score the pipeline on FILE: JSONL questions, SQuAD v1.1/v2.0 JSON, or conversations (JSONL with
    "turns", CoQA/QuAC-style JSON), the latter turn by turn with and without the history
    (--limit then counts conversations)."""
    from qa.evaluation import evaluate, format_report, is_conversation_file, plot_paths

    if as_conversations or is_conversation_file(file):
        from qa.evaluation import evaluate_conversations, format_conversation_report

        if mode != "end-to-end" or hide_half or min_score is not None:
            raise click.UsageError("conversation files are evaluated end to end, without --mode reader, "
                                   "--hide-half or --min-score")
        conv = evaluate_conversations(file, corpus=corpus, index=index_dir, limit=limit, reader=reader,
                                      embedder=embedder, follow_ups=follow_ups or ("all",),
                                      history=not no_history, out=out, backend=backend)
        click.echo(format_conversation_report(conv))
        if out is not None:
            click.echo(f"report: {out}")
        return
    if follow_ups or no_history:
        raise click.UsageError("--follow-up and --no-history apply to conversation files only")
    report = evaluate(file, mode=mode, corpus=corpus, index=index_dir, limit=limit, reader=reader,
                      embedder=embedder, min_score=min_score, out=out, hide_half=hide_half, backend=backend)
    click.echo(format_report(report))
    if out is not None:
        click.echo(f"report: {out}; plots: {', '.join(str(p) for p in plot_paths(out))}")


@cli.command("serve")
@settings_options
@click.option("--host", help="Interface to bind (default 127.0.0.1; another needs --token or --read-only).")
@click.option("--port", type=int, help="Port (default 7860).")
@click.option("--allow-private", is_flag=True, help="Let URLs added through the page or the API be on private "
              "networks (refused by default).")
@click.option("--token", "tokens", multiple=True, metavar="NAME=SECRET",
              help="Who may add and remove articles (repeatable; default QA_API_TOKEN, comma-separated). "
                   "With a token, every write needs one.")
@click.option("--read-only", is_flag=True, default=None, help="Nobody adds or removes articles through this server.")
@click.option("--ray", "ray_address", metavar="ADDRESS", help="Run as a Ray Serve deployment on the cluster at "
              "ADDRESS ('local' starts one here); the corpus and index folders must be shared storage.")
@click.option("--replicas", type=click.IntRange(1, 64), default=2, show_default=True,
              help="With --ray: how many replicas answer.")
@user_errors
def serve_command(corpus: Path | None, index_dir: Path | None, embedder: str | None, reader: str | None,
                  backend: str | None, host: str | None, port: int | None, allow_private: bool,
                  tokens: tuple[str, ...], read_only: bool | None, ray_address: str | None, replicas: int) -> None:
    """Serve the chat page at / and the JSON API at /api (OpenAPI at /docs); the same as `python app.py`.

    Reading is open; adding and removing articles need a token once one is set (--token / QA_API_TOKEN).
    Binding an address other than loopback without a token is refused unless --read-only.
    """
    settings = {"corpus": corpus, "index": index_dir, "embedder": embedder, "reader": reader, "backend": backend}
    if ray_address:
        from qa.serving.replicas import deploy

        deploy(ray_address, replicas, {k: v for k, v in settings.items() if v is not None}, host=host, port=port,
               token=list(tokens) or None, read_only=read_only, allow_private=allow_private)
        return
    from qa.serving import serve

    serve(host=host, port=port, allow_private=allow_private, token=list(tokens) or None, read_only=read_only,
          **settings)


@cli.command("train-reader", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train_reader_command(args: tuple[str, ...]) -> None:
    """Fine-tune the extractive reader on SQuAD (`qa train-reader --help` for options)."""
    from qa.training import main as train_main

    sys.exit(train_main(list(args)))


@cli.command("train-embedder", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train_embedder_command(args: tuple[str, ...]) -> None:
    """Distil the embedder into the fast 2-layer student (`qa train-embedder --help` for options)."""
    from qa.training.embedder import main as distil_main

    sys.exit(distil_main(list(args)))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
