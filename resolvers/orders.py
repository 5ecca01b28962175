"""Changing orders and services: cancel, change bandwidth, and the operations step."""

from dataclasses import replace

from app.core import fulfilment, inventory, ordering
from app.core.errors import CoreError
from app.core.events import Channel
from resolvers.context import Info
from resolvers.errors import node_id, user_errors
from resolvers.idempotency import place_once
from schema.inventory import Service
from schema.ordering import Order
from schema.payloads import (
    AdvanceOrderInput,
    CancelOrderInput,
    ChangeBandwidthInput,
    ChangeBandwidthPayload,
    OrderPayload,
)


async def cancel_order(info: Info, input: CancelOrderInput) -> OrderPayload:
    """Ask to cancel an order that is not yet complete."""
    principal = info.context.caller()
    session = info.context.session
    try:
        order = await ordering.request_cancellation(
            session,
            principal=principal,
            reason=input.reason,
            order_id=node_id(input.order_id, "Order", field="order_id"),
        )
    except CoreError as exc:
        await session.rollback()
        return OrderPayload(
            user_errors=user_errors(exc, rename={"id": "orderId", "order_id": "orderId"})
        )
    return OrderPayload(order=Order.from_row(order))


async def change_bandwidth(info: Info, input: ChangeBandwidthInput) -> ChangeBandwidthPayload:
    """Order a new bandwidth for an active service; it changes when the order completes."""
    principal = info.context.caller()
    session = info.context.session
    rename = {
        "items[0].product_id": "serviceId",
        "service_id": "serviceId",
        "id": "serviceId",
        "items[0].bandwidth_mbps": "bandwidthMbps",
        "items[0].product": "bandwidthMbps",
    }
    try:
        service_id = node_id(input.service_id, "Service", field="service_id")
        current = await inventory.get_product(
            session, principal=principal, product_id=service_id, field_name="service_id"
        )
        placed, _ = await place_once(
            info,
            key=input.idempotency_key,
            mutation="changeBandwidth",
            request={"service_id": service_id, "bandwidth_mbps": input.bandwidth_mbps},
            place=lambda: ordering.place(
                session,
                principal=principal,
                channel=Channel.GRAPHQL,
                items=[
                    ordering.ItemRequest(
                        action=ordering.ItemAction.MODIFY,
                        product_id=current.id,
                        spec=replace(current.spec(), bandwidth_mbps=input.bandwidth_mbps),
                    )
                ],
            ),
        )
        await session.refresh(current)
    except CoreError as exc:
        await session.rollback()
        return ChangeBandwidthPayload(user_errors=user_errors(exc, rename=rename))
    return ChangeBandwidthPayload(
        order=Order.from_row(placed.order), service=Service.from_row(current)
    )


async def advance_order(info: Info, input: AdvanceOrderInput) -> OrderPayload:
    """Operations staff: take an order its next step now."""
    principal = info.context.ops()
    session = info.context.session
    try:
        order = await fulfilment.advance_order(
            session,
            principal=principal,
            order_id=node_id(input.order_id, "Order", field="order_id"),
        )
    except CoreError as exc:
        await session.rollback()
        return OrderPayload(
            user_errors=user_errors(exc, rename={"id": "orderId", "order_id": "orderId"})
        )
    return OrderPayload(order=Order.from_row(order))
