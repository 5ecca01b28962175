"""TMF630 notifications: `POST /hub`, `DELETE /hub/{id}`, and delivery of core events to
`{callback}/listener/<resource><Create|AttributeValueChange|StateChange|Delete>Event`."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from app.core import events
from app.core.errors import CoreError
from app.core.events import Dispatcher, Event, EventKind, Subscription
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.notifications import SECRET_HEADER, WebhookSender, query_event_types
from rest_facades.tmf.common import iso
from rest_facades.tmf.errors import TMFError, tmf_json

# Every TMF API declares the same hub bodies; one API's models serve them all.
from rest_facades.tmf.generated.product_ordering import EventSubscription, EventSubscriptionInput

# The TMF resource (e.g. `productOrder`) a core event is about, and that resource as the event
# carries it; None when the API has nothing to say about the event.
Describe = Callable[[Event], tuple[str, dict[str, Any]] | None]
_SUFFIX = {
    EventKind.CREATED: "CreateEvent",
    EventKind.ATTRIBUTE_CHANGED: "AttributeValueChangeEvent",
    EventKind.STATE_CHANGED: "StateChangeEvent",
    EventKind.DELETED: "DeleteEvent",
}


@dataclass(frozen=True)
class NotifyingAPI:
    """A TMF API with notifications: its name and how it describes core events."""

    name: str
    describe: Describe
    # Event names an API spells its own way, e.g. TMF621's `...StatusChangeEvent`.
    suffixes: dict[EventKind, str] | None = None

    def event_type(self, resource: str, event: Event) -> str:
        """`productOrderStateChangeEvent` and the like."""
        return f"{resource}{(self.suffixes or _SUFFIX).get(event.kind, _SUFFIX[event.kind])}"

    @property
    def transport(self) -> str:
        """The name under which its listeners are delivered to."""
        return f"tmf:{self.name}"


# The notifying API of each router that serves hub routes, by the router's base path.
_BY_BASE: dict[str, NotifyingAPI] = {}


async def notifying_api(request: Request) -> NotifyingAPI:
    """The API whose hub a request calls (injected into the shared hub handlers)."""
    path: str = request.scope["route"].path
    return _BY_BASE[path[: path.rindex("/hub")]]


NotifyingDep = Annotated[NotifyingAPI, Depends(notifying_api)]


async def register_listener(
    body: EventSubscriptionInput,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    notifying: NotifyingDep,
) -> Response:
    """Register a listener for this API's events."""
    try:
        subscription = await events.subscribe(
            session,
            principal=principal,
            transport=notifying.transport,
            callback=body.callback,
            query=body.query,
            allow_private=request.app.state.settings.webhook_allow_private,
        )
    except CoreError as exc:
        raise TMFError(400, "INVALID_VALUE", exc.message) from exc
    answer = {"id": subscription.id, "callback": subscription.callback}
    if subscription.query:
        answer["query"] = subscription.query
    # The signing secret is shown this once: in the body (the schema allows more properties)
    # and in a header, for clients that keep only the schema's fields.
    answer["secret"] = subscription.secret
    return tmf_json(answer, status=201, headers={SECRET_HEADER: subscription.secret})


async def unregister_listener(
    id: str, session: SessionDep, principal: CurrentPrincipal, notifying: NotifyingDep
) -> Response:
    """Remove a listener."""
    subscription = await events.get_subscription(session, principal=principal, subscription_id=id)
    if subscription.transport != notifying.transport:
        raise TMFError(404, "NOT_FOUND", f"no listener '{id}'")
    await events.unsubscribe(session, principal=principal, subscription_id=id)
    return Response(status_code=204)


def add_hub_routes(routes: APIRouter, notifying: NotifyingAPI) -> None:
    """`POST /hub` and `DELETE /hub/{id}` for one API."""
    _BY_BASE[routes.prefix] = notifying
    routes.add_api_route(
        "/hub",
        register_listener,
        methods=["POST"],
        status_code=201,
        response_model=EventSubscription,
    )
    routes.add_api_route("/hub/{id}", unregister_listener, methods=["DELETE"], status_code=204)


def register_transport(
    dispatcher: Dispatcher, notifying: NotifyingAPI, sender: WebhookSender
) -> None:
    """Teach the dispatcher to deliver this API's events to its listeners over HTTP."""

    def matches(subscription: Subscription, event: Event) -> bool:
        described = notifying.describe(event)
        wanted = query_event_types(subscription.query)
        return described is not None and (
            wanted is None or notifying.event_type(described[0], event) in wanted
        )

    async def send(subscription: Subscription, event: Event) -> None:
        described = notifying.describe(event)
        if described is None:
            return
        resource, payload = described
        name = notifying.event_type(resource, event)
        body = {
            "eventId": event.id,
            "eventTime": iso(event.occurred_at),
            "eventType": name,
            "event": {resource: payload},
        }
        url = f"{subscription.callback.rstrip('/')}/listener/{name}"
        await sender.post(subscription, event.id, url, body)

    dispatcher.add_transport(notifying.transport, send, matches)
