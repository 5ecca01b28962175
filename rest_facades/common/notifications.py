"""What the hubs of the standards share: listener queries, registration refusals, and signed
delivery over HTTP to addresses checked after DNS resolution."""

import asyncio
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import httpx
from standardwebhooks import Webhook

from app.core.events import Subscription
from app.core.webhooks import IPAddress, refusal

log = logging.getLogger(__name__)

# The header that carries a new listener's signing secret, besides the body.
SECRET_HEADER = "Webhook-Secret"
# host, port -> the addresses the host resolves to
Resolver = Callable[[str, int], Awaitable[list[str]]]


def query_event_types(query: str | None) -> set[str] | None:
    """The event types a listener's `query` asks for (`eventType=a,b`); None means all."""
    if not query:
        return None
    for clause in query.split("&"):
        name, _, value = clause.partition("=")
        if name.strip() == "eventType" and value:
            return {v.strip() for v in value.split(",") if v.strip()}
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, through the system resolver."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class RefusedDestination(Exception):
    """The callback's host resolves to an address that webhooks may not reach."""


class DeliveryFailed(Exception):
    """A listener could not be reached or did not answer 2xx; the message names its host only."""


class PinnedTransport(httpx.AsyncBaseTransport):
    """Resolves the request's host, refuses it unless every address may be called, and connects
    to a checked address while the Host header and TLS (SNI, certificate) keep the name: a name
    that resolves differently on a second lookup (DNS rebinding) cannot redirect the request."""

    def __init__(self, *, allow_private: bool, resolver: Resolver, verify: ssl.SSLContext):
        self.allow_private = allow_private
        self.resolver = resolver
        self.inner = httpx.AsyncHTTPTransport(verify=verify, retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses: list[IPAddress] = [
                ipaddress.ip_address(a.partition("%")[0]) for a in await self.resolver(host, port)
            ]
        except (OSError, ValueError) as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from None
        if not addresses:
            raise httpx.ConnectError(f"{host} resolves to no address", request=request)
        if not self.allow_private:
            for address in addresses:
                reason = refusal(address)
                if reason is not None:
                    raise RefusedDestination(f"{host} resolves to a {reason} address")
        request.url = request.url.copy_with(host=str(addresses[0]))
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class WebhookSender:
    """POSTs events to listeners, signed with Standard Webhooks headers (`webhook-id`,
    `webhook-timestamp`, `webhook-signature`); redirects are not followed."""

    def __init__(
        self, *, timeout: float, allow_private: bool, resolver: Resolver = resolve
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.resolver = resolver

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        # Loading the CA bundle is costly: once per sender, not once per delivery.
        return httpx.create_ssl_context()

    def signed(
        self, subscription: Subscription, event_id: str, body: Any
    ) -> tuple[bytes, dict[str, str]]:
        """The exact bytes to send and the headers that sign them."""
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        # Real time, not the platform's clock: receivers check it against theirs.
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(subscription.secret).sign(event_id, now, payload),
        }
        return payload.encode(), headers

    async def post(self, subscription: Subscription, event_id: str, url: str, body: Any) -> None:
        """Deliver one event; anything but a 2xx raises, so that the dispatcher retries it."""
        content, headers = self.signed(subscription, event_id, body)
        # The URL may carry a receiver's secrets in its query: messages name the host only.
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise DeliveryFailed("the callback is not a valid URL") from None
        host, query = parsed.host, parsed.query.decode()
        transport = PinnedTransport(
            allow_private=self.allow_private, resolver=self.resolver, verify=self._tls
        )
        try:
            async with httpx.AsyncClient(
                transport=transport, timeout=self.timeout, follow_redirects=False
            ) as client:
                response = await client.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            detail = str(exc).replace(url, host)
            if query:
                detail = detail.replace(query, "...")
            raise DeliveryFailed(f"{type(exc).__name__} at {host}: {detail}") from None
        if response.is_redirect:
            raise DeliveryFailed(
                f"{host} answered {response.status_code}; redirects are not followed"
            )
        if not response.is_success:
            raise DeliveryFailed(f"{host} answered {response.status_code}")
        log.debug("delivered %s to subscription %s at %s", event_id, subscription.id, host)
