"""TMF648 Quote Management v4: the core's quotes as TMF quotes, both ways.

A quote item asks for one product: `product.productOffering.id` (or the item's own
`productOffering.id`) is a core offering id; `product.place` names its ends (role `aEnd`/`zEnd`,
otherwise in the order given) as an address-book location id, one of the buyer's site ids, or an
address value (`streetNr`, `streetName`, `city`, `stateOrProvince`, `postcode`, or the whole line in
`name`); `product.productCharacteristic` gives `bandwidth` (Mbps, mandatory), `termMonths` (12 when
absent) and `classOfService` (`standard` when absent). `category` is the quote level: `budgetary`
or `firm` (the default). Prices are `quotePrice` entries, monthly `recurring` and `oneTime`, with
the amount in `price.dutyFreeAmount`.

States: acknowledged and in progress show as `inProgress`, a draft as `pending`, an answered quote
as `approved`, an ordered one as `accepted`, a declined, rejected or unprovidable one as
`rejected`, a cancelled or expired one as `cancelled`. `PATCH` with `state` `cancelled` withdraws an
unanswered quote and `rejected` declines an answered one; a quote becomes `accepted` when a product
order is placed against it. `DELETE` withdraws the quote (cancelled or declined, whichever applies);
the record stays readable.

A quote whose items lack what the core needs to price them (an offering, a known offering, the
places, `bandwidth`) is recorded and rejected at once: `state` `rejected`, the reason in a `note`
by the seller, its items as asked, each `rejected`, and no price. Its buyer's attributes can still
be patched, and `DELETE` removes it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog, geography, quoting
from app.core.catalog import ClassOfService, ProductSpec
from app.core.errors import NotFound
from app.core.events import Channel, EntityKind, Event
from app.core.parties import Principal
from app.core.qualification import ItemDetails, check_item_count
from app.core.quoting import (
    Quote,
    QuoteField,
    QuoteItem,
    QuoteItemState,
    QuoteKind,
    QuoteState,
)
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_cents,
    as_date_time,
    as_text,
    by_name,
    constant,
    in_document,
    linked,
    merge_patch,
)
from rest_facades.tmf.common import (
    TMFQueryDep,
    href,
    iso,
    listed,
    product_characteristics,
    resource,
)
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import quote_management as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.patching import refuse_sellers_changes

BASE = "/tmf-api/quoteManagement/v4"
CATALOG_BASE = "/tmf-api/productCatalogManagement/v4"
ADDRESS_BASE = "/tmf-api/geographicAddressManagement/v4"
POQ_BASE = "/tmf-api/productOfferingQualification/v4"
DEFAULT_TERM_MONTHS = 12

STATES = {
    QuoteState.ACKNOWLEDGED: "inProgress",
    QuoteState.IN_PROGRESS: "inProgress",
    QuoteState.IN_PROGRESS_DRAFT: "pending",
    QuoteState.ANSWERED: "approved",
    QuoteState.APPROVED_ORDERABLE: "approved",
    QuoteState.APPROVED_ORDERABLE_ALTERNATE: "approved",
    QuoteState.ACCEPTED: "accepted",
    QuoteState.DECLINED: "rejected",
    QuoteState.REJECTED: "rejected",
    QuoteState.UNABLE_TO_PROVIDE: "rejected",
    QuoteState.CANCELLED: "cancelled",
    QuoteState.EXPIRED: "cancelled",
}
ITEM_STATES = {
    QuoteItemState.ACKNOWLEDGED: "inProgress",
    QuoteItemState.IN_PROGRESS: "inProgress",
    QuoteItemState.ANSWERED: "approved",
    QuoteItemState.APPROVED_ORDERABLE: "approved",
    QuoteItemState.APPROVED_ORDERABLE_ALTERNATE: "approved",
    QuoteItemState.ABANDONED: "cancelled",
    QuoteItemState.REJECTED: "rejected",
    QuoteItemState.UNABLE_TO_PROVIDE: "rejected",
}
# What the buyer sends that the core keeps as given and this face returns unchanged.
KEPT = (
    "note",
    "contactMedium",
    "relatedParty",
    "agreement",
    "billingAccount",
    "authorization",
    "expectedFulfillmentStartDate",
)
ITEM_KEPT = ("note", "relatedParty", "appointment")
# The items of a quote the seller rejected at once, kept as the buyer sent them.
ASKED = "quoteItem"


def _money(cents: int, currency: str) -> dict[str, Any]:
    return {"unit": currency, "value": float(Decimal(cents) / 100)}


def prices(monthly_cents: int, one_time_cents: int, currency: str) -> list[dict[str, Any]]:
    """Monthly and one-time charges as TMF648 QuotePrice entries."""
    return [
        {
            "@type": "QuotePrice",
            "name": "monthly recurring charge",
            "priceType": "recurring",
            "recurringChargePeriod": "month",
            "price": {"@type": "Price", "dutyFreeAmount": _money(monthly_cents, currency)},
        },
        {
            "@type": "QuotePrice",
            "name": "one-time charge",
            "priceType": "oneTime",
            "price": {"@type": "Price", "dutyFreeAmount": _money(one_time_cents, currency)},
        },
    ]


def place_view(request: Request, location_id: str, role: str) -> dict[str, Any]:
    """An address-book location as a TMF place reference."""
    return {
        "id": location_id,
        "href": href(request, ADDRESS_BASE, "geographicAddress", location_id),
        "role": role,
        "@referredType": "GeographicAddress",
    }


def offering_ref(request: Request, offering_id: str) -> dict[str, Any]:
    """A TMF620 ProductOfferingRef."""
    return {
        "id": offering_id,
        "href": href(request, CATALOG_BASE, "productOffering", offering_id),
        "@referredType": "ProductOffering",
    }


def product_view(request: Request, spec: ProductSpec) -> dict[str, Any]:
    """A core product spec as a TMF ProductRefOrValue (offering, places, characteristics)."""
    places = [place_view(request, spec.a_location_id, "aEnd")]
    if spec.z_location_id:
        places.append(place_view(request, spec.z_location_id, "zEnd"))
    return {
        "@type": "Product",
        "productOffering": offering_ref(request, spec.offering_id),
        "place": places,
        "productCharacteristic": [
            {"name": "bandwidth", "valueType": "integer", "value": spec.bandwidth_mbps},
            {"name": "termMonths", "valueType": "integer", "value": spec.term_months},
            {"name": "classOfService", "valueType": "string", "value": spec.class_of_service},
        ],
    }


def item_view(request: Request, quote: Quote, item: QuoteItem) -> dict[str, Any]:
    """A core quote item as a TMF648 QuoteItem."""
    view: dict[str, Any] = {
        "id": item.external_id or str(item.position),
        "@type": "QuoteItem",
        "action": "add",
        "quantity": 1,
        "state": ITEM_STATES[item.state],
        "productOffering": offering_ref(request, item.offering_id),
        "product": product_view(request, item.spec()),
    }
    if quote.answered_at is not None and item.state is not QuoteItemState.UNABLE_TO_PROVIDE:
        view["quoteItemPrice"] = prices(item.monthly_cents, item.one_time_cents, quote.currency)
    return view | {k: item.annotations[k] for k in ITEM_KEPT if k in item.annotations}


def quote_view(request: Request, quote: Quote, items: list[QuoteItem]) -> dict[str, Any]:
    """A core quote as a TMF648 Quote."""
    view: dict[str, Any] = {
        "id": quote.id,
        "href": href(request, BASE, "quote", quote.id),
        "@type": "Quote",
        "category": quote.kind.value,
        "quoteDate": iso(quote.created_at),
        "state": STATES[quote.state],
        "version": str(quote.version),
        "quoteItem": [item_view(request, quote, i) for i in items] or _asked_items(quote),
    }
    if quote.description is not None:
        view["description"] = quote.description
    if quote.external_id is not None:
        view["externalId"] = quote.external_id
    if quote.requested_completion_at is not None:
        view["requestedQuoteCompletionDate"] = iso(quote.requested_completion_at)
    if quote.answered_at is not None:
        view["effectiveQuoteCompletionDate"] = iso(quote.answered_at)
        view["quoteTotalPrice"] = prices(quote.monthly_cents, quote.one_time_cents, quote.currency)
        view["validFor"] = {"startDateTime": iso(quote.answered_at)}
        if quote.valid_until is not None:
            view["validFor"]["endDateTime"] = iso(quote.valid_until)
    if quote.qualification_id is not None:
        view["productOfferingQualification"] = [
            {
                "id": quote.qualification_id,
                "href": href(
                    request, POQ_BASE, "productOfferingQualification", quote.qualification_id
                ),
                "@referredType": "ProductOfferingQualification",
            }
        ]
    view |= {k: quote.annotations[k] for k in KEPT if k in quote.annotations}
    if quote.state_reason:
        view["note"] = [*view.get("note", []), seller_note(quote.updated_at, quote.state_reason)]
    return view


def _item_id(item: dict[str, Any], index: int) -> str:
    return str(item["id"]) if item.get("id") is not None else str(index + 1)


def _asked_items(quote: Quote) -> list[dict[str, Any]]:
    """The items of a quote that the core did not take, as the buyer asked for them."""
    asked = quote.annotations.get(ASKED, [])
    return [
        item | {"id": _item_id(item, i), "state": "rejected"}
        for i, item in enumerate(asked)
        if isinstance(item, dict)
    ]


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core quote event as the TMF648 quote it is about."""
    if event.entity != EntityKind.QUOTE:
        return None
    resource: dict[str, Any] = {"id": event.entity_id, "@type": "Quote"}
    if event.state in {s.value for s in QuoteState}:
        resource["state"] = STATES[QuoteState(event.state)]
    return "quote", resource


