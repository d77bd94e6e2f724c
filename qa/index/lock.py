"""One writer at a time: an exclusive lock on ``<index>/.lock`` (``filelock``, an OS-level lock that a
killed process releases with it). Readers never lock: segments are immutable and the pointer swap
is atomic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.errors import IndexBusyError

LOCK = ".lock"
WAIT_SECONDS = 600.0


@contextmanager
def write_lock(folder: Path, timeout: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the index's write lock, waiting up to ``timeout`` seconds for another writer to finish."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise IndexBusyError(
            f"another process has been writing the index at {folder} for over {timeout:.0f} s; "
            "wait for it to finish (or stop it), then try again"
        ) from None
    try:
        yield
    finally:
        lock.release()
