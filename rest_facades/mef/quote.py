"""MEF 115 Quote: quotes and their priced items, cancelQuote, rejectQuote and the hub."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field

from app.core import events, qualification, quoting
from app.core.errors import CoreError, IllegalTransition, NotFound
from app.core.events import EntityKind, Event, EventKind
from app.core.paging import fetch_page
from app.core.qualification import Confidence
from app.core.quoting import Quote, QuoteItem, QuoteItemState, QuoteKind, QuoteState
from rest_facades.mef import hub
from rest_facades.mef.errors import (
    MEFError,
    from_core_error,
    mef_json,
    unprocessable,
)
from rest_facades.mef.flavours import SELLER_ID, Flavour
from rest_facades.mef.generated.sonata import quote as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.requested_products import (
    Problems,
    configuration_of,
    contacts,
    days,
    iso,
    item_pointer,
    kept_item,
    product_view,
    requested_spec,
)
from rest_facades.mef.requests import (
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
    owned_by_buyer,
    sent,
)
from rest_facades.mef.routing import mef_router
from rest_facades.mef.vocabulary import from_mef, to_mef

API = "quote"
TAG = "quotes (MEF 115)"
ITEMS = "quoteItem"
# What the buyer sends that the core keeps as given and this face returns.
QUOTE_ANNOTATIONS = ("buyerRequestedQuoteLevel", "instantSyncQuote", "note")
ITEM_ANNOTATIONS = (
    "action",
    "agreementName",
    "dealReference",
    "note",
    "productOfferingQualificationItem",
    "quoteItemRelationship",
    "relatedContactInformation",
    "requestedQuoteItemInstallationInterval",
    "requestedQuoteItemTerm",
)
TERM = "/requestedQuoteItemTerm/duration/amount"
_ALLOWED = (
    "only an unanswered quote (acknowledged, inProgress) can be cancelled and only an "
    "answered one (answered, approved.*) rejected"
)
PRICED = {
    QuoteItemState.ANSWERED,
    QuoteItemState.APPROVED_ORDERABLE,
    QuoteItemState.APPROVED_ORDERABLE_ALTERNATE,
}


def _term_months(item: dict[str, Any], where: str) -> tuple[int | None, Problems]:
    """The term the buyer asks for, in months (terms are sold in whole calendar months)."""
    term = item.get("requestedQuoteItemTerm")
    if term is None:
        return None, []
    at = f"{where}/requestedQuoteItemTerm"
    problems: Problems = []
    if term["endOfTermAction"] == "roll" and "rollInterval" not in term:
        problems.append(("missingProperty", "a rolling term needs its rollInterval", at))
    if term["endOfTermAction"] != "roll" and "rollInterval" in term:
        problems.append(
            ("unexpectedProperty", "only a rolling term has a rollInterval", f"{at}/rollInterval")
        )
    if term["duration"]["units"] != "calendarMonths":
        problems.append(
            (
                "invalidValue",
                "terms are sold in whole calendar months",
                f"{at}/duration/units",
            )
        )
    return int(term["duration"]["amount"]), problems


def _missing_contact(sent: Any, role: str, where: str) -> Problems:
    roles = {c.get("role") for c in sent or [] if isinstance(c, dict)}
    if role in roles:
        return []
    return [("missingProperty", f"a contact with role '{role}' is required", where)]


def _prices(quote: Quote, item: QuoteItem, action: str) -> list[dict[str, Any]]:
    # As an order would charge: a deletion costs nothing; only a new product pays installation.
    monthly = 0 if action == "delete" else item.monthly_cents
    one_time = item.one_time_cents if action == "add" else 0
    return [
        {
            "name": "Monthly recurring charge",
            "priceType": "recurring",
            "recurringChargePeriod": "month",
            "price": {"dutyFreeAmount": {"unit": quote.currency, "value": monthly / 100}},
        },
        {
            "name": "One-time charge",
            "priceType": "nonRecurring",
            "price": {"dutyFreeAmount": {"unit": quote.currency, "value": one_time / 100}},
        },
    ]


def _item_view(
    flavour: Flavour, caller: Caller, quote: Quote, item: QuoteItem, index: int
) -> dict[str, Any]:
    notes = item.annotations
    action = notes.get("action", "add")
    view: dict[str, Any] = {
        "id": item.external_id or str(item.position),
        "action": action,
        "product": product_view(
            flavour,
            caller,
            sent=notes.get("product"),
            offering_id=item.offering_id,
            locations=[item.a_location_id, item.z_location_id],
        ),
        "state": to_mef(item.state, models.MEFQuoteItemStateType),
        **{k: notes[k] for k in ITEM_ANNOTATIONS[1:] if k in notes},
    }
    if item.state in PRICED:
        requested = notes.get("requestedQuoteItemTerm") or {}
        view["quoteItemTerm"] = [
            {
                "name": requested.get("name", f"{item.term_months} months"),
                "duration": {"amount": item.term_months, "units": "calendarMonths"},
                "endOfTermAction": requested.get("endOfTermAction", "autoRenew"),
                **(
                    {"rollInterval": requested["rollInterval"]}
                    if "rollInterval" in requested
                    else {}
                ),
            }
        ]
        view["quoteItemInstallationInterval"] = days(item.lead_time_days)
        view["quoteItemPrice"] = _prices(quote, item, action)
        if quote.kind is QuoteKind.FIRM:
            # Near-net builds and partner access are priced firm but confirmed by survey.
            view["subjectToFeasibilityCheck"] = item.confidence is Confidence.YELLOW
    if item.state is QuoteItemState.UNABLE_TO_PROVIDE:
        view["terminationError"] = [
            {
                "code": "otherIssue",
                "propertyPath": f"/{ITEMS}/{index}/product",
                "value": "the product cannot be delivered as asked at its places",
            }
        ]
    return view


def quote_view(
    flavour: Flavour,
    caller: Caller,
    quote: Quote,
    items: list[QuoteItem],
    history: list[Event],
) -> dict[str, Any]:
    """A core quote as a MEF Quote."""
    states = models.MEFQuoteStateType
    notes = quote.annotations
    body: dict[str, Any] = {
        "id": quote.id,
        "href": caller.href(flavour.base_path(API), "quote", quote.id),
        "quoteDate": iso(quote.created_at),
        "state": to_mef(quote.state, states),
        "quoteLevel": quote.kind.value,
        "buyerRequestedQuoteLevel": notes.get("buyerRequestedQuoteLevel", quote.kind.value),
        "instantSyncQuote": notes.get("instantSyncQuote", True),
        "externalId": quote.external_id,
        "description": quote.description,
        "projectId": quote.project_id,
        "note": notes.get("note"),
        "requestedQuoteCompletionDate": iso(quote.requested_completion_at),
        "expectedQuoteCompletionDate": iso(quote.requested_completion_at)
        if quote.state in quoting.OPEN_STATES
        else None,
        "effectiveQuoteCompletionDate": iso(quote.answered_at),
        "validFor": {"endDateTime": iso(quote.valid_until)} if quote.valid_until else None,
        "relatedContactInformation": contacts(notes.get("relatedContactInformation")),
        "stateChange": [
            {
                "changeDate": iso(e.occurred_at),
                "state": to_mef(e.state, states),
                **({"changeReason": e.data["reason"]} if e.data.get("reason") else {}),
            }
            for e in history
            if e.state
        ],
        ITEMS: [_item_view(flavour, caller, quote, item, i) for i, item in enumerate(items)],
    }
    if not items:
        # A quote the seller rejected as it was asked (through TMF), before any item was priced.
        body[ITEMS] = [
            {
                "id": item_id,
                "action": "add",
                "state": "rejected",
                "terminationError": [{"code": "otherIssue", "value": quote.state_reason}],
            }
            for item_id in quoting.asked_items(quote)
        ]
    answer = dump(models.Quote.model_validate({k: v for k, v in body.items() if v is not None}))
    if not items:
        return answer
    # The generated models keep only a configuration's `@type`: return them whole.
    for shown, item in zip(answer[ITEMS], items, strict=True):
        configuration = configuration_of(flavour, item.configuration, item.offering_id)
        if configuration and item.annotations.get("action", "add") != "delete":
            shown["product"]["productConfiguration"] = configuration
    return answer


def _find_view(flavour: Flavour, quote: Quote) -> dict[str, Any]:
    return dump(
        models.QuoteFind(
            id=quote.id,
            state=to_mef(quote.state, models.MEFQuoteStateType),
            quoteLevel=quote.kind.value,
            externalId=quote.external_id,
            projectId=quote.project_id,
            quoteDate=quote.created_at,
            requestedQuoteCompletionDate=quote.requested_completion_at,
            expectedQuoteCompletionDate=quote.requested_completion_at
            if quote.state in quoting.OPEN_STATES
            else None,
            effectiveQuoteCompletionDate=quote.answered_at,
        )
    )


async def _view(flavour: Flavour, caller: Caller, quote_id: str) -> dict[str, Any]:
    found = await quoting.get_quote(caller.session, principal=caller.principal, quote_id=quote_id)
    owned_by_buyer(caller, found.quote.party_id, "quote", quote_id)
    history = await events.list_events(
        caller.session,
        principal=caller.principal,
        entity=EntityKind.QUOTE,
        entity_id=found.quote.id,
    )
    return quote_view(flavour, caller, found.quote, found.items, history)


async def _qualification_of(
    caller: Caller, sent_items: list[dict[str, Any]]
) -> tuple[str | None, Problems]:
    """The POQ that the items' `productOfferingQualificationItem` references name, checked."""
    problems: Problems = []
    first: str | None = None
    for index, item in enumerate(sent_items):
        ref = item.get("productOfferingQualificationItem")
        if ref is None:
            continue
        where = f"/{ITEMS}/{index}/productOfferingQualificationItem"
        try:
            poq, poq_items = await qualification.get_qualification(
                caller.session,
                principal=caller.principal,
                qualification_id=ref["productOfferingQualificationId"],
            )
        except NotFound:
            problems.append(
                (
                    "referenceNotFound",
                    f"no POQ '{ref['productOfferingQualificationId']}'",
                    f"{where}/productOfferingQualificationId",
                )
            )
            continue
        if ref["id"] not in {i.external_id or str(i.position) for i in poq_items}:
            problems.append(
                ("referenceNotFound", f"no item '{ref['id']}' in that POQ", f"{where}/id")
            )
        first = first or poq.id
    return first, problems


