"""What the hubs of the standards share: listener queries and delivery over HTTP."""

from typing import Any

import httpx

DELIVERY_TIMEOUT_SECONDS = 10.0


def query_event_types(query: str | None) -> set[str] | None:
    """The event types a listener's `query` asks for (`eventType=a,b`); None means all."""
    if not query:
        return None
    for clause in query.split("&"):
        name, _, value = clause.partition("=")
        if name.strip() == "eventType" and value:
            return {v.strip() for v in value.split(",") if v.strip()}
    return None


async def deliver(url: str, body: Any) -> None:
    """POST one event; anything but a 2xx raises, so that the dispatcher retries with backoff."""
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
        response = await client.post(url, json=body)
    response.raise_for_status()