NOTIFYING = NotifyingAPI("quoteManagement", describe)


def _characteristics(product: dict[str, Any], where: str) -> tuple[int, int, ClassOfService]:
    found = product_characteristics(product, f"{where}.product")
    if "bandwidth_mbps" not in found:
        raise Lacking(f"{where} lacks product.productCharacteristic 'bandwidth' (Mbps)")
    return (
        found["bandwidth_mbps"],
        found.get("term_months", DEFAULT_TERM_MONTHS),
        found.get("class_of_service", ClassOfService.STANDARD),
    )


class Lacking(TMFError):
    """An item that lacks what the core needs to answer it (an offering, a place, a speed), or
    names one the core does not know: the request is recorded and answered as refused."""

    def __init__(self, reason: str) -> None:
        super().__init__(400, "MISSING_ATTRIBUTE", reason)
        self.reason = reason


async def location_of(
    session: AsyncSession, principal: Principal, place: dict[str, Any], where: str
) -> str:
    """The address-book location a place names: a location id, a site id or an address."""
    place_id = place.get("id")
    if isinstance(place_id, str):
        if place_id in await geography.get_visible_locations(
            session, [place_id], principal=principal
        ):
            return place_id
        try:
            site = await geography.get_site(session, principal=principal, site_id=place_id)
        except NotFound as exc:
            raise Lacking(f"{where}: no address or site '{place_id}'") from exc
        return site.location_id
    address = geography.AddressInput(
        text=None if place.get("streetName") else place.get("name"),
        street_number=place.get("streetNr"),
        street_name=place.get("streetName"),
        city=place.get("city"),
        state=place.get("stateOrProvince"),
        postcode=place.get("postcode"),
        country=place.get("country"),
    )
    if not address.as_text():
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where}: a place needs an id or an address")
    location = await geography.resolve_address(
        session, address, field_name=where, party_id=principal.party_id
    )
    return location.id


