"""The core's only source of time, replaceable in tests."""

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the time source; `None` restores the wall clock."""
    global _now
    _now = source or (lambda: datetime.now(UTC))
