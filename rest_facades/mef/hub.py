"""Notifications: `POST /hub` registrations and delivery of core events in the MEF event format."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from app.core import events
from app.core.errors import InvalidRequest
from app.core.events import Dispatcher, Event, Subscription
from rest_facades.common.notifications import SECRET_HEADER, WebhookSender, query_event_types
from rest_facades.mef.errors import MEFError, bad_request, mef_json, pointer
from rest_facades.mef.flavours import SELLER_ID, Flavour

# Every API's generated module has the same subscription models (see flavours.py).
from rest_facades.mef.generated.sonata import product_order as models
from rest_facades.mef.requests import Caller, FlavourDep, MEFCaller, dump, route_path
from rest_facades.mef.routing import NoUnprocessableRoute, mef_router

log = logging.getLogger(__name__)

# Turns a core event into (MEF event type, event payload), or None when the API has no such event.
Notification = Callable[[Flavour, Event], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class NotifyingAPI:
    """An API with notifications: its module name, its notification API and its event mapping."""

    api: str
    notification_api: str
    notification: Notification
    # The listener path of an event type that the official file names otherwise, e.g. W142's
    # `productOfferingStateChangeEvent`, posted to `listener/productOfferingStatusChangeEvent`.
    listener_paths: Mapping[str, str] = field(default_factory=dict)

    def transport(self, flavour: Flavour) -> str:
        """The name under which its subscriptions are delivered."""
        return transport(flavour, self.api)


def transport(flavour: Flavour, api: str) -> str:
    """The name under which the subscriptions to one API of one flavour are delivered."""
    return f"mef:{flavour.name}:{api}"


async def mounted_api(request: Request, flavour: FlavourDep) -> str:
    """The API whose base path the requested hub lies under."""
    return flavour.api_at(route_path(request))


MountedAPI = Annotated[str, Depends(mounted_api)]
# Included by every API with notifications, under its base path.
routes = mef_router(NoUnprocessableRoute)


@routes.post(
    "/hub",
    status_code=201,
    response_model=models.EventSubscription,
)
async def register_listener(
    body: models.EventSubscriptionInput,
    caller: MEFCaller,
    flavour: FlavourDep,
    api: MountedAPI,
    request: Request,
) -> Response:
    """Register a listener for this API's events."""
    try:
        subscription = await events.subscribe(
            caller.session,
            principal=caller.principal,
            transport=transport(flavour, api),
            callback=body.callback,
            query=body.query,
            buyer_party_id=caller.buyer_id,
            allow_private=request.app.state.settings.webhook_allow_private,
        )
    except InvalidRequest as exc:
        if exc.field != "callback":
            raise
        refusal = bad_request("invalidBody", exc.message)
        refusal.body["propertyPath"] = pointer(["callback"])
        raise refusal from exc
    # The signing secret is shown this once: in the body (the schema allows more
    # properties) and in a header, for clients that keep only the schema's fields.
    return mef_json(
        {**dump(_view(subscription)), "secret": subscription.secret},
        status=201,
        headers={SECRET_HEADER: subscription.secret},
    )


async def _listener(caller: Caller, flavour: Flavour, api: str, id: str) -> Subscription:
    subscription = await events.get_subscription(
        caller.session, principal=caller.principal, subscription_id=id
    )
    if subscription.transport != transport(flavour, api):
        raise MEFError(404, {"code": "notFound", "reason": f"no listener '{id}'"})
    return subscription


@routes.get("/hub/{id}", response_model=models.EventSubscription)
async def get_listener(
    id: str, caller: MEFCaller, flavour: FlavourDep, api: MountedAPI
) -> Response:
    """A listener registration."""
    return mef_json(dump(_view(await _listener(caller, flavour, api, id))))


@routes.delete("/hub/{id}", status_code=204, response_class=Response)
async def unregister_listener(
    id: str, caller: MEFCaller, flavour: FlavourDep, api: MountedAPI
) -> Response:
    """Remove a listener registration."""
    await _listener(caller, flavour, api, id)
    await events.unsubscribe(caller.session, principal=caller.principal, subscription_id=id)
    return Response(status_code=204)


def _view(subscription: Subscription) -> models.EventSubscription:
    return models.EventSubscription(
        id=subscription.id, callback=subscription.callback, query=subscription.query
    )


def event_body(flavour: Flavour, event: Event, event_type: str, payload: dict[str, Any]) -> Any:
    """The MEF envelope of one event."""
    return {
        "eventId": event.id,
        "eventTime": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "eventType": event_type,
        "event": {"sellerId": SELLER_ID, **payload},
    }


def register_transports(
    dispatcher: Dispatcher, flavour: Flavour, notifying: NotifyingAPI, sender: WebhookSender
) -> None:
    """Teach the dispatcher to deliver this API's events to its listeners over HTTP."""
    base = flavour.document(notifying.notification_api)["basePath"].rstrip("/")

    def matches(subscription: Subscription, event: Event) -> bool:
        found = notifying.notification(flavour, event)
        wanted = query_event_types(subscription.query)
        return found is not None and (wanted is None or found[0] in wanted)

    async def send(subscription: Subscription, event: Event) -> None:
        found = notifying.notification(flavour, event)
        if found is None:
            return
        event_type, payload = found
        listener = notifying.listener_paths.get(event_type, event_type)
        url = f"{subscription.callback.rstrip('/')}{base}/listener/{listener}"
        await sender.post(
            subscription, event.id, url, event_body(flavour, event, event_type, payload)
        )

    dispatcher.add_transport(notifying.transport(flavour), send, matches)