def ends_in_order(places: list[Any]) -> list[dict[str, Any]]:
    """Places in A, Z order: by role when given, otherwise as sent."""

    def is_z(place: dict[str, Any]) -> bool:
        role = str(place.get("role") or "").lower().replace("-", "").replace("_", "")
        return role in {"z", "zend"}

    kept = [p for p in places if isinstance(p, dict)]
    return [p for p in kept if not is_z(p)] + [p for p in kept if is_z(p)]


async def product_spec(
    session: AsyncSession, principal: Principal, item: dict[str, Any], where: str
) -> ProductSpec:
    """The core product a TMF item (quote, qualification or order item) asks for."""
    product = item.get("product") if isinstance(item.get("product"), dict) else {}
    assert isinstance(product, dict)
    offered = product.get("productOffering") or item.get("productOffering") or {}
    offering_id = offered.get("id") if isinstance(offered, dict) else None
    if not isinstance(offering_id, str):
        raise Lacking(f"{where} lacks product.productOffering.id")
    try:
        offering = await catalog.get_offering(session, offering_id)
    except NotFound as exc:
        raise Lacking(f"{where}: {exc.message}") from exc
    places = ends_in_order(product.get("place") or [])
    needed = 2 if offering.needs_two_ends else 1
    if len(places) < needed:
        raise Lacking(f"{where} lacks product.place: {offering.name} needs {needed} place(s)")
    if len(places) != needed:
        raise TMFError(
            400,
            "MISSING_ATTRIBUTE" if len(places) < needed else "INVALID_VALUE",
            f"{where}.product.place: {offering.name} needs {needed} place(s)",
        )
    ends = [
        await location_of(session, principal, p, f"{where}.product.place[{i}]")
        for i, p in enumerate(places)
    ]
    mbps, months, cos = _characteristics(product, where)
    return ProductSpec(
        offering_id=offering.id,
        a_location_id=ends[0],
        z_location_id=ends[1] if needed == 2 else None,
        bandwidth_mbps=mbps,
        term_months=months,
        class_of_service=cos,
    )


