"""Paging of REST lists: `offset`/`limit` in, `X-Total-Count`/`X-Result-Count` out."""

from dataclasses import dataclass

from fastapi import Response

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Window:
    """Which rows of a list the caller asked for."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT


def set_count_headers(response: Response, *, total: int, returned: int) -> None:
    """The headers that tell a client how many rows match and how many came back."""
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Result-Count"] = str(returned)
