"""The core's vocabularies, exposed as GraphQL enums (registered once, here).

The GraphQL enums are the core's own enum classes; the aliases name them as the schema does."""

import strawberry

from app.core import (
    billing,
    catalog,
    events,
    geography,
    inventory,
    ordering,
    parties,
    qualification,
    quoting,
    tickets,
    workforce,
)

Audience = parties.Audience
Channel = events.Channel
EventKind = events.EventKind
EntityKind = events.EntityKind
DeliveryStatus = events.DeliveryStatus
LocationKind = geography.LocationKind
GeocodePrecision = geography.GeocodePrecision
Serviceability = geography.Serviceability
ProductKind = catalog.ProductKind
ClassOfService = catalog.ClassOfService
Confidence = qualification.Confidence
QuoteKind = quoting.QuoteKind
QuoteState = quoting.QuoteState
QuoteItemState = quoting.QuoteItemState
OrderState = ordering.OrderState
OrderItemState = ordering.ItemState
OrderItemAction = ordering.ItemAction
ServiceState = inventory.ProductState
TicketState = tickets.TicketState
TicketSeverity = tickets.Severity
TicketPriority = tickets.Priority
TicketType = tickets.TicketType
TicketImpact = tickets.Impact
InvoiceKind = billing.BillKind
InvoiceState = billing.BillState
ChargeKind = billing.RateKind
WorkOrderState = workforce.WorkOrderState
WorkReason = workforce.WorkReason
AppointmentState = workforce.AppointmentState

for _enum, _name in (
    (Audience, "Audience"),
    (Channel, "Channel"),
    (EventKind, "EventKind"),
    (EntityKind, "EntityKind"),
    (DeliveryStatus, "DeliveryStatus"),
    (LocationKind, "LocationKind"),
    (GeocodePrecision, "GeocodePrecision"),
    (Serviceability, "Serviceability"),
    (ProductKind, "ProductKind"),
    (ClassOfService, "ClassOfService"),
    (Confidence, "Confidence"),
    (QuoteKind, "QuoteKind"),
    (QuoteState, "QuoteState"),
    (QuoteItemState, "QuoteItemState"),
    (OrderState, "OrderState"),
    (OrderItemState, "OrderItemState"),
    (OrderItemAction, "OrderItemAction"),
    (ServiceState, "ServiceState"),
    (TicketState, "TicketState"),
    (TicketSeverity, "TicketSeverity"),
    (TicketPriority, "TicketPriority"),
    (TicketType, "TicketType"),
    (TicketImpact, "TicketImpact"),
    (InvoiceKind, "InvoiceKind"),
    (InvoiceState, "InvoiceState"),
    (ChargeKind, "ChargeKind"),
    (WorkOrderState, "WorkOrderState"),
    (WorkReason, "WorkReason"),
    (AppointmentState, "AppointmentState"),
):
    strawberry.enum(_enum, name=_name)
