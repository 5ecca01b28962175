"""The `/graphql` endpoint: HTTP POST, GraphiQL in development, graphql-transport-ws."""

import json
from typing import Any

import orjson
from cross_web import HTTPException
from fastapi import Request, WebSocket
from fastapi.responses import JSONResponse, Response
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app.deps import bearer_token
from app.settings import Settings
from resolvers.context import GraphQLContext, get_context
from schema.root import schema


class NativeGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    """Authenticates WebSocket connections from their `connection_init` payload, and refuses
    malformed HTTP requests with a GraphQL error body rather than plain text."""

    # The IDE's page, when the application gives one (its assets are served by the application).
    ide_html: str | None = None

    @property
    def graphql_ide_html(self) -> str:
        return self.ide_html or super().graphql_ide_html

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        # As strawberry's, with the answer encoded by orjson: the same JSON as the stock
        # `json.dumps` (non-ASCII as UTF-8 rather than escaped, which a parser reads the same)
        # at a fraction of the CPU for a big answer. WebSocket messages keep the stock encoder:
        # bytes would go out as binary frames, which graphql-transport-ws clients refuse.
        try:
            body = orjson.dumps(response_data)
        except TypeError:  # a value orjson refuses, such as an integer past 64 bits
            body = json.dumps(response_data, separators=(",", ":")).encode()
        response = Response(
            body, media_type="application/json", status_code=sub_response.status_code or 200
        )
        response.headers.raw.extend(sub_response.headers.raw)
        return response

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        # A batch (a list) or a bare value is not one operation: refused before anything reads it.
        if not isinstance(parsed, dict):
            raise HTTPException(
                400, 'the body must be one JSON object such as {"query": "{ viewer { id } }"}'
            )
        return parsed

    async def run(
        self,
        request: Request | WebSocket,
        context: Any = UNSET,
        root_value: Any = UNSET,
    ) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            refusal: Response = JSONResponse(
                {"errors": [{"message": exc.reason}]}, status_code=exc.status_code
            )
            return refusal

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        key = bearer_token(str(raw)) if raw else params.get("apiKey")
        if key:
            await context.authenticate(str(key))
            if context.principal is None:
                raise ConnectionRejectionError(
                    {"code": context.auth_code, "message": context.auth_error}
                )
        # The connection may stay open for hours: it must not hold a database connection.
        await context.session.rollback()
        return await super().on_ws_connect(context)


def graphql_router(settings: Settings, *, ide_html: str | None = None) -> NativeGraphQLRouter:
    """The router to mount at `/graphql`; `ide_html` is the GraphiQL page to serve."""
    router = NativeGraphQLRouter(
        schema,
        # FastAPI takes an async-generator dependency; strawberry's annotation omits that form.
        context_getter=get_context,  # type: ignore[arg-type]
        # The application's page when it gives one; else strawberry's GraphiQL outside production.
        graphql_ide="graphiql" if ide_html or settings.environment != "production" else None,
        allow_queries_via_get=False,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
    )
    router.ide_html = ide_html
    return router
