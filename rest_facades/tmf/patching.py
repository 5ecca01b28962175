"""What a TMF merge patch of a resource may carry besides the buyer's own attributes: the
seller's attributes, repeated as the resource has them (a client often sends back what it read)."""

from collections.abc import Iterable
from typing import Any

from rest_facades.common.values import parse_date_time
from rest_facades.tmf.errors import TMFError


def same_value(sent: Any, current: Any) -> bool:
    """Whether a value a client sends is the one the resource has: objects by the keys sent,
    arrays element by element, date-times by the instant they name."""
    if isinstance(sent, dict) and isinstance(current, dict):
        return all(same_value(v, current.get(k)) for k, v in sent.items())
    if isinstance(sent, list) and isinstance(current, list):
        return len(sent) == len(current) and all(map(same_value, sent, current))
    if isinstance(sent, str) and isinstance(current, str) and sent != current:
        try:
            return parse_date_time(sent) == parse_date_time(current)
        except ValueError:
            return False
    return bool(sent == current)


def refuse_sellers_changes(
    patch: dict[str, Any], merged: dict[str, Any], current: dict[str, Any], buyers: Iterable[str]
) -> None:
    """A TMF 400 (`NOT_PATCHABLE`) for the first attribute outside `buyers` that the patch
    would change."""
    allowed = set(buyers)
    for name in patch:
        if name not in allowed and not same_value(merged.get(name), current.get(name)):
            raise TMFError(400, "NOT_PATCHABLE", f"{name} is set by the seller")
