"""What became of one item a user gave (a URL, a feed entry, an upload, an id to remove): a result of
its own, so one failure is reported beside the successes instead of stopping them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ItemResult:
    """The fields every item's result starts with; ``AddResult`` and ``TrashResult`` add theirs after."""

    item: str  # what the user gave: a URL, an uploaded file's name, an article id or a corpus file
    status: str  # what became of it, "failed" when nothing did
    file: str | None = None  # the corpus file it concerns, relative to the corpus folder

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
