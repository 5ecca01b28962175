"""Request-scoped dependencies shared by the REST faces and the GraphQL context."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection

from app.core import idempotency
from app.core.db import Database
from app.core.errors import Unauthenticated
from app.core.parties import Principal, authenticate
from app.settings import Settings


async def get_database(request: Request) -> Database:
    """The application's database."""
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request; whatever it leaves uncommitted is rolled back."""
    # The database straight from the app's state, not through `DatabaseDep`: one dependency
    # fewer to solve on every request that reads or writes.
    database: Database = request.app.state.database
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
# The `Authorization: Bearer <key>` that the callers send, declared so that the OpenAPI
# document shows it as the operations' security (it refuses nothing itself).
API_KEY = HTTPBearer(
    scheme_name="apiKey",
    description="An API key of the caller's party: `Authorization: Bearer <key>`.",
    auto_error=False,
)
KeyDep = Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY)]


def public_base_url(connection: HTTPConnection) -> str:
    """The base of absolute URLs (`href`, `Location`) in an answer; never an untrusted `Host`."""
    settings = connection.app.state.settings
    # The scheme straight from the scope: `connection.url` would build the whole URL first.
    scheme: str = connection.scope.get("scheme", "http")
    base: str = settings.base_url_for(scheme, connection.headers.get("host"))
    return base + str(connection.scope.get("root_path", "")).rstrip("/")


def bearer_token(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def client_address(connection: HTTPConnection) -> str:
    """The address a request came from (the proxy's, unless uvicorn trusts its headers)."""
    return connection.client.host if connection.client else "unknown"


def note_failed_authentication(connection: HTTPConnection) -> None:
    """Count a refused API key against the address that sent it (see `app.ratelimit`)."""
    limiter = getattr(connection.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.note_failure(client_address(connection))


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return (credentials.credentials.strip() or None) if credentials else None


async def get_principal(request: Request, session: SessionDep, credentials: KeyDep) -> Principal:
    """The caller, from its API key; refuses requests without a valid one."""
    token = _token(credentials)
    try:
        return await authenticate(session, token)
    except Unauthenticated:
        if token is not None:
            note_failed_authentication(request)
        raise


async def get_optional_principal(
    request: Request, session: SessionDep, credentials: KeyDep
) -> Principal | None:
    """The caller if it sent a key; `None` for anonymous requests."""
    token = _token(credentials)
    if token is None:
        return None
    try:
        return await authenticate(session, token)
    except Unauthenticated:
        note_failed_authentication(request)
        return None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def idempotency_limits(settings: Settings) -> idempotency.Limits:
    """How long idempotency keys keep their answers and retries wait, as configured."""
    return idempotency.Limits(
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        wait=timedelta(seconds=settings.idempotency_wait_seconds),
    )
