"""Settings in one place: documented defaults, overridden by ``QA_*`` environment
variables, overridden in turn by explicit arguments (the CLI's flags).

    Settings.load(top_passages=3)   # QA_CORPUS=articles/ in the environment also applies
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from qa.backends import DEFAULT_BACKEND

DEFAULT_EMBEDDER = "qa-embedder-minilm-l2"  # the 2-layer student of all-MiniLM-L6-v2 (qa.embedding)
DEFAULT_READER = "qa-reader-minilm"


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("seeds")  # folder of articles, searched recursively
    index: Path = Path("index")  # where the built index lives
    embedder: str = DEFAULT_EMBEDDER  # sentence-transformers name or path
    reader: str = DEFAULT_READER  # extractive QA model name or path
    backend: str = DEFAULT_BACKEND  # both models: auto (chosen per host), fp32, bf16, int8, onnx-fp32 (qa.backends)
    hits: int = 30  # sentences retrieved per retriever before fusion
    top_passages: int = 10  # passages handed to the reader (read best first, stopping early: Answerer.read)
    article_weight: float = 0.0  # weight of the ranking by how much of each sentence's article matched
    title_weight: float = 0.5  # weight of the rankings within articles the question names by title or site
    window: int = 1  # neighbouring sentences added on each side of a hit
    min_score: float | None = None  # answer score below which we abstain; None: the reader's own
    min_score_follow_up: float | None = None  # the same for follow-ups read with history; None: the reader's
    early_exit: float = 0.4  # a retrieved question's other passages go unread when its top one's answer scores this
    closer_look: float = 0.4  # a question's answer scoring below this has its top passages re-read closer; 0: never
    max_question_chars: int = 1000
    max_answer_tokens: int = 30
    reader_tokens: int = 384  # tokens per reader window (question + passage); longer passages are read in windows
    reader_stride: int = 128  # tokens shared by consecutive windows of one passage
    history_turns: int = 8  # earlier turns a conversation keeps and a follow-up is read with
    follow_up: str = "all"  # what follow-ups take from the history: all, none, or some of complete,context,focus
    follow_up_passages: int = 2  # passages read for a follow-up read with the history (its focus found them)
    conversations: str = ""  # where qa serve keeps conversations: a folder, "" for <index>/conversations, "none"
    max_conversations: int = 1000  # conversations kept; the least recently used go first
    conversation_days: float = 7.0  # a conversation untouched this long is forgotten
    ann_min_rows: int = 200_000  # index segments of at least this many sentences get HNSW instead of exact search
    rescan_seconds: float = 2.0  # a question re-checks the corpus folder for changes at most this often
    host: str = "127.0.0.1"
    port: int = 7860
    # serving a team (qa.serving): tokens that may write ("name=secret,..."; a bare secret is named "editor")
    api_token: str = ""
    read_only: bool = False  # no writes through the page or the API at all
    max_concurrent: int = 0  # model calls at once; 0: sized to the machine (qa.serving.gate)
    max_waiting: int = 0  # requests waiting for a model call before the next gets 429; 0: 8 per model call
    request_seconds: float = 30.0  # a question waits and runs at most this long, else 503 with Retry-After
    feed_poll_seconds: float = 900.0  # how often qa serve and qa watch poll subscribed feeds

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults, then ``QA_<FIELD>`` environment variables, then non-None ``overrides``."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get("QA_" + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, getattr(cls(), f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("corpus", "index"):
            if key in values:
                values[key] = Path(values[key])
        return replace(cls(), **values)


def cache_home() -> Path:
    """Where qa keeps what it derives for this user: int8 exports of the models, the backend chosen per
    host, evaluation corpora. ``QA_CACHE``, else ``$XDG_CACHE_HOME/qa`` (``~/.cache/qa``)."""
    explicit = os.environ.get("QA_CACHE", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


def _parse(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes"}
    if isinstance(default, int):
        return int(raw)
    if default is None or isinstance(default, float):
        return float(raw)
    return raw
