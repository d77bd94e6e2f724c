"""Which articles a question may be answered from: published since / until a date, from a source.

    Filters.parse(since="2024-03-01", source="lemonde")      # ``qa ask --since 2024-03-01 --source lemonde``

``source`` matches an article whose site name contains it (case-insensitive: "monde" finds
"Le Monde") or whose file in the corpus folder starts with it ("web/example-org/"). With a date
bound, an article without a known date is left out: nothing shows it is in the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from qa.dates import parse_date
from qa.errors import QuestionError


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    source: str | None = None

    @classmethod
    def parse(cls, since: Any = None, until: Any = None, source: Any = None) -> Filters | None:
        """Filters from user input (strings or dates); None when none is set. ``QuestionError`` if unreadable."""
        bounds = []
        for name, value in (("since", since), ("until", until)):
            if value is None or value == "":
                bounds.append(None)
                continue
            found = value if isinstance(value, date) else parse_date(str(value))
            if found is None:
                raise QuestionError(f"{name}={value!r} is not a date: use YYYY-MM-DD, such as 2024-03-25")
            bounds.append(found)
        if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
            raise QuestionError(f"since ({bounds[0]}) is after until ({bounds[1]}): no article can match")
        if source is not None and not isinstance(source, str):
            raise QuestionError(f"source must be a string, not {type(source).__name__}")
        needle = (source or "").strip() or None
        if bounds == [None, None] and needle is None:
            return None
        return cls(bounds[0], bounds[1], needle)

    def matches(self, published: str | None, site: str | None, source: str) -> bool:
        """Whether an article of this date (YYYY-MM-DD), site name and corpus file passes."""
        if self.since or self.until:
            day = parse_date(published)
            if day is None or (self.since and day < self.since) or (self.until and day > self.until):
                return False
        if self.source:
            needle = self.source.lower()
            if needle not in (site or "").lower() and not source.lower().startswith(needle):
                return False
        return True

    def to_dict(self) -> dict[str, str | None]:
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "source": self.source}
