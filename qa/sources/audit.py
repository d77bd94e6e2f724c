"""Who changed the corpus, what and when: an append-only log, ``.qa-audit.jsonl`` in the corpus folder
(hidden, so the corpus reader skips it), one JSON object per line:

    {"time": "2026-12-03T09:14:02+0000", "who": "alice", "action": "remove", "via": "api",
     "items": ["web/example-org/story-1a2b3c4d5e.json"], "results": ["removed"]}

Lines are appended with ``O_APPEND`` in one write each (whole lines, even from several processes)
and flushed to disk before the change is reported done. Nothing here rewrites or truncates it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

AUDIT = ".qa-audit.jsonl"


def record(corpus: str | Path, who: str, action: str, items: Iterable[str], results: Iterable[Any] = (),
           via: str = "", **details: Any) -> dict[str, Any]:
    """Append one line: ``who`` did ``action`` (add, upload, feed, remove, restore, subscribe, ...) to
    ``items``; ``results``: each item's outcome (objects with ``status``/``error`` or strings)."""
    outcomes = []
    for r in results:
        status = getattr(r, "status", r)
        error = getattr(r, "error", None)
        outcomes.append(f"{status}: {error}" if error else str(status))
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "who": who, "action": action, "via": via or None,
            "items": [str(i) for i in items], "results": outcomes or None, **details}
    data = (json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False) + "\n").encode()
    corpus = Path(corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    fd = os.open(corpus / AUDIT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return line


def read(corpus: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The log's lines, oldest first (the last ``limit``); a damaged line is skipped."""
    try:
        lines = (Path(corpus) / AUDIT).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines[-limit:] if limit else lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
