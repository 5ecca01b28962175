"""Our listener for partner carriers' Sonata notifications: a notice only prompts us to read
the partner's order again, so a forged or repeated notice changes nothing by itself."""

from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import partners
from app.deps import SessionDep

LISTENER_PATH = "/mefApi/partnerListener"
routes = APIRouter()


@routes.post("/{partner_id}/{listener:path}", status_code=204, response_class=Response)
async def partner_notification(
    partner_id: str, listener: str, body: dict[str, Any], session: SessionDep, request: Request
) -> Response:
    """Take a partner's order notification (any Sonata listener path under the callback)."""
    event = body.get("event")
    order_id = event.get("id") if isinstance(event, dict) else None
    if isinstance(order_id, str) and order_id:
        if await partners.notice(session, partner_id=partner_id, partner_order_id=order_id):
            worker = getattr(request.app.state, "partner_worker", None)
            if worker is not None:
                worker.wake.set()
    return Response(status_code=204)