async def specs_or_reason(
    items: list[dict[str, Any]],
    spec_of: Callable[[dict[str, Any], str], Awaitable[ProductSpec]],
    where: str,
) -> list[ProductSpec] | str:
    """The core product each item asks for, or, when any item lacks what the core needs, why
    (every such item named)."""
    specs: list[ProductSpec] = []
    lacking: list[str] = []
    for index, item in enumerate(items):
        try:
            specs.append(await spec_of(item, f"{where}[{index}]"))
        except Lacking as exc:
            lacking.append(exc.reason)
    return "; ".join(lacking) if lacking else specs


def seller_note(date: datetime, reason: str) -> dict[str, Any]:
    """Why the seller refused a request, as a TMF Note by the seller."""
    return {"id": "seller", "@type": "Note", "author": "seller", "date": iso(date), "text": reason}


async def _load(
    session: AsyncSession, principal: Principal, quote_id: str
) -> quoting.QuoteWithItems:
    try:
        return await quoting.get_quote(session, principal=principal, quote_id=quote_id)
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", exc.message) from exc


async def _withdraw(
    session: AsyncSession, principal: Principal, quote: Quote, reason: str | None
) -> None:
    if quote.state in quoting.OPEN_STATES:
        await quoting.cancel_quote(session, principal=principal, quote_id=quote.id, reason=reason)
    else:
        await quoting.decline_quote(session, principal=principal, quote_id=quote.id, reason=reason)


def _version(text: str) -> tuple[int, ...]:
    """A filter value compared with whole numbers (any other matches none)."""
    return (int(text),) if text.isdigit() and len(text) < 10 else ()


TOTAL = "quoteTotalPrice"
ITEM_PRICE = f"{ASKED}.quoteItemPrice"


def _kept(*where: str) -> Attribute[QuoteField]:
    """An attribute of what the buyer sent, kept as given."""
    return in_document(QuoteField.ANNOTATIONS, *where)


def _asked(*where: str) -> Attribute[QuoteField]:
    """An attribute of the items the core did not take, as the buyer asked for them."""
    return _kept(ASKED, *where)


def _fixed(shown: QuoteField, also: Attribute[QuoteField], *values: Any) -> Attribute[QuoteField]:
    """An attribute that the quotes of which `shown` holds show with one of `values`, and that
    what the buyer sent may show too (`also`)."""
    return replace(constant(QuoteField.ID, *values, shown=shown), also=also)


def _taken(below: str, *values: Any) -> Attribute[QuoteField]:
    """An attribute (at the dotted path `below` in an item) that every item the core took shows
    with one of `values`."""
    return _fixed(QuoteField.TOOK_ITEMS, _asked(*below.split(".")), *values)


def _link(field: QuoteField, base: str, resource: str, below: str) -> Attribute[QuoteField]:
    """The link (at the dotted path `below` in an item) to the resource of the API at `base`
    whose id is an item's `field`."""
    return Attribute(field, as_text, link=f"{base}/{resource}/", also=_asked(*below.split(".")))


