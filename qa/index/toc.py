"""The index folder's table of contents: which segments are live, and which of their articles are deleted.

Layout::

    index/
      CURRENT              name of the live table of contents, replaced atomically
      toc-000042.json      a generation: embedder, corpus files, live segments and their deletions
      seg-<id>/            an immutable segment (``qa.index.segment``), shared by generations
      .lock                taken by writers (``qa.index.lock``)

A writer writes new segments and a new table of contents beside the old ones, fsyncs them, then
swaps ``CURRENT`` with ``os.replace``: until that instant the previous generation serves, whole.
Segment files are never rewritten; a deletion is a tombstone (an article id) in the table of
contents. Files no recent generation names are removed afterwards (``collect_garbage``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from qa.errors import CorruptIndexError
from qa.files import fsync_path, write_atomic

FORMAT_VERSION = 3  # 3: segments' article tables carry date and site, for filters
CURRENT = "CURRENT"
KEEP_GENERATIONS = 2  # a reader that just read the previous pointer still finds every file it names
_TOC = re.compile(r"toc-(\d+)\.json$")


def index_exists(folder: str | Path) -> bool:
    return (Path(folder) / CURRENT).exists()


def read_current(folder: Path) -> dict[str, Any]:
    """The live table of contents; ``CorruptIndexError`` says what is wrong with it."""
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
        if name.startswith("gen-"):  # format 1: one folder per generation
            raise CorruptIndexError(f"index at {folder} has format 1, this qa reads {FORMAT_VERSION}: "
                                    "run `qa index` to rebuild it")
        toc = json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorruptIndexError(f"index at {folder} is incomplete ({exc.filename} is missing)") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"index at {folder} is unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(toc, dict) or toc.get("format_version") != FORMAT_VERSION:
        found = toc.get("format_version") if isinstance(toc, dict) else None
        raise CorruptIndexError(f"index at {folder} has format {found}, this qa reads {FORMAT_VERSION}: "
                                "run `qa index` to rebuild it")
    if not isinstance(toc.get("segments"), list):
        raise CorruptIndexError(f"index at {folder} is unreadable (its table of contents lists no segments)")
    toc["generation"] = int(_TOC.match(name).group(1)) if _TOC.match(name) else 0
    return toc


def generations(folder: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _TOC.match(p.name)))


def publish(folder: Path, toc: dict[str, Any]) -> int:
    """Write ``toc`` as the next generation and make it current in one atomic step; its number."""
    folder.mkdir(parents=True, exist_ok=True)
    number = max(generations(folder), default=0) + 1
    name = f"toc-{number:06d}.json"
    body = {k: v for k, v in toc.items() if k != "generation"}
    write_atomic(folder / name, json.dumps(body, indent=1, ensure_ascii=False) + "\n")
    write_atomic(folder / CURRENT, name + "\n")
    fsync_path(folder)
    return number


def collect_garbage(folder: Path) -> None:
    """Remove tables of contents and segments that none of the last ``KEEP_GENERATIONS`` names, the
    leftovers of interrupted writes, and the generations of the previous format. Writers only."""
    numbers = generations(folder)
    keep_tocs = {f"toc-{n:06d}.json" for n in numbers[-KEEP_GENERATIONS:]}
    live: set[str] = set()
    for name in keep_tocs:
        try:
            live.update(s["name"] for s in json.loads((folder / name).read_text(encoding="utf-8"))["segments"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    current = (folder / CURRENT).read_text(encoding="utf-8").strip() if (folder / CURRENT).exists() else ""
    for path in folder.iterdir():
        name = path.name
        stale = (
            (_TOC.match(name) and name not in keep_tocs and name != current)
            or (name.startswith("seg-") and name not in live)
            or name.startswith((".seg-", ".toc-", f".{CURRENT}", "gen-", ".gen-"))
        )
        if stale:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
