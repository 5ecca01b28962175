"""Routers that a request outside their path prefix passes at the cost of one comparison."""

from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class PrefixRouter(APIRouter):
    """An `APIRouter` whose routes all lie below `path_prefix`.

    FastAPI finds a request's route by comparing its path with every route of every included
    router in turn, a few microseconds each: with both MEF flavours' dozen APIs included, a
    Cantata read was compared with every Sonata route first, and everything mounted after
    them with every MEF route. Included below a prefix, the whole group is passed over by
    one comparison of the path's start. FastAPI also builds an included router's routes on
    the first request compared with them: a process's first request builds only its own
    API's, not those of every API mounted before it (all of MEF's, about a second, before
    a first TMF request).

    Nothing of the application is captured here: routes read `request.app.state` (the
    database too) on every request, and the application's dependency overrides apply."""

    def __init__(self, *, path_prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path_prefix = path_prefix

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in {"http", "websocket"} and not get_route_path(scope).startswith(
            self.path_prefix
        ):
            return Match.NONE, {}
        return super().matches(scope)