# TMF648 attributes that the core's quote query answers; other filters match after paging.
FILTERS: dict[str, Attribute[QuoteField]] = {
    "id": Attribute(QuoteField.ID, as_text),
    "category": Attribute(QuoteField.KIND, by_name({k: k.value for k in QuoteKind})),
    "state": Attribute(QuoteField.STATE, by_name(STATES)),
    "externalId": Attribute(QuoteField.EXTERNAL_ID, as_text),
    "description": Attribute(QuoteField.DESCRIPTION, as_text),
    "version": Attribute(QuoteField.VERSION, _version),
    "productOfferingQualification.id": Attribute(QuoteField.QUALIFICATION, as_text),
    "quoteDate": Attribute(QuoteField.CREATED_AT, as_date_time, ordered=True),
    "effectiveQuoteCompletionDate": Attribute(QuoteField.ANSWERED_AT, as_date_time, ordered=True),
    "validFor.startDateTime": Attribute(QuoteField.ANSWERED_AT, as_date_time, ordered=True),
    "validFor.endDateTime": Attribute(QuoteField.VALID_UNTIL, as_date_time, ordered=True),
    "requestedQuoteCompletionDate": Attribute(
        QuoteField.REQUESTED_COMPLETION_AT, as_date_time, ordered=True
    ),
    # What the buyer sent that the core keeps as given, by any path below it.
    **{name: _kept(name) for name in KEPT},
    "@type": constant(QuoteField.ID, "Quote"),
    "href": linked(QuoteField.ID, BASE, "quote"),
    # The state of each item (those of a quote that took none were rejected).
    f"{ASKED}.state": Attribute(QuoteField.ITEM_STATE, by_name(ITEM_STATES)),
    # The total prices of an answered quote.
    **{
        f"{TOTAL}.{name}": constant(QuoteField.ID, *values, shown=QuoteField.ANSWERED)
        for name, values in (
            ("@type", ("QuotePrice",)),
            ("name", ("monthly recurring charge", "one-time charge")),
            ("priceType", ("recurring", "oneTime")),
            ("recurringChargePeriod", ("month",)),
            ("price.@type", ("Price",)),
        )
    },
    f"{TOTAL}.price.dutyFreeAmount.unit": Attribute(QuoteField.ANSWERED_CURRENCY, as_text),
    f"{TOTAL}.price.dutyFreeAmount.value": Attribute(
        QuoteField.ANSWERED_MONTHLY_CENTS,
        as_cents,
        ordered=True,
        also=Attribute(QuoteField.ANSWERED_ONE_TIME_CENTS, as_cents, ordered=True),
    ),
    # What the core answers for the items it took, each an item to add of one product; the
    # items it did not take show what the buyer asked for (`_asked`).
    f"{ASKED}.id": Attribute(QuoteField.ITEM_ID, as_text),
    f"{ASKED}.@type": _taken("@type", "QuoteItem"),
    f"{ASKED}.action": _taken("action", "add"),
    f"{ASKED}.quantity": _taken("quantity", 1),
    f"{ASKED}.productOffering.id": Attribute(
        QuoteField.ITEM_OFFERING_ID, as_text, also=_asked("productOffering", "id")
    ),
    f"{ASKED}.productOffering.@referredType": _taken(
        "productOffering.@referredType", "ProductOffering"
    ),
    f"{ASKED}.productOffering.href": _link(
        QuoteField.ITEM_OFFERING_ID, CATALOG_BASE, "productOffering", "productOffering.href"
    ),
    f"{ASKED}.product.@type": _taken("product.@type", "Product"),
    f"{ASKED}.product.productOffering.id": Attribute(
        QuoteField.ITEM_OFFERING_ID, as_text, also=_asked("product", "productOffering", "id")
    ),
    f"{ASKED}.product.productOffering.@referredType": _taken(
        "product.productOffering.@referredType", "ProductOffering"
    ),
    f"{ASKED}.product.productOffering.href": _link(
        QuoteField.ITEM_OFFERING_ID, CATALOG_BASE, "productOffering", "product.productOffering.href"
    ),
    # Every item has an A end; those that join two ends a Z end, each an address-book location.
    f"{ASKED}.product.place.id": Attribute(
        QuoteField.ITEM_PLACE_ID, as_text, also=_asked("product", "place", "id")
    ),
    f"{ASKED}.product.place.href": _link(
        QuoteField.ITEM_PLACE_ID, ADDRESS_BASE, "geographicAddress", "product.place.href"
    ),
    f"{ASKED}.product.place.role": Attribute(
        QuoteField.ITEM_TWO_ENDS,
        lambda text: (True,) if text == "zEnd" else (),
        constant=("aEnd",),
        shown=QuoteField.TOOK_ITEMS,
        also=_asked("product", "place", "role"),
    ),
    f"{ASKED}.product.place.@referredType": _taken(
        "product.place.@referredType", "GeographicAddress"
    ),
    # The speed, term and class of service of each item.
    f"{ASKED}.product.productCharacteristic.name": _taken(
        "product.productCharacteristic.name", "bandwidth", "termMonths", "classOfService"
    ),
    f"{ASKED}.product.productCharacteristic.valueType": _taken(
        "product.productCharacteristic.valueType", "integer", "string"
    ),
    f"{ASKED}.product.productCharacteristic.value": Attribute(
        QuoteField.ITEM_BANDWIDTH_MBPS,
        _version,
        ordered=True,
        also=Attribute(
            QuoteField.ITEM_TERM_MONTHS,
            _version,
            ordered=True,
            also=Attribute(
                QuoteField.ANNOTATIONS,
                as_text,
                ordered=True,
                document=(ASKED, "product", "productCharacteristic", "value"),
                also=Attribute(QuoteField.ITEM_CLASS_OF_SERVICE, as_text),
            ),
        ),
    ),
    # The monthly and one-time prices of each item that the core priced.
    **{
        f"{ITEM_PRICE}.{name}": _fixed(
            QuoteField.ITEM_PRICED, _asked("quoteItemPrice", *name.split(".")), *values
        )
        for name, values in (
            ("@type", ("QuotePrice",)),
            ("name", ("monthly recurring charge", "one-time charge")),
            ("priceType", ("recurring", "oneTime")),
            ("recurringChargePeriod", ("month",)),
            ("price.@type", ("Price",)),
        )
    },
    f"{ITEM_PRICE}.price.dutyFreeAmount.unit": Attribute(
        QuoteField.ITEM_CURRENCY,
        as_text,
        also=_asked("quoteItemPrice", "price", "dutyFreeAmount", "unit"),
    ),
    f"{ITEM_PRICE}.price.dutyFreeAmount.value": Attribute(
        QuoteField.ITEM_MONTHLY_CENTS,
        as_cents,
        ordered=True,
        also=Attribute(
            QuoteField.ITEM_ONE_TIME_CENTS,
            as_cents,
            ordered=True,
            also=_asked("quoteItemPrice", "price", "dutyFreeAmount", "value"),
        ),
    ),
    # What the buyer sent with the items the core took, and with those it did not.
    **{
        f"{ASKED}.{name}": Attribute(
            QuoteField.ITEM_ANNOTATIONS,
            as_text,
            ordered=True,
            document=(name,),
            also=_asked(name),
        )
        for name in ITEM_KEPT
    },
    # Anything else below an item is shown only by the items the core did not take.
    ASKED: _asked(),
    # The seller's note on why it rejected the quote, beside the buyer's notes.
    "note.id": _fixed(QuoteField.REASON_GIVEN, _kept("note", "id"), "seller"),
    "note.@type": _fixed(QuoteField.REASON_GIVEN, _kept("note", "@type"), "Note"),
    "note.author": _fixed(QuoteField.REASON_GIVEN, _kept("note", "author"), "seller"),
    "note.text": Attribute(QuoteField.STATE_REASON, as_text, also=_kept("note", "text")),
    "note.date": Attribute(
        QuoteField.REASON_AT, as_date_time, ordered=True, also=_kept("note", "date")
    ),
}
# Attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()
# Attributes of Quote_Update that are the buyer's to change (kept by the core as given, except
# the three the core stores); the others are the seller's answer, repeated unchanged or refused.
BUYERS = ("description", "externalId", "requestedQuoteCompletionDate", *KEPT)


