"""Request-scoped dependencies shared by the REST faces and the GraphQL context."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import idempotency
from app.core.db import Database
from app.core.errors import Unauthenticated
from app.core.parties import Principal, authenticate
from app.settings import Settings


def get_database(request: Request) -> Database:
    """The application's database."""
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """A session for one request; whatever it leaves uncommitted is rolled back."""
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def bearer_token(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer <key>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def get_principal(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The caller, from its API key; refuses requests without a valid one."""
    return await authenticate(session, bearer_token(authorization))


async def get_optional_principal(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Principal | None:
    """The caller if it sent a key; `None` for anonymous requests."""
    token = bearer_token(authorization)
    if token is None:
        return None
    try:
        return await authenticate(session, token)
    except Unauthenticated:
        return None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def idempotency_limits(settings: Settings) -> idempotency.Limits:
    """How long idempotency keys keep their answers and retries wait, as configured."""
    return idempotency.Limits(
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        wait=timedelta(seconds=settings.idempotency_wait_seconds),
    )
