"""The one error family of the core; each face renders it in its own standard."""

from typing import Any


class CoreError(Exception):
    """A refused request: a stable `code`, a human message and the offending field."""

    code = "INVALID_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.details = details or {}
        # Further refusals found in the same request, so that a caller can fix them all at once.
        self.related: list[CoreError] = []

    def all(self) -> list["CoreError"]:
        """This refusal and the related ones."""
        return [self, *self.related]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, field={self.field!r}, {self.message!r})"


class InvalidRequest(CoreError):
    """The request breaks a rule of the core (a value out of range, a missing field)."""

    code = "INVALID_REQUEST"


class NotFound(CoreError):
    """No such object, or one the caller may not see: the two are indistinguishable."""

    code = "NOT_FOUND"


class IllegalTransition(CoreError):
    """The object's state does not allow the requested change."""

    code = "ILLEGAL_TRANSITION"


class Conflict(CoreError):
    """A concurrent change won, or an idempotency key was reused with other content."""

    code = "CONFLICT"


class NotAuthorized(CoreError):
    """The caller's audience or scopes do not allow this operation."""

    code = "NOT_AUTHORIZED"


class Unauthenticated(CoreError):
    """No valid API key was presented."""

    code = "UNAUTHENTICATED"
