"""MEF 137 Appointment: the buyer searches the free time slots of a work order, books a visit,
moves it and cancels it, and hears of its changes."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Response

from app.core import parties, workforce
from app.core.errors import Conflict, CoreError, IllegalTransition
from app.core.events import EntityKind, Event, EventKind
from app.core.paging import fetch_page
from app.core.workforce import (
    Appointment,
    AppointmentFilter,
    AppointmentState,
    Contact,
    Slot,
    WorkOrder,
)
from rest_facades.mef import hub
from rest_facades.mef.errors import (
    MEFError,
    bad_request,
    from_core_error,
    mef_json,
    pointer,
    unprocessable,
)
from rest_facades.mef.flavours import Flavour

# Handlers take the Sonata models for both flavours (see flavours.py).
from rest_facades.mef.generated.sonata import appointment as models
from rest_facades.mef.hub import NotifyingAPI
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
from rest_facades.mef.work_order import place_ref, work_order_ref

API = "appointment"
TAG = "appointments (MEF 137)"
STATUS = {
    AppointmentState.CONFIRMED: "confirmed",
    AppointmentState.IN_PROGRESS: "inProgress",
    AppointmentState.COMPLETED: "completed",
    AppointmentState.CANCELLED: "cancelled",
    AppointmentState.MISSED: "missed",
    AppointmentState.FAILED: "failed",
}
CORE_STATUS = {name: state for state, name in STATUS.items()}
# Where the core's refusals of a booking point in a MEF body.
_FIELDS = {"valid_for": "/validFor", "work_order": "/workOrder/id", "status": "/status"}


def _refused(error: CoreError, *, conflicts: bool = False) -> MEFError:
    """A core refusal in MEF form; where the operation answers no 409, a conflict is a 422."""
    where = _FIELDS.get(error.field or "", "")
    if isinstance(error, Conflict | IllegalTransition) and not conflicts:
        return unprocessable([("invalidValue", error.message, where)])
    return from_core_error(error, field_pointer=lambda f: _FIELDS.get(f or "", ""))


def _period(slot: Slot) -> dict[str, datetime]:
    return {"startDateTime": slot.starts_at, "endDateTime": slot.ends_at}


def _slot(period: models.TimePeriod, where: str) -> Slot:
    if period.endDateTime <= period.startDateTime:
        raise bad_request("invalidBody", f"{where}: the period must end after it starts")
    return Slot(period.startDateTime, period.endDateTime)


def _contact(sent: list[models.RelatedContactInformation]) -> Contact:
    first = sent[0]
    return Contact(first.name, first.emailAddress, first.number)


def _common(
    flavour: Flavour, caller: Caller, appointment: Appointment, location_id: str
) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "href": caller.href(flavour.base_path(API), "appointment", appointment.id),
        "relatedPlace": place_ref(flavour, caller, location_id),
        "status": STATUS[appointment.state],
        "validFor": _period(Slot(appointment.starts_at, appointment.ends_at)),
        "workOrder": work_order_ref(flavour, caller, appointment.work_order_id),
    }


async def _view(flavour: Flavour, caller: Caller, appointment: Appointment) -> dict[str, Any]:
    work = await workforce.get_work_order(
        caller.session, principal=caller.principal, work_order_id=appointment.work_order_id
    )
    return dump(
        models.Appointment.model_validate(
            _common(flavour, caller, appointment, work.location_id)
            | {
                "relatedContactInformation": [
                    {
                        "role": "siteContact",
                        "name": appointment.contact_name,
                        "emailAddress": appointment.contact_email,
                        "number": appointment.contact_number,
                    }
                ]
            }
        )
    )


async def appointment_search(
    caller: MEFCaller,
    work_order_id: Annotated[str | None, Query(alias="workOrderId")] = None,
    starts_after: Annotated[datetime | None, Query(alias="validFor.gt")] = None,
    ends_before: Annotated[datetime | None, Query(alias="validFor.lt")] = None,
    status: str | None = None,
    site_id: Annotated[str | None, Query(alias="geographicSiteId")] = None,
    address_id: Annotated[str | None, Query(alias="geographicAddressId")] = None,
) -> AppointmentFilter:
    """The appointment criteria of a list request; an unknown status is an Error400."""
    if status is not None and status not in CORE_STATUS:
        raise bad_request("invalidQuery", f"status must be one of {', '.join(CORE_STATUS)}")
    return AppointmentFilter(
        party_id=caller.buyer_id,
        work_order_id=work_order_id,
        states=frozenset({CORE_STATUS[status]}) if status else None,
        starts_after=starts_after,
        ends_before=ends_before,
        location_id=address_id,
        site_id=site_id,
    )


AppointmentSearchDep = Annotated[AppointmentFilter, Depends(appointment_search)]


async def _refuse_other_buyers(caller: Caller, appointment_id: str) -> None:
    """Refuse, before changing anything, an appointment of a buyer other than the one named."""
    if caller.buyer_id is not None:
        appointment = await workforce.get_appointment(
            caller.session, principal=caller.principal, appointment_id=appointment_id
        )
        owned_by_buyer(caller, appointment.party_id, "appointment", appointment_id)


routes = mef_router()


@routes.post("/searchTimeSlot", status_code=201, response_model=models.SearchTimeSlot)
async def search_time_slots(
    body: models.SearchTimeSlotCreate, caller: MEFCaller, flavour: FlavourDep
) -> Any:
    """The free visit windows of a work order within the periods asked for."""
    within = [
        _slot(s.validFor, f"requestedTimeSlot/{i}/validFor")
        for i, s in enumerate(body.requestedTimeSlot)
    ]
    try:
        free = await workforce.free_slots(
            caller.session,
            principal=caller.principal,
            work_order_id=body.workOrder.id,
            within=within,
        )
    except CoreError as exc:
        raise _refused(exc) from exc
    answer = models.SearchTimeSlot.model_validate(
        {
            "workOrder": work_order_ref(flavour, caller, body.workOrder.id),
            "requestedTimeSlot": [{"validFor": _period(s)} for s in within],
            "availableTimeSlot": [{"validFor": _period(s)} for s in free],
        }
    )
    return mef_json(dump(answer), status=201)


@routes.post("/appointment", status_code=201, response_model=models.Appointment)
async def create_appointment(
    body: models.AppointmentCreate, caller: MEFCaller, flavour: FlavourDep
) -> Any:
    """Book a visit for a work order in one of its free windows."""
    try:
        appointment = await workforce.book(
            caller.session,
            principal=caller.principal,
            work_order_id=body.workOrder.id,
            slot=_slot(body.validFor, "validFor"),
            contact=_contact(body.relatedContactInformation),
        )
    except CoreError as exc:
        raise _refused(exc) from exc
    view = await _view(flavour, caller, appointment)
    return mef_json(view, status=201, headers={"Location": view["href"]})


@routes.get("/appointment", response_model=list[models.AppointmentFind])
async def list_appointments(
    query: MEFList, flavour: FlavourDep, where: AppointmentSearchDep
) -> Any:
    """The buyer's appointments that meet every criterion given, soonest first."""
    caller, window = query.caller, query.window
    statement = workforce.appointments_query(principal=caller.principal, where=where)
    page = await fetch_page(caller.session, statement, offset=window.offset, limit=window.limit)
    works = await parties.get_many_scoped(
        caller.session, WorkOrder, [a.work_order_id for a in page.items], caller.principal
    )
    views = [
        dump(
            models.AppointmentFind.model_validate(
                _common(flavour, caller, a, works[a.work_order_id].location_id)
            )
        )
        for a in page.items
    ]
    return listing(views, total=page.total)


