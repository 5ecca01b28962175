"""Core refusals as GraphQL `userErrors`, and Relay ids as core ids."""

import re
from typing import Any

from strawberry.relay import GlobalID

from app.core.errors import CoreError, NotFound
from schema.base import UserError


def camel(path: str) -> str:
    """`items[0].bandwidth_mbps` as `items[0].bandwidthMbps`."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


def _alternatives(details: dict[str, Any]) -> list[str]:
    if "alternates" in details:
        return [str(a["address"]) for a in details["alternates"]]
    if "alternatives_mbps" in details:
        return [f"{mbps} Mbps" for mbps in details["alternatives_mbps"]]
    if "alternatives" in details:
        return [
            f"{a['bandwidth_mbps']} Mbps at {a['monthly_cents'] / 100:.2f} USD a month"
            if "bandwidth_mbps" in a
            else str(a["reason"])
            for a in details["alternatives"]
        ]
    return []


def user_errors(error: CoreError, *, rename: dict[str, str] | None = None) -> list[UserError]:
    """Every refusal in a core error, with input paths in GraphQL's own spelling."""
    rename = rename or {}
    return [
        UserError(
            field=rename.get(e.field, camel(e.field)) if e.field else None,
            code=e.code,
            message=e.message,
            alternatives=_alternatives(e.details),
        )
        for e in error.all()
    ]


def node_id(value: str, type_name: str, *, field: str) -> str:
    """The core id behind a Relay global id of `type_name` (a bare core id is accepted too)."""
    try:
        global_id = GlobalID.from_id(value)
    except Exception:  # not base64 or not 'Type:id': take it as a core id
        return value
    if global_id.type_name != type_name:
        raise NotFound(f"no {type_name.lower()} '{value}'", field=field)
    return global_id.node_id
