"""The core's partner port over a partner carrier's MEF LSO Sonata API (Grace): quotes, POQs,
product orders and hub registrations, with timeouts, retries and one circuit breaker per
partner."""

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from app.admission import waiting_elsewhere
from app.core.catalog import ProductKind
from app.core.partners import (
    AccessRequest,
    ListenerRegistration,
    PartnerAccess,
    PartnerAuth,
    PartnerHealth,
    PartnerOrderStatus,
    PartnerOrderView,
    PartnerPrice,
    PartnerQualification,
    PartnerRefused,
    PartnerUnavailable,
)
from rest_facades.common.notifications import SECRET_HEADER
from rest_facades.mef.generated.sonata import product_offering_qualification as poq_models
from rest_facades.mef.generated.sonata import product_order as order_models
from rest_facades.mef.generated.sonata import quote as quote_models
from rest_facades.mef.products import SONATA_TYPES

log = logging.getLogger(__name__)

QUOTE_PATH = "/mefApi/sonata/quoteManagement/v8"
POQ_PATH = "/mefApi/sonata/productOfferingQualification/v7"
ORDER_PATH = "/mefApi/sonata/productOrderingManagement/v10"
# The id of the one item of our quotes and orders, by which the partner's quote names it.
QUOTE_ITEM_ID = "1"
# We buy a UNI (an operator Ethernet port) at the off-net place.
ACCESS_TYPE = SONATA_TYPES[ProductKind.ETHERNET_PORT]
ACCESS_OFFERING = "ethernet-port"
CONTACT = {
    "role": "buyerContactInformation",
    "name": "Lumen partner desk",
    "emailAddress": "partners@lumen.example",
    "number": "+1 555 0100",
}
_DONE = {"completed": PartnerOrderStatus.COMPLETED}
_REFUSED = {
    "rejected": PartnerOrderStatus.REJECTED,
    "failed": PartnerOrderStatus.REJECTED,
    "partial": PartnerOrderStatus.REJECTED,
    "cancelled": PartnerOrderStatus.CANCELLED,
}
_QUOTE_REFUSED = {"unableToProvide", "rejected", "abandoned"}


class _Retryable(Exception):
    """A failure worth another try: a timeout, a dropped connection, a 5xx or a 429."""


class _Unsent(_Retryable):
    """A failure before the request reached the partner: safe to retry even an order."""


@dataclass
class _Stats:
    calls: int = 0
    failures: int = 0
    total_ms: float = 0.0


def _cents(amount: Any) -> int:
    return round(float(amount) * 100) if amount is not None else 0


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    # MEF answers one error object, or (422) a list of them.
    errors = body if isinstance(body, list) else [body]
    reasons = [
        str(e.get("reason") or e.get("message"))
        for e in errors
        if isinstance(e, dict) and (e.get("reason") or e.get("message"))
    ]
    return ("; ".join(reasons) or f"HTTP {response.status_code}")[:500]


