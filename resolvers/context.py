"""The GraphQL context: the request's session, caller and loaders."""

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import Depends
from graphql import GraphQLError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from app.core.db import Database
from app.core.errors import NotAuthorized, Unauthenticated
from app.core.events import Dispatcher
from app.core.parties import Channel, Principal, authenticate
from app.deps import bearer_token, note_failed_authentication
from app.ratelimit import spend_more
from app.settings import Settings
from resolvers.live import LiveEvents
from resolvers.loaders import Loaders


class GraphQLContext(BaseContext):
    """What every resolver can reach; one per HTTP request or WebSocket connection."""

    def __init__(
        self,
        *,
        connection: HTTPConnection,
        database: Database,
        session: AsyncSession,
        settings: Settings,
        dispatcher: Dispatcher,
        live: LiveEvents,
        principal: Principal | None,
        auth_error: str | None,
    ) -> None:
        super().__init__()
        self.connection = connection
        self.database = database
        self.session = session
        self.settings = settings
        self.dispatcher = dispatcher
        self.live = live
        self.principal = principal
        self.auth_error = auth_error
        # UNAUTHENTICATED for a missing or bad key; NOT_AUTHORIZED for a key of another face.
        self.auth_code = "UNAUTHENTICATED"
        self._loaders: Loaders | None = None
        self.connection_params: dict[str, Any] | None = None
        self._answering = asyncio.Lock()

    def release(self) -> None:
        """Let go of what the request read (its loaders' rows and views) as it ends: graphql-core's
        execution keeps a reference cycle to the context, so only the garbage collector would
        free them otherwise, in pauses that grow with the requests in flight."""
        self._loaders = None

    @property
    def loaders(self) -> Loaders:
        """The loaders of the current caller, made when first asked for (a request that
        authenticates makes them once, for its caller)."""
        if self._loaders is None:
            self._loaders = Loaders(self.session, self.principal)
        return self._loaders

    async def authenticate(self, key: str | None) -> None:
        """Set the caller from a key (WebSocket connections send it in `connection_init`)."""
        try:
            principal = await authenticate(self.session, key)
        except Unauthenticated as exc:
            if key:
                note_failed_authentication(self.connection)
            self.principal, self.auth_error, self.auth_code = None, exc.message, exc.code
            self._loaders = None
            return
        try:
            principal.require_channel(Channel.GRAPHQL)
            self.principal, self.auth_error = principal, None
        except NotAuthorized as exc:
            self.principal, self.auth_error, self.auth_code = None, exc.message, exc.code
        self._loaders = None

    @contextlib.asynccontextmanager
    async def fresh(self) -> AsyncIterator[None]:
        """Fresh reads for one subscription answer, held until the answer has been sent."""
        # Every operation of a WebSocket connection shares this context and its session, which
        # two operations must not use at once: answers on one connection take turns.
        async with self._answering:
            await self.session.rollback()  # forget what earlier answers read
            self._loaders = None
            try:
                yield
            finally:
                # A subscription may wait for hours: it must not hold a database connection.
                await self.session.rollback()

    def caller(self) -> Principal:
        """The authenticated caller, or a GraphQL error that says how to authenticate."""
        if self.principal is None:
            raise GraphQLError(
                self.auth_error or "send an API key as 'Authorization: Bearer <key>'",
                extensions={"code": self.auth_code},
            )
        return self.principal

    def ops(self) -> Principal:
        """The caller, who must be operations staff."""
        principal = self.caller()
        if not principal.is_ops:
            raise GraphQLError(
                "only operations staff may read or change this",
                extensions={"code": "NOT_AUTHORIZED"},
            )
        return principal


Info = StrawberryInfo[GraphQLContext, None]


class RefuseRefusedKeys(SchemaExtension):
    """Refuses every operation of a request whose API key was refused, before anything runs:
    a caller that sends a key means to act as its holder, and is never served as anonymous."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            isinstance(context, GraphQLContext)
            and context.auth_error is not None
            and execution.pre_execution_errors is None
        ):
            refusal = GraphQLError(context.auth_error, extensions={"code": context.auth_code})
            execution.pre_execution_errors = [refusal]
        yield


def spend_query_cost(context: GraphQLContext, cost: int) -> GraphQLError | None:
    """Charge an operation's cost to the caller's budget: one unit per started
    `graphql_cost_unit` of cost, of which the request itself has already paid one."""
    units = math.ceil(cost / max(context.settings.graphql_cost_unit, 1))
    wait = spend_more(context.connection, units - 1)
    if wait is None:
        return None
    if context.response is not None:
        context.response.status_code = 429
        context.response.headers["Retry-After"] = str(wait)
    return GraphQLError(
        f"this operation costs {units} units of the rate limit, more than are left; "
        f"retry in {wait} s",
        extensions={"code": "RATE_LIMITED", "retryAfter": wait},
    )


async def get_context(connection: HTTPConnection) -> AsyncIterator[GraphQLContext]:
    """A context with its own session, closed when the request (or connection) ends."""
    # Not `DatabaseDep`: it asks for a `Request`, which FastAPI cannot give a WebSocket.
    database: Database = connection.app.state.database
    async with database.session() as session:
        context = GraphQLContext(
            connection=connection,
            database=database,
            session=session,
            settings=connection.app.state.settings,
            dispatcher=connection.app.state.dispatcher,
            live=connection.app.state.live,
            principal=None,
            auth_error=None,
        )
        token = bearer_token(connection.headers.get("authorization"))
        if token is not None:
            await context.authenticate(token)
        try:
            yield context
        finally:
            context.release()


ContextDep = Annotated[GraphQLContext, Depends(get_context)]
