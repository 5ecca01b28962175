"""Our listener for partner carriers' Sonata notifications. A notification counts only when it
is signed (Standard Webhooks) with the secret the partner's hub gave us when we registered; it
then only prompts us to read the partner's order again, so a repeated one changes nothing."""

import json

from fastapi import APIRouter, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError

from app.core import partners
from app.deps import SessionDep
from rest_facades.mef.errors import mef_json

LISTENER_PATH = "/mefApi/partnerListener"
routes = APIRouter()


def _refused(status: int, code: str, reason: str) -> Response:
    return mef_json({"code": code, "reason": reason}, status)


@routes.post("/{partner_id}/{listener:path}", status_code=204, response_class=Response)
async def partner_notification(
    partner_id: str, listener: str, session: SessionDep, request: Request
) -> Response:
    """Take a partner's order notification (any Sonata listener path under the callback)."""
    secret = await partners.listener_secret(session, partner_id)
    if secret is None:
        # An unknown partner, or one whose hub gave us no secret: nothing can be verified.
        return _refused(401, "missingCredentials", "no signed notifications are expected here")
    payload = await request.body()
    if not request.headers.get("webhook-signature"):
        return _refused(401, "missingCredentials", "the notification is not signed")
    try:
        Webhook(secret).verify(payload, dict(request.headers), json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:
        # A wrong or malformed signature, or a stale timestamp (a replay): refused alike.
        return _refused(401, "invalidCredentials", f"the signature does not verify: {exc}")
    try:
        body = json.loads(payload)
    except ValueError:
        return _refused(400, "invalidBody", "the body is not JSON")
    event = body.get("event") if isinstance(body, dict) else None
    order_id = event.get("id") if isinstance(event, dict) else None
    if not isinstance(order_id, str) or not order_id:
        return _refused(400, "invalidBody", "the notification names no order (event.id)")
    if await partners.notice(session, partner_id=partner_id, partner_order_id=order_id):
        worker = getattr(request.app.state, "partner_worker", None)
        if worker is not None:
            worker.wake.set()
    return Response(status_code=204)
