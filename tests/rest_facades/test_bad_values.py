"""Every value of a create body replaced by a wrong shape gets the face's own 400/422, never a
500, and a date-time that is not one is refused, never stored."""

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from rest_facades.mef.requests import _date_time_names as mef_date_times
from rest_facades.tmf.common import _date_time_names as tmf_date_times
from tests.factories import CHICAGO, NEW_YORK, Caller, location_id
from tests.rest_facades.common.test_idempotency import (
    SONATA_ORDERS,
    TMF_ORDERS,
    _sonata_order,
    _tmf_order,
)

WRONG_SHAPES: list[Any] = [None, [], {}, "not-a-date", -1, 0, True, 1e308]
WHEN = "2030-01-01T09:00:00Z"
Path = tuple[str | int, ...]


def _paths(node: Any, path: Path = ()) -> Iterator[Path]:
    """Every attribute and array element of a body, outermost first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index)
            yield from _paths(value, (*path, index))


def _replaced(body: Any, path: Path, value: Any) -> Any:
    changed = copy.deepcopy(body)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


async def _tmf_order_with_dates(session: AsyncSession) -> dict[str, Any]:
    body = await _tmf_order(session)
    body["requestedStartDate"] = WHEN
    body["requestedCompletionDate"] = WHEN
    body["productOrderItem"][0]["requestedCompletionDate"] = WHEN
    return body


async def _tmf_quote(session: AsyncSession) -> dict[str, Any]:
    return {
        "requestedQuoteCompletionDate": WHEN,
        "quoteItem": [
            {
                "id": "1",
                "action": "add",
                "product": {
                    "productOffering": {"id": "ethernet-line"},
                    "place": [
                        {"id": await location_id(session, CHICAGO), "role": "aEnd"},
                        {"id": await location_id(session, NEW_YORK), "role": "zEnd"},
                    ],
                    "productCharacteristic": [
                        {"name": "bandwidth", "value": 1000},
                        {"name": "termMonths", "value": 24},
                    ],
                },
            }
        ],
    }


async def _tmf_qualification(session: AsyncSession) -> dict[str, Any]:
    return {
        "requestedProductOfferingQualificationDate": WHEN,
        "productOfferingQualificationItem": [
            {
                "id": "1",
                "action": "add",
                "product": {
                    "productOffering": {"id": "internet-access"},
                    "place": [{"id": await location_id(session, CHICAGO), "role": "site"}],
                    "productCharacteristic": [{"name": "bandwidth", "value": 1000}],
                },
            }
        ],
    }


async def _tmf_ticket(session: AsyncSession) -> dict[str, Any]:
    return {
        "name": "Link down",
        "description": "No light on port 1 since 09:00.",
        "severity": "Significant",
        "priority": "High",
        "ticketType": "Assistance",
        "requestedResolutionDate": WHEN,
        "note": [{"author": "Ana", "text": "Rebooted our router.", "date": WHEN}],
    }


async def _sonata_order_with_dates(session: AsyncSession) -> dict[str, Any]:
    body = await _sonata_order(session)
    body["productOrderItem"][0]["requestedCompletionDate"] = WHEN
    return body


CREATES = {
    "tmf622": (TMF_ORDERS, _tmf_order_with_dates, tmf_date_times),
    "tmf648": ("/tmf-api/quoteManagement/v4/quote", _tmf_quote, tmf_date_times),
    "tmf679": (
        "/tmf-api/productOfferingQualification/v4/productOfferingQualification",
        _tmf_qualification,
        tmf_date_times,
    ),
    "tmf621": ("/tmf-api/troubleTicket/v4/troubleTicket", _tmf_ticket, tmf_date_times),
    "sonata-order": (SONATA_ORDERS, _sonata_order_with_dates, mef_date_times),
}


@pytest.mark.parametrize("create", sorted(CREATES))
async def test_wrong_shapes_are_refused_in_the_faces_words(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, create: str
) -> None:
    path, make_body, date_times = CREATES[create]
    body = await make_body(session)
    valid = await client.post(path, json=body, headers=carrier.headers)
    assert valid.status_code == 201, valid.text
    failures = []
    for where in _paths(body):
        for value in WRONG_SHAPES:
            answer = await client.post(
                path, json=_replaced(body, where, value), headers=carrier.headers
            )
            is_date_time = where[-1] in date_times()
            if answer.status_code >= 500:
                failures.append(f"{where} = {value!r}: {answer.status_code} {answer.text}")
            elif is_date_time and value is not None and answer.status_code not in {400, 422}:
                failures.append(f"{where} = {value!r}: a date-time taken: {answer.text[:200]}")
            elif answer.status_code in {400, 422}:
                refusal = answer.json()
                assert refusal[0]["code"] if isinstance(refusal, list) else refusal["@type"]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "value", [None, "Infinity", "-Infinity", "NaN", "1e400", "-1", "0", "[1000]", '{"v": 1}']
)
@pytest.mark.parametrize("name", ["bandwidth", "termMonths"])
async def test_tmf622_characteristics_must_be_whole_numbers(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, name: str, value: str
) -> None:
    body = await _tmf_order(session)
    for entry in body["productOrderItem"][0]["product"]["productCharacteristic"]:
        if entry["name"] == name:
            entry["value"] = "__VALUE__"
    raw = json.dumps(body).replace('"__VALUE__"', "null" if value is None else value)
    answer = await client.post(
        TMF_ORDERS,
        content=raw,
        headers=carrier.headers | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    refusal = answer.json()
    assert refusal["@type"] == "Error"
    if value in {"Infinity", "-Infinity", "NaN", "1e400"}:
        assert refusal["code"] == "INVALID_BODY"
    else:
        assert refusal["code"] == "INVALID_VALUE"
        assert name in refusal["reason"]


@pytest.mark.parametrize(
    "value",
    ["not-a-date", "2030-01-01", "2030-01-01T09:00:00", "20300101", "9999-12-31T23:59:59-23:59"],
)
async def test_garbage_dates_are_refused_naming_the_field(
    client: httpx.AsyncClient, session: AsyncSession, carrier: Caller, value: str
) -> None:
    tmf = await _tmf_order(session)
    tmf["requestedStartDate"] = value
    refused = await client.post(TMF_ORDERS, json=tmf, headers=carrier.headers)
    assert refused.status_code == 400
    assert refused.json()["reason"].startswith("requestedStartDate ")
    mef = await _sonata_order(session)
    mef["productOrderItem"][0]["requestedCompletionDate"] = value
    refused = await client.post(SONATA_ORDERS, json=mef, headers=carrier.headers)
    assert refused.status_code == 422
    [problem] = refused.json()
    assert problem["propertyPath"] == "/productOrderItem/0/requestedCompletionDate"
