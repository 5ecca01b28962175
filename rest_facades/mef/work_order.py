"""MEF 137 Work Order: the seller's site visits for the buyer's orders and tickets, with
notifications of new work orders and their state changes."""

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Query

from app.core import parties, workforce
from app.core.events import EntityKind, Event, EventKind
from app.core.ordering import OrderItem
from app.core.paging import fetch_page
from app.core.workforce import Appointment, WorkOrder, WorkOrderFilter, WorkOrderState
from rest_facades.mef import hub
from rest_facades.mef.errors import bad_request, mef_json
from rest_facades.mef.flavours import Flavour

# Handlers take the Sonata models for both flavours (see flavours.py).
from rest_facades.mef.generated.sonata import work_order as models
from rest_facades.mef.hub import NotifyingAPI
from rest_facades.mef.requested_products import PLACE_ROLE, SELLER_CONTACT
from rest_facades.mef.requests import (
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
    owned_by_buyer,
)
from rest_facades.mef.routing import mef_router

API = "work_order"
TAG = "work orders (MEF 137)"
STATE = {
    WorkOrderState.OPEN: "open",
    WorkOrderState.PLANNED: "planned",
    WorkOrderState.IN_PROGRESS: "inProgress",
    WorkOrderState.COMPLETED: "completed",
    WorkOrderState.CANCELLED: "cancelled",
    WorkOrderState.UNABLE_TO_COMPLETE: "unableToComplete",
}
CORE_STATE = {name: state for state, name in STATE.items()}
# What a work order is for, as MEF names the entity it relates to.
ORDER, TICKET = "ProductOrder", "TroubleTicket"


def place_ref(flavour: Flavour, caller: Caller, location_id: str) -> dict[str, Any]:
    """A known address as the place of a visit."""
    return {
        "@type": "GeographicAddressRef",
        "role": PLACE_ROLE,
        "id": location_id,
        "href": caller.href(
            flavour.base_path("geographic_address"), "geographicAddress", location_id
        ),
    }


def work_order_ref(flavour: Flavour, caller: Caller, work_order_id: str) -> dict[str, Any]:
    """A reference to a work order, as an appointment gives it."""
    return {
        "id": work_order_id,
        "href": caller.href(flavour.base_path(API), "workorder", work_order_id),
    }


def _related(work: WorkOrder, orders: dict[str, str]) -> dict[str, Any]:
    if work.ticket_id is not None:
        return {"@referredType": TICKET, "id": work.ticket_id, "role": "repair"}
    return {
        "@referredType": ORDER,
        "id": orders.get(work.order_item_id or "", ""),
        "role": "installation",
    }


async def _orders_of(caller: Caller, works: list[WorkOrder]) -> dict[str, str]:
    """The order of each work order's order item, in one statement."""
    items = await parties.get_many_scoped(
        caller.session,
        OrderItem,
        [w.order_item_id for w in works if w.order_item_id],
        caller.principal,
    )
    return {item_id: item.order_id for item_id, item in items.items()}


def _find_view(
    flavour: Flavour, caller: Caller, work: WorkOrder, orders: dict[str, str]
) -> dict[str, Any]:
    return dump(
        models.WorkOrderFind.model_validate(
            {
                "id": work.id,
                "appointmentRequired": work.appointment_required,
                "place": [place_ref(flavour, caller, work.location_id)],
                "relatedEntity": [_related(work, orders)],
                "state": STATE[work.state],
            }
        )
    )


def _view(
    flavour: Flavour,
    caller: Caller,
    work: WorkOrder,
    orders: dict[str, str],
    appointments: list[Appointment],
) -> dict[str, Any]:
    return dump(
        models.WorkOrder.model_validate(
            {
                "id": work.id,
                "href": caller.href(flavour.base_path(API), "workorder", work.id),
                "appointmentRequired": work.appointment_required,
                "appointment": [
                    {
                        "id": a.id,
                        "href": caller.href(flavour.base_path("appointment"), "appointment", a.id),
                    }
                    for a in appointments
                ],
                "duration": {
                    "timeDurationValue": work.duration_minutes,
                    "timeDurationUnits": "MIN",
                },
                "place": [place_ref(flavour, caller, work.location_id)],
                "plannedExecutionDate": work.planned_at,
                "relatedContactInformation": [SELLER_CONTACT],
                "relatedEntity": [_related(work, orders)],
                "state": STATE[work.state],
                "task": [work.task],
            }
        )
    )


