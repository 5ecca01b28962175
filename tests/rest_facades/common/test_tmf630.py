"""TMF630 filters, attribute selection and merge patch."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.paging import Condition, Operator
from rest_facades.common.tmf630 import (
    Attribute,
    as_date_time,
    as_text,
    by_name,
    conditions,
    matches,
    merge_patch,
    parse_filters,
    select_fields,
)

ORDER: dict[str, Any] = {
    "id": "ord_1",
    "href": "http://x/productOrder/ord_1",
    "@type": "ProductOrder",
    "state": "inProgress",
    "priority": "2",
    "orderDate": "2026-11-01T10:00:00Z",
    "relatedParty": [{"id": "pty_a", "role": "Customer"}, {"id": "pty_b", "role": "Seller"}],
    "productOrderItem": [{"id": "1", "quantity": 3, "product": {"name": "Line"}}],
}


def _keep(query: str) -> bool:
    pairs = [tuple(p.split("=", 1)) for p in query.split("&")]
    return matches(ORDER, parse_filters(pairs))  # type: ignore[arg-type]


def test_equality_dotted_paths_into_arrays_and_or() -> None:
    assert _keep("state=inProgress")
    assert not _keep("state=completed")
    assert _keep("state=completed,inProgress")
    assert _keep("relatedParty.id=pty_b")
    assert not _keep("relatedParty.id=pty_c")
    assert _keep("relatedParty.role=Customer&state=inProgress")
    assert _keep("productOrderItem.product.name=Line")


def test_operators_on_dates_and_numbers() -> None:
    assert _keep("orderDate.gt=2026-10-31T00:00:00Z")
    assert not _keep("orderDate.lt=2026-10-31T00:00:00Z")
    assert _keep("orderDate.gte=2026-11-01T10:00:00Z")
    assert _keep("orderDate.lte=2026-11-01T10:00:00Z")
    assert _keep("productOrderItem.quantity.gte=3")
    assert not _keep("productOrderItem.quantity.gt=3")
    assert not _keep("missing=anything")


def test_fields_keep_what_is_asked_and_the_identity() -> None:
    picked = select_fields(ORDER, "state,relatedParty.role")
    assert picked == {
        "id": "ord_1",
        "href": ORDER["href"],
        "@type": "ProductOrder",
        "state": "inProgress",
        "relatedParty": [{"id": "pty_a", "role": "Customer"}, {"id": "pty_b", "role": "Seller"}],
    }
    assert select_fields(ORDER, None) == ORDER


def test_merge_patch_follows_rfc_7386() -> None:
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}}) == {
        "a": "z",
        "c": {"d": "e"},
    }
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(max_size=3), json_values, max_size=4),
    st.dictionaries(st.text(max_size=3), json_values, max_size=4),
)
def test_merge_patch_is_idempotent(document: dict[str, Any], patch: dict[str, Any]) -> None:
    once = merge_patch(document, patch)
    assert merge_patch(once, patch) == once


class Field(StrEnum):
    STATE = "state"
    CREATED_AT = "created_at"
    EXTERNAL_ID = "external_id"


class State(StrEnum):
    OPEN = "open"
    OPEN_AGAIN = "open_again"
    DONE = "done"


ATTRIBUTES = {
    "state": Attribute(
        Field.STATE,
        by_name(
            {State.OPEN: "inProgress", State.OPEN_AGAIN: "inProgress", State.DONE: "completed"}
        ),
    ),
    "orderDate": Attribute(Field.CREATED_AT, as_date_time, ordered=True),
    "externalId": Attribute(Field.EXTERNAL_ID, as_text),
}


def _split(query: str) -> tuple[list[Condition[Field]], list[str]]:
    pairs = [tuple(p.split("=", 1)) for p in query.split("&")]
    mapped, rest = conditions(parse_filters(pairs), ATTRIBUTES)  # type: ignore[arg-type]
    return mapped, [".".join(f.path) for f in rest]


def test_stored_attributes_become_core_conditions_and_the_rest_wait() -> None:
    mapped, rest = _split(
        "state=inProgress,unknown&orderDate.gte=2026-11-01&externalId.gt=a&note.text=x"
    )
    assert mapped == [
        Condition(Field.STATE, Operator.EQ, (State.OPEN, State.OPEN_AGAIN)),
        Condition(Field.CREATED_AT, Operator.GTE, (datetime(2026, 11, 1, tzinfo=UTC),)),
    ]
    # Text takes no order in the core; an attribute the core lacks is matched on the page.
    assert rest == ["externalId", "note.text"]


def test_a_bad_date_names_the_filter() -> None:
    with pytest.raises(ValueError, match="orderDate: 'yesterday'"):
        _split("orderDate.gt=yesterday")