class QuotePatch(tmf.QuoteUpdate):
    """Quote_Update as a merge patch reads it: `quoteItem`, mandatory in the official file, may
    be left out like every other attribute."""

    quoteItem: list[tmf.QuoteItem] | None = None  # type: ignore[assignment]  # optional in a patch


routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF648 quote management"])


@routes.get("/quote", response_model=list[tmf.Quote])
async def list_quotes(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's quotes, newest first."""
    conditions, after = query.conditions(FILTERS, AFTER_PAGE)
    page = await quoting.find_quotes(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = [quote_view(request, found.quote, found.items) for found in page.items]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/quote/{id}", response_model=tmf.Quote)
async def get_quote(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One quote with its items."""
    loaded = await _load(session, principal, id)
    return resource(query, quote_view(request, loaded.quote, loaded.items))


@routes.post("/quote", status_code=201, response_model=tmf.Quote)
async def create_quote(
    body: tmf.QuoteCreate, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Ask for a quote; answered in this call unless `instantSyncQuote` is false."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    category = body.category or QuoteKind.FIRM.value
    if category not in {k.value for k in QuoteKind}:
        raise TMFError(400, "INVALID_VALUE", "category must be 'budgetary' or 'firm'")
    check_item_count(len(sent["quoteItem"]), field_name="quoteItem")
    specs = await specs_or_reason(
        sent["quoteItem"],
        lambda item, where: product_spec(session, principal, item, where),
        "quoteItem",
    )
    annotations = {k: sent[k] for k in KEPT if k in sent}
    if isinstance(specs, str):
        created = await quoting.reject(
            session,
            principal=principal,
            kind=QuoteKind(category),
            channel=Channel.TMF,
            reason=specs,
            asked=[_item_id(item, i) for i, item in enumerate(sent["quoteItem"])],
            external_id=body.externalId,
            description=body.description,
            requested_completion_at=body.requestedQuoteCompletionDate,
            annotations=annotations | {ASKED: sent["quoteItem"]},
        )
        view = quote_view(request, created.quote, created.items)
        return tmf_json(view, status=201, headers={"Location": view["href"]})
    qualifications = body.productOfferingQualification or []
    created = await quoting.request_quote(
        session,
        principal=principal,
        specs=specs,
        kind=QuoteKind(category),
        channel=Channel.TMF,
        external_id=body.externalId,
        description=body.description,
        answer_now=body.instantSyncQuote is not False,
        qualification_id=qualifications[0].id if qualifications else None,
        requested_completion_at=body.requestedQuoteCompletionDate,
        annotations=annotations,
        details=[
            ItemDetails(
                external_id=str(item["id"]) if item.get("id") is not None else None,
                annotations={k: item[k] for k in ITEM_KEPT if k in item},
            )
            for item in sent["quoteItem"]
        ],
    )
    view = quote_view(request, created.quote, created.items)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.patch("/quote/{id}", response_model=tmf.Quote)
async def patch_quote(
    id: str, body: QuotePatch, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Change what the buyer said about a quote, or cancel or reject it by its `state`."""
    loaded = await _load(session, principal, id)
    current = quote_view(request, loaded.quote, loaded.items)
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    merged = merge_patch(current, patch)
    refuse_sellers_changes(patch, merged, current, (*BUYERS, "state", "@type"))
    for name in ("description", "externalId", "requestedQuoteCompletionDate"):
        if name in patch and patch[name] is None:
            raise TMFError(400, "INVALID_VALUE", f"{name} cannot be removed")
    kept = {k: merged.get(k) for k in KEPT if k in patch}
    if any(name in patch for name in BUYERS):
        await quoting.update_quote(
            session,
            principal=principal,
            quote_id=id,
            description=body.description,
            external_id=body.externalId,
            requested_completion_at=body.requestedQuoteCompletionDate,
            annotations=kept or None,
        )
    wanted = merged.get("state")
    if wanted != current["state"]:
        if wanted == "cancelled":
            await quoting.cancel_quote(session, principal=principal, quote_id=id)
        elif wanted == "rejected":
            await quoting.decline_quote(session, principal=principal, quote_id=id)
        elif wanted == "accepted":
            raise TMFError(
                409,
                "ILLEGAL_TRANSITION",
                "a quote is accepted by placing a product order (TMF622) that refers to it",
            )
        else:
            raise TMFError(409, "ILLEGAL_TRANSITION", f"a quote cannot be moved to '{wanted}'")
    loaded = await _load(session, principal, id)
    return tmf_json(quote_view(request, loaded.quote, loaded.items))


@routes.delete("/quote/{id}", status_code=204)
async def delete_quote(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Withdraw a quote: cancel it if unanswered, decline it if answered."""
    loaded = await _load(session, principal, id)
    if not await quoting.delete_rejected(session, principal=principal, quote_id=id):
        await _withdraw(session, principal, loaded.quote, "withdrawn by DELETE")
    return Response(status_code=204)


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF648 endpoints."""
    return routes