@dataclass(frozen=True)
class WorkOrderSearch:
    """The criteria of a work order list as MEF 137 names them."""

    where: WorkOrderFilter
    order_id: str | None


async def work_order_search(
    caller: MEFCaller,
    site_id: Annotated[str | None, Query(alias="geographicalSiteId")] = None,
    address_id: Annotated[str | None, Query(alias="geographicalAddressId")] = None,
    entity_type: Annotated[str | None, Query(alias="relatedEntityType")] = None,
    entity_id: Annotated[str | None, Query(alias="relatedEntityId")] = None,
    state: str | None = None,
    appointment_required: Annotated[bool | None, Query(alias="appointmentRequired")] = None,
) -> WorkOrderSearch:
    """The work order criteria of a list request; unknown values are an Error400."""
    if state is not None and state not in CORE_STATE:
        raise bad_request("invalidQuery", f"state must be one of {', '.join(CORE_STATE)}")
    if entity_type not in (None, ORDER, TICKET):
        raise bad_request("invalidQuery", f"relatedEntityType must be {ORDER} or {TICKET}")
    # An id alone could name an order or a ticket: the buyer says which rather than getting
    # every work order back.
    if entity_id is not None and entity_type is None:
        raise bad_request(
            "missingQueryParameter",
            f"relatedEntityId needs relatedEntityType ({ORDER} or {TICKET})",
        )
    return WorkOrderSearch(
        WorkOrderFilter(
            party_id=caller.buyer_id,
            states=frozenset({CORE_STATE[state]}) if state else None,
            location_id=address_id,
            site_id=site_id,
            ticket_id=entity_id if entity_type == TICKET else None,
            appointment_required=appointment_required,
        ),
        entity_id if entity_type == ORDER else None,
    )


WorkOrderSearchDep = Annotated[WorkOrderSearch, Depends(work_order_search)]
routes = mef_router()


# The Grace file gives this list a single WorkOrder_Find as its schema, an error of the file: the
# list answers an array of them, with the paging headers, as every MEF list does.
@routes.get("/workorder", response_model=list[models.WorkOrderFind])
async def list_work_orders(query: MEFList, flavour: FlavourDep, search: WorkOrderSearchDep) -> Any:
    """The buyer's work orders that meet every criterion given, newest first."""
    caller, window = query.caller, query.window
    where = search.where
    if search.order_id is not None:
        items = await parties.children_scoped(
            caller.session, OrderItem, "order_id", [search.order_id], caller.principal
        )
        where = replace(where, order_item_ids=frozenset(i.id for i in items[search.order_id]))
    statement = workforce.work_orders_query(principal=caller.principal, where=where)
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    orders = await _orders_of(caller, page.items)
    return listing([_find_view(flavour, caller, w, orders) for w in page.items], total=page.total)


@routes.get("/workorder/{id}", response_model=models.WorkOrder)
async def get_work_order(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One of the buyer's work orders, with its appointments."""
    work = await workforce.get_work_order(
        caller.session, principal=caller.principal, work_order_id=id
    )
    owned_by_buyer(caller, work.party_id, "work order", id)
    booked = workforce.appointments_query(
        principal=caller.principal, where=workforce.AppointmentFilter(work_order_id=work.id)
    )
    appointments = list((await caller.session.exec(booked)).all())
    orders = await _orders_of(caller, [work])
    return mef_json(_view(flavour, caller, work, orders, appointments))


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 137 event for a core work order event."""
    if event.entity != EntityKind.WORK_ORDER:
        return None
    if event.kind is EventKind.CREATED:
        return "workOrderCreateEvent", {"id": event.entity_id}
    if event.kind is EventKind.STATE_CHANGED:
        return "workOrderStateChangeEvent", {"id": event.entity_id}
    if event.kind is EventKind.APPOINTMENT_REQUIRED:
        return "workOrderAppointmentRequiredEvent", {"id": event.entity_id}
    return None


NOTIFYING = NotifyingAPI(
    api=API, notification_api="work_order_notification", notification=notification
)