class SonataPartnerClient:
    """Implements `app.core.partners.PartnerGateway` over Sonata; every call is bounded by a
    timeout, retried with exponential backoff and jitter, and refused at once while the
    partner's breaker is open."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        breaker_threshold: int = 5,
        breaker_reset_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds), transport=transport, follow_redirects=False
        )
        self._attempts = attempts
        self._backoff = backoff_seconds
        # Refusals are answers, not failures: they do not open a breaker.
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold,
            default_ttl=breaker_reset_seconds,
            exclude=[PartnerRefused],
        )
        self._stats: dict[str, _Stats] = {}
        self._breaker_state: dict[str, str] = {}
        self._tokens: dict[str, tuple[str, float]] = {}

    async def close(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    def health(self, partner_id: str) -> PartnerHealth:
        """Calls, failures, mean latency and breaker state seen by this process."""
        stats = self._stats.get(partner_id, _Stats())
        return PartnerHealth(
            calls=stats.calls,
            failures=stats.failures,
            mean_latency_ms=round(stats.total_ms / stats.calls, 1) if stats.calls else None,
            breaker=self._breaker_state.get(partner_id, "closed"),
        )

    async def _headers(self, partner: PartnerAccess) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if partner.auth is PartnerAuth.API_KEY:
            headers["Authorization"] = f"Bearer {partner.api_key}"
            return headers
        token, expires = self._tokens.get(partner.partner_id, ("", 0.0))
        if not token or expires <= time.monotonic():
            assert partner.oauth_token_url is not None
            response = await self._http.post(
                partner.oauth_token_url,
                data={"grant_type": "client_credentials"},
                auth=(partner.oauth_client_id or "", partner.oauth_client_secret or ""),
            )
            if response.status_code >= 400:
                raise PartnerUnavailable(f"{partner.name} refused our client credentials")
            body = response.json()
            token = str(body["access_token"])
            self._tokens[partner.partner_id] = (
                token,
                time.monotonic() + float(body.get("expires_in", 300)) - 30,
            )
        headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _once(
        self, partner: PartnerAccess, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, url, headers=await self._headers(partner), **kwargs
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Unsent(f"{partner.name} could not be reached ({type(exc).__name__})") from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{partner.name} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"{partner.name} could not be reached ({type(exc).__name__})") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _Retryable(f"{partner.name} answered {response.status_code}")
        return response

    async def _call(
        self,
        partner: PartnerAccess,
        method: str,
        path: str,
        *,
        repeatable: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request through the partner's breaker, retried; 2xx answers only. A request
        that is not `repeatable` (it creates something) is retried only when it was never
        sent: after a lost answer, the caller looks for what it made before asking again."""
        url = partner.base_url.rstrip("/") + path
        if partner.buyer_id:
            kwargs["params"] = {**kwargs.get("params", {}), "buyerId": partner.buyer_id}
        stats = self._stats.setdefault(partner.partner_id, _Stats())
        breaker = await self._breakers.get_breaker(partner.partner_id)
        started = time.perf_counter()
        try:
            async with breaker:
                # The partner's answer may take seconds: the request's place serves another.
                async with waiting_elsewhere():
                    response = await self._retrying(partner, method, url, repeatable, **kwargs)
                if response.status_code in (401, 403):
                    raise PartnerUnavailable(f"{partner.name} refused our credentials")
                if response.status_code >= 400:
                    raise PartnerRefused(_reason(response))
        except OpenedState as exc:
            self._breaker_state[partner.partner_id] = breaker.context.state
            raise PartnerUnavailable(f"{partner.name} is failing; calls are paused") from exc
        except PartnerUnavailable:
            stats.calls += 1
            stats.failures += 1
            self._breaker_state[partner.partner_id] = breaker.context.state
            raise
        finally:
            stats.total_ms += (time.perf_counter() - started) * 1000
        stats.calls += 1
        self._breaker_state[partner.partner_id] = breaker.context.state
        return response

    async def _retrying(
        self, partner: PartnerAccess, method: str, url: str, repeatable: bool, **kwargs: Any
    ) -> httpx.Response:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential_jitter(
                    multiplier=self._backoff, max=self._backoff * 10, jitter=self._backoff
                ),
                retry=retry_if_exception_type(_Retryable if repeatable else _Unsent),
                reraise=True,
            ):
                with attempt:
                    return await self._once(partner, method, url, **kwargs)
        except _Retryable as exc:
            log.warning("partner %s unavailable: %s", partner.name, exc)
            raise PartnerUnavailable(str(exc)) from exc
        raise AssertionError("tenacity either returns or raises")  # pragma: no cover

    @staticmethod
    def _body(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
        """A request body checked against the generated Sonata model, sent as built (the
        model does not carry the product configuration's own attributes)."""
        model.model_validate(values)
        return values

    @staticmethod
    def _product(request: AccessRequest) -> dict[str, Any]:
        location = request.location
        return {
            "productOffering": {"id": ACCESS_OFFERING},
            "productConfiguration": {
                "@type": ACCESS_TYPE,
                "ingressBandwidthProfile": [
                    {"cir": {"irValue": request.bandwidth_mbps, "irUnits": "MBPS"}}
                ],
            },
            "place": [
                {
                    "@type": "FieldedAddress",
                    "role": "INSTALL_LOCATION",
                    "streetNr": location.street_number,
                    "streetName": location.street_name,
                    "city": location.city,
                    "stateOrProvince": location.state,
                    "postcode": location.postcode,
                    "country": location.country,
                }
            ],
        }

    @staticmethod
    def _term(request: AccessRequest) -> dict[str, Any]:
        return {
            "name": f"{request.term_months} months",
            "duration": {"amount": request.term_months, "units": "calendarMonths"},
            "endOfTermAction": "autoRenew",
        }

    @staticmethod
    def _parsed(model: type[BaseModel], response: httpx.Response, partner: PartnerAccess) -> Any:
        try:
            return model.model_validate(response.json())
        except (ValidationError, ValueError) as exc:
            raise PartnerUnavailable(f"{partner.name} answered in a form we do not read") from exc

    async def quote(self, partner: PartnerAccess, request: AccessRequest) -> PartnerPrice:
        """A firm, instant quote of an access."""
        body = self._body(
            quote_models.QuoteCreate,
            {
                "buyerRequestedQuoteLevel": "firm",
                "instantSyncQuote": True,
                "relatedContactInformation": [CONTACT],
                "quoteItem": [
                    {
                        "id": QUOTE_ITEM_ID,
                        "action": "add",
                        "product": self._product(request),
                        "requestedQuoteItemTerm": self._term(request),
                    }
                ],
            },
        )
        response = await self._call(partner, "POST", f"{QUOTE_PATH}/quote", json=body)
        quote = self._parsed(quote_models.Quote, response, partner)
        item = quote.quoteItem[0]
        if str(item.state.value) in _QUOTE_REFUSED:
            raise PartnerRefused(f"{partner.name} cannot deliver access at {request.location.line}")
        monthly = one_time = 0
        for charge in item.model_dump(mode="json").get("quoteItemPrice") or []:
            amount = (charge.get("price") or {}).get("dutyFreeAmount", {}).get("value")
            if charge.get("priceType") == "recurring":
                monthly += _cents(amount)
            else:
                one_time += _cents(amount)
        valid_for = quote.validFor
        return PartnerPrice(
            monthly_cents=monthly,
            one_time_cents=one_time,
            quote_id=quote.id,
            valid_until=valid_for.endDateTime if valid_for else None,
        )

    async def price(self, partner: PartnerAccess, request: AccessRequest) -> PartnerPrice | None:
        """Availability and price of an access: None where the partner cannot deliver it."""
        try:
            return await self.quote(partner, request)
        except PartnerRefused:
            return None

    async def qualify(self, partner: PartnerAccess, request: AccessRequest) -> PartnerQualification:
        """An instant POQ of an access: qualified unless the partner's confidence is red."""
        body = self._body(
            poq_models.ProductOfferingQualificationCreate,
            {
                "instantSyncQualification": True,
                "relatedContactInformation": [CONTACT],
                "productOfferingQualificationItem": [
                    {"id": "1", "action": "add", "product": self._product(request)}
                ],
            },
        )
        response = await self._call(
            partner, "POST", f"{POQ_PATH}/productOfferingQualification", json=body
        )
        poq = self._parsed(poq_models.ProductOfferingQualification, response, partner)
        items = poq.productOfferingQualificationItem or []
        if not items:
            raise PartnerUnavailable(f"{partner.name} answered a POQ without items")
        item = items[0]
        state = str(item.state.value)
        confidence = item.serviceabilityConfidence
        if state != "done.ready" or confidence is None or confidence.value == "red":
            reason = item.serviceabilityConfidenceReason or (
                f"its POQ answered {state}" + (f" ({confidence.value})" if confidence else "")
            )
            return PartnerQualification(qualified=False, reason=reason[:500])
        return PartnerQualification(qualified=True)

    def _view(self, partner: PartnerAccess, response: httpx.Response) -> PartnerOrderView:
        order = self._parsed(order_models.ProductOrder, response, partner)
        state = str(order.state.value)
        status = _DONE.get(state) or _REFUSED.get(state) or PartnerOrderStatus.IN_PROGRESS
        reason = order.model_dump(mode="json").get("stateReason") or order.cancellationReason
        return PartnerOrderView(order.id, status, reason)

    async def place_order(
        self,
        partner: PartnerAccess,
        request: AccessRequest,
        *,
        external_id: str,
        quote_id: str | None = None,
    ) -> PartnerOrderView:
        """Order an access; our `external_id` lets a retry find it instead of ordering twice,
        and the partner's quote that priced it (`quoteItem`) makes the partner sell at its price."""
        item: dict[str, Any] = {
            "id": "1",
            "action": "add",
            "product": self._product(request),
            "requestedItemTerm": self._term(request),
        }
        if quote_id:
            item["quoteItem"] = {"quoteId": quote_id, "id": QUOTE_ITEM_ID}
        body = self._body(
            order_models.ProductOrderCreate,
            {
                "externalId": external_id,
                "relatedContactInformation": [CONTACT],
                "productOrderItem": [item],
            },
        )
        response = await self._call(
            partner, "POST", f"{ORDER_PATH}/productOrder", repeatable=False, json=body
        )
        return self._view(partner, response)

    async def find_order(
        self, partner: PartnerAccess, *, external_id: str
    ) -> PartnerOrderView | None:
        """The partner's order with our `external_id`."""
        response = await self._call(
            partner, "GET", f"{ORDER_PATH}/productOrder", params={"externalId": external_id}
        )
        found = response.json()
        if not isinstance(found, list) or not found:
            return None
        return await self.read_order(partner, str(found[0]["id"]))

    async def read_order(self, partner: PartnerAccess, partner_order_id: str) -> PartnerOrderView:
        """A partner's order as it stands."""
        response = await self._call(partner, "GET", f"{ORDER_PATH}/productOrder/{partner_order_id}")
        return self._view(partner, response)

    async def cancel_order(self, partner: PartnerAccess, partner_order_id: str) -> None:
        """Ask the partner to cancel one of its orders."""
        body = self._body(
            order_models.CancelProductOrderCreate,
            {
                "productOrder": {"productOrderId": partner_order_id},
                "cancellationReasonType": "commercial",
                "cancellationReason": "our customer cancelled the order",
                "relatedContactInformation": [CONTACT],
            },
        )
        await self._call(partner, "POST", f"{ORDER_PATH}/cancelProductOrder", json=body)

    async def register_listener(
        self, partner: PartnerAccess, callback_url: str
    ) -> ListenerRegistration:
        """Subscribe our listener to the partner's product order state changes; the partner's
        hub gives the secret it signs them with once, in the answer (as this platform does:
        the `secret` of the body, or the `Webhook-Secret` header)."""
        body = self._body(
            order_models.EventSubscriptionInput,
            {"callback": callback_url, "query": "eventType=productOrderStateChangeEvent"},
        )
        response = await self._call(partner, "POST", f"{ORDER_PATH}/hub", json=body)
        answer = response.json()
        secret = answer.get("secret") or response.headers.get(SECRET_HEADER)
        return ListenerRegistration(listener_id=str(answer["id"]), secret=secret or None)
