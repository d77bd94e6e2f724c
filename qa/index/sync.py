"""What changed in the corpus folder since the index was written: files added, changed or removed,
told apart by size and modification time, so an update reads only the files that changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest import corpus_files


def file_signatures(root: Path) -> dict[str, list[int]]:
    """Size and mtime of every article file: a cheap test of whether the corpus changed."""
    signatures = {}
    for path in corpus_files(root):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed while listing
            continue
        signatures[path.relative_to(root).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return signatures


@dataclass(frozen=True)
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def to_read(self) -> list[str]:
        return self.added + self.changed

    @property
    def files(self) -> set[str]:
        """Every file whose articles may differ from the index's."""
        return {*self.added, *self.changed, *self.removed}


def diff(indexed: dict[str, list[int]], now: dict[str, list[int]]) -> Changes:
    """The files of ``now`` that ``indexed`` lacks or records otherwise, and those gone from ``now``."""
    return Changes(
        added=sorted(set(now) - set(indexed)),
        changed=sorted(f for f in now if f in indexed and list(indexed[f]) != list(now[f])),
        removed=sorted(set(indexed) - set(now)),
    )


def skipped_file(path: str) -> str:
    """The corpus file a ``Skipped`` entry is about ("feed.jsonl line 3" -> "feed.jsonl")."""
    return path.split(" line ", 1)[0]
