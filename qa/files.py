"""Writing files so that a reader sees the old content or the new, whole, never half of either; and
reading a data file (plain or ``.xz``) with errors that name it."""

from __future__ import annotations

import lzma
import os
import threading
from pathlib import Path

from qa.errors import QAError


def fsync_path(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename: readers see old or new, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # two threads never share one
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")
    fsync_path(tmp)
    os.replace(tmp, path)


def read_text(path: Path, what: str, hint: str) -> str:
    """The text of a data file, ``.xz``-compressed or not (a byte-order mark dropped); ``QAError``
    naming ``what`` and the file when it is missing (with ``hint``: what to give instead) or unreadable."""
    try:
        if path.name.endswith(".xz"):
            with lzma.open(path, "rt", encoding="utf-8-sig") as f:
                return f.read()
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QAError(f"{what} {path} does not exist: {hint}") from None
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {what} {path}: {exc}") from None