async def _refused(flavour: Flavour, caller: Caller, error: CoreError, quote_id: str) -> MEFError:
    """A refused cancel or reject in the form the spec allows (it lists no 404 and no 409)."""
    if isinstance(error, NotFound):
        return unprocessable([("referenceNotFound", f"no quote '{quote_id}'", "/quoteId")])
    if not isinstance(error, IllegalTransition):  # e.g. a concurrent change won
        return unprocessable([("otherIssue", error.message, "/quoteId")])
    found = await quoting.get_quote(caller.session, principal=caller.principal, quote_id=quote_id)
    state = to_mef(found.quote.state, models.MEFQuoteStateType)
    return unprocessable([("otherIssue", f"the quote is '{state}': {_ALLOWED}", "/quoteId")])


routes = mef_router()


@routes.post("/quote", status_code=201, response_model=models.Quote)
async def create_quote(
    body: models.QuoteCreate, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Ask for prices; answered in the response when `instantSyncQuote` is true."""
    buyer = caller.principal.buyer_for(caller.buyer_id, field_name="buyerId")
    given = sent(body)
    sent_items: list[dict[str, Any]] = given[ITEMS]
    problems: Problems = []
    if not body.instantSyncQuote:
        # A deferred quote needs people to talk to (MEF 80).
        problems += _missing_contact(
            given.get("relatedContactInformation"),
            "buyerContactInformation",
            "/relatedContactInformation",
        )
        for index, item in enumerate(sent_items):
            where = f"/{ITEMS}/{index}/relatedContactInformation"
            contacts = item.get("relatedContactInformation")
            problems += _missing_contact(contacts, "quoteItemTechnicalContact", where)
            if item["action"] == "add":
                problems += _missing_contact(contacts, "quoteItemLocationContact", where)
    if len({item["id"] for item in sent_items}) != len(sent_items):
        problems.append(("invalidValue", "item ids must be unique in a quote", f"/{ITEMS}"))
    poq_id, poq_problems = await _qualification_of(caller, sent_items)
    problems += poq_problems
    specs, details = [], []
    for index, item in enumerate(sent_items):
        where = f"/{ITEMS}/{index}"
        term, term_problems = _term_months(item, where)
        spec, item_problems = await requested_spec(
            flavour,
            API,
            caller,
            action=item["action"],
            product=item.get("product"),
            where=where,
            buyer=buyer,
            term_months=term,
        )
        problems += term_problems + item_problems
        if spec is not None:
            specs.append(spec)
        details.append(kept_item(item, ITEM_ANNOTATIONS))
    if problems:
        raise unprocessable(problems)
    try:
        created = await quoting.request_quote(
            caller.session,
            principal=caller.principal,
            specs=specs,
            kind=QuoteKind(body.buyerRequestedQuoteLevel.value),
            channel=flavour.channel,
            buyer_party_id=caller.buyer_id,
            external_id=body.externalId,
            description=body.description,
            answer_now=body.instantSyncQuote,
            qualification_id=poq_id,
            requested_completion_at=body.requestedQuoteCompletionDate,
            project_id=body.projectId,
            annotations={
                **{k: given[k] for k in QUOTE_ANNOTATIONS if k in given},
                "relatedContactInformation": given.get("relatedContactInformation", []),
            },
            details=details,
        )
    except CoreError as exc:
        raise from_core_error(
            exc, field_pointer=lambda f: item_pointer(ITEMS, f, term=TERM)
        ) from exc
    answer = await _view(flavour, caller, created.quote.id)
    return mef_json(answer, status=201, headers={"Location": answer["href"]})


class QuoteQuery(BaseModel):
    """The criteria of a MEF 115 quote list; every one given must hold."""

    state: models.MEFQuoteStateType | None = None
    quoteLevel: models.MEFSellerQuoteLevel | None = None
    externalId: str | None = None
    projectId: str | None = None
    quoteDate_gt: Annotated[datetime | None, Field(alias="quoteDate.gt")] = None
    quoteDate_lt: Annotated[datetime | None, Field(alias="quoteDate.lt")] = None
    requested_gt: Annotated[datetime | None, Field(alias="requestedQuoteCompletionDate.gt")] = None
    requested_lt: Annotated[datetime | None, Field(alias="requestedQuoteCompletionDate.lt")] = None
    expected_gt: Annotated[datetime | None, Field(alias="expectedQuoteCompletionDate.gt")] = None
    expected_lt: Annotated[datetime | None, Field(alias="expectedQuoteCompletionDate.lt")] = None
    effective_gt: Annotated[datetime | None, Field(alias="effectiveQuoteCompletionDate.gt")] = None
    effective_lt: Annotated[datetime | None, Field(alias="effectiveQuoteCompletionDate.lt")] = None


@routes.get("/quote", response_model=list[models.QuoteFind])
async def list_quotes(
    query: MEFList, criteria: Annotated[QuoteQuery, Query()], flavour: FlavourDep
) -> Response:
    """The caller's quotes, newest first, filtered as the spec allows."""
    level = criteria.quoteLevel.value if criteria.quoteLevel else None
    # Only open quotes have an expected completion date (the one the buyer asked for).
    expected = criteria.expected_gt is not None or criteria.expected_lt is not None
    # This seller's levels are budgetary and firm: no quote is `firmSubjectToFeasibilityCheck`.
    states = (
        set()
        if level == "firmSubjectToFeasibilityCheck"
        else (quoting.OPEN_STATES if expected else None)
    )
    requested_after = max(
        (d for d in (criteria.requested_gt, criteria.expected_gt) if d), default=None
    )
    requested_before = min(
        (d for d in (criteria.requested_lt, criteria.expected_lt) if d), default=None
    )
    caller, window = query.caller, query.window
    statement = quoting.quotes_query(
        principal=caller.principal,
        party_id=caller.buyer_id,
        state=QuoteState(from_mef(criteria.state, QuoteState)) if criteria.state else None,
        states=states,
        kind=QuoteKind(level) if level in {"firm", "budgetary"} else None,
        external_id=criteria.externalId,
        project_id=criteria.projectId,
        created_after=criteria.quoteDate_gt,
        created_before=criteria.quoteDate_lt,
        requested_after=requested_after,
        requested_before=requested_before,
        answered_after=criteria.effective_gt,
        answered_before=criteria.effective_lt,
    )
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    return listing([_find_view(flavour, quote) for quote in page.items], total=page.total)


@routes.get("/quote/{id}", response_model=models.Quote)
async def get_quote(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One quote with its priced items."""
    return mef_json(await _view(flavour, caller, id))


@routes.post("/cancelQuote", status_code=200, response_model=models.QuoteOperationData)
async def cancel_quote(
    body: models.QuoteOperationData, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Withdraw a quote request that has not been answered yet."""
    try:
        await quoting.cancel_quote(
            caller.session, principal=caller.principal, quote_id=body.quoteId, reason=body.reason
        )
    except CoreError as exc:
        raise await _refused(flavour, caller, exc, body.quoteId) from exc
    return mef_json(dump(body))


@routes.post("/rejectQuote", status_code=200, response_model=models.QuoteOperationData)
async def reject_quote(
    body: models.QuoteOperationData, caller: MEFCaller, flavour: FlavourDep
) -> Response:
    """Decline an answered quote."""
    try:
        await quoting.decline_quote(
            caller.session, principal=caller.principal, quote_id=body.quoteId, reason=body.reason
        )
    except CoreError as exc:
        raise await _refused(flavour, caller, exc, body.quoteId) from exc
    return mef_json(dump(body))


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 115 event for a core quote or quote item state change."""
    if event.kind is not EventKind.STATE_CHANGED:
        return None
    if event.entity == EntityKind.QUOTE:
        return "quoteStateChangeEvent", {"id": event.entity_id, "sellerId": SELLER_ID}
    if event.entity == EntityKind.QUOTE_ITEM and "quote_id" in event.data:
        return "quoteItemStateChangeEvent", {
            "id": event.data["quote_id"],
            "quoteItemId": event.data.get("external_id") or str(event.data.get("position")),
            "sellerId": SELLER_ID,
        }
    return None


NOTIFYING = NotifyingAPI(api=API, notification_api="quote_notification", notification=notification)
