"""The one place that tells the time (UTC, aware). Tests may freeze it."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Freeze the clock at `at` (aware), or unfreeze with None. For tests only."""
    global _frozen
    _frozen = at
