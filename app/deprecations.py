"""Every deprecated REST operation and GraphQL field, with its successor and its dates.

One registry drives it all: the `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers of
deprecated REST operations, the reasons of deprecated GraphQL fields, the `deprecated` flag in
the served OpenAPI documents, and the portal's list. docs/versioning.md gives the policy.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum

from starlette.datastructures import MutableHeaders
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The portal's page of the versioning and deprecation policy (docs/versioning.md), which
# deprecated responses link to as RFC 9745 asks.
POLICY_PATH = "/portal/versioning"


class Surface(StrEnum):
    """Where a deprecated thing lives."""

    REST = "rest"
    GRAPHQL = "graphql"


@dataclass(frozen=True)
class Deprecation:
    """One deprecated REST operation (`GET /tmf-api/.../{id}`) or GraphQL field (`Type.field`)."""

    surface: Surface
    target: str
    successor: str
    # When the deprecation was announced; it answers as `Deprecation: @<epoch seconds>`.
    announced: datetime
    # When it stops being served; it answers as `Sunset: <HTTP date>`.
    sunset: datetime | None = None

    @property
    def reason(self) -> str:
        """What a client should do instead, and by when."""
        until = f" It is removed after {self.sunset:%Y-%m-%d}." if self.sunset else ""
        return f"Use `{self.successor}` instead.{until}"

    @property
    def headers(self) -> dict[str, str]:
        """The response headers that announce it."""
        found = {
            "Deprecation": f"@{int(self.announced.timestamp())}",
            "Link": f'<{POLICY_PATH}>; rel="deprecation"; type="text/html"',
        }
        if self.sunset is not None:
            found["Sunset"] = format_datetime(self.sunset.astimezone(UTC), usegmt=True)
        return found

    @property
    def operation(self) -> tuple[str, str]:
        """The method and path template of a REST operation."""
        method, _, path = self.target.partition(" ")
        return method.upper(), path


DEPRECATIONS: tuple[Deprecation, ...] = (
    Deprecation(
        Surface.GRAPHQL,
        "Event.entity",
        successor="Event.entityKind",
        announced=datetime(2026, 11, 30, tzinfo=UTC),
        sunset=datetime(2027, 6, 1, tzinfo=UTC),
    ),
)


def listed(registry: Iterable[Deprecation] = DEPRECATIONS) -> list[Deprecation]:
    """Every deprecation, the soonest sunset first, for the portal."""
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(registry, key=lambda d: (d.sunset or never, d.surface, d.target))


def graphql_reason(target: str, registry: Iterable[Deprecation] = DEPRECATIONS) -> str:
    """The deprecation reason of the GraphQL field `Type.field`, from the registry."""
    for deprecation in registry:
        if deprecation.surface is Surface.GRAPHQL and deprecation.target == target:
            return deprecation.reason
    raise LookupError(f"{target} is not in the registry of deprecations")


class DeprecationHeaders:
    """ASGI middleware: the responses of deprecated REST operations carry `Deprecation` and
    `Sunset`, whatever their status."""

    def __init__(self, app: ASGIApp, registry: Iterable[Deprecation] = DEPRECATIONS) -> None:
        self.app = app
        self.rules: list[tuple[str, re.Pattern[str], Deprecation]] = [
            (method, compile_path(path)[0], deprecation)
            for deprecation in registry
            if deprecation.surface is Surface.REST
            for method, path in [deprecation.operation]
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        deprecation = self._match(scope) if scope["type"] == "http" else None
        if deprecation is None:
            await self.app(scope, receive, send)
            return

        async def announcing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in deprecation.headers.items():
                    # A response may link elsewhere already; links add up.
                    if name == "Link":
                        headers.append(name, value)
                    else:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, announcing)

    def _match(self, scope: Scope) -> Deprecation | None:
        # A HEAD request asks for what its GET would answer.
        asked = "GET" if scope["method"] == "HEAD" else scope["method"]
        for method, pattern, deprecation in self.rules:
            if asked == method and pattern.match(scope["path"]):
                return deprecation
        return None
