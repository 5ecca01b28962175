"""Notifications: `POST /hub` registrations and delivery of core events in the MEF event format."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import events
from app.core.errors import InvalidRequest
from app.core.events import Dispatcher, Event, Subscription
from rest_facades.common.notifications import SECRET_HEADER, WebhookSender, query_event_types
from rest_facades.mef.errors import MEFError, bad_request, mef_json, pointer
from rest_facades.mef.flavours import SELLER_ID, Flavour
from rest_facades.mef.requests import MEFCaller, dump, parse_body

log = logging.getLogger(__name__)

# Turns a core event into (MEF event type, event payload), or None when the API has no such event.
Notification = Callable[[Flavour, Event], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class NotifyingAPI:
    """An API with notifications: its module name, its notification API and its event mapping."""

    api: str
    notification_api: str
    notification: Notification

    def transport(self, flavour: Flavour) -> str:
        """The name under which its subscriptions are delivered."""
        return f"mef:{flavour.name}:{self.api}"


def add_hub_routes(routes: APIRouter, flavour: Flavour, notifying: NotifyingAPI) -> None:
    """`POST /hub`, `GET /hub/{id}` and `DELETE /hub/{id}` for one API of one flavour."""
    models = flavour.models(notifying.api)

    @routes.post("/hub", status_code=201)
    async def register_listener(request: Request, caller: MEFCaller) -> Response:
        """Register a listener for this API's events."""
        # The hub answers no 422: every refusal of its body is an Error400 `invalidBody`.
        try:
            body, _ = await parse_body(request, models.EventSubscriptionInput)
        except MEFError as exc:
            if exc.status != 422:
                raise
            raise bad_request("invalidBody", exc.body[0]["reason"]) from exc
        try:
            subscription = await events.subscribe(
                caller.session,
                principal=caller.principal,
                transport=notifying.transport(flavour),
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
            {**dump(_view(models, subscription)), "secret": subscription.secret},
            status=201,
            headers={SECRET_HEADER: subscription.secret},
        )

    @routes.get("/hub/{id}")
    async def get_listener(id: str, caller: MEFCaller) -> Response:
        """A listener registration."""
        subscription = await events.get_subscription(
            caller.session, principal=caller.principal, subscription_id=id
        )
        if subscription.transport != notifying.transport(flavour):
            raise MEFError(404, {"code": "notFound", "reason": f"no listener '{id}'"})
        return mef_json(dump(_view(models, subscription)))

    @routes.delete("/hub/{id}", status_code=204)
    async def unregister_listener(id: str, caller: MEFCaller) -> Response:
        """Remove a listener registration."""
        subscription = await events.get_subscription(
            caller.session, principal=caller.principal, subscription_id=id
        )
        if subscription.transport != notifying.transport(flavour):
            raise MEFError(404, {"code": "notFound", "reason": f"no listener '{id}'"})
        await events.unsubscribe(caller.session, principal=caller.principal, subscription_id=id)
        return Response(status_code=204)


def _view(models: Any, subscription: Subscription) -> Any:
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
        url = f"{subscription.callback.rstrip('/')}{base}/listener/{event_type}"
        await sender.post(
            subscription, event.id, url, event_body(flavour, event, event_type, payload)
        )

    dispatcher.add_transport(notifying.transport(flavour), send, matches)