@routes.get("/appointment/{id}", response_model=models.Appointment)
async def get_appointment(id: str, caller: MEFCaller, flavour: FlavourDep) -> Any:
    """One of the buyer's appointments."""
    appointment = await workforce.get_appointment(
        caller.session, principal=caller.principal, appointment_id=id
    )
    owned_by_buyer(caller, appointment.party_id, "appointment", id)
    return mef_json(await _view(flavour, caller, appointment))


@routes.patch("/appointment/{id}", response_model=models.Appointment)
async def update_appointment(
    id: str, body: models.AppointmentUpdate, caller: MEFCaller, flavour: FlavourDep
) -> Any:
    """Move a confirmed appointment to another free window, or change the site contact."""
    if body.relatedPlace is not None:
        refusal = bad_request("invalidBody", "the place of a visit is that of its work order")
        refusal.body["propertyPath"] = pointer(["relatedPlace"])
        raise refusal
    await _refuse_other_buyers(caller, id)
    try:
        appointment = await workforce.reschedule(
            caller.session,
            principal=caller.principal,
            appointment_id=id,
            slot=_slot(body.validFor, "validFor") if body.validFor else None,
            contact=_contact(body.relatedContactInformation)
            if body.relatedContactInformation
            else None,
        )
    except CoreError as exc:
        raise _refused(exc, conflicts=True) from exc
    return mef_json(await _view(flavour, caller, appointment))


@routes.post("/appointment/{id}/cancel", status_code=204, response_class=Response)
async def cancel_appointment(id: str, caller: MEFCaller) -> Response:
    """Cancel a confirmed appointment; its work order waits for another."""
    await _refuse_other_buyers(caller, id)
    try:
        await workforce.cancel(caller.session, principal=caller.principal, appointment_id=id)
    except CoreError as exc:
        raise _refused(exc) from exc
    return Response(status_code=204)


routes.include_router(hub.routes)


def notification(flavour: Flavour, event: Event) -> tuple[str, dict[str, Any]] | None:
    """The MEF 137 event for a core appointment event."""
    if event.entity != EntityKind.APPOINTMENT:
        return None
    if event.kind is EventKind.STATE_CHANGED:
        return "appointmentStatusChangeEvent", {"id": event.entity_id}
    if event.kind is EventKind.ATTRIBUTE_CHANGED:
        return "appointmentAttributeValueChangeEvent", {"id": event.entity_id}
    return None


NOTIFYING = NotifyingAPI(
    api=API, notification_api="appointment_notification", notification=notification
)
