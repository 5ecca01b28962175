"""The served OpenAPI document describes every MEF body, and FastAPI's refusals answer in MEF."""

from typing import Any

import httpx
import pytest

from tests.factories import Caller
from tests.rest_facades.mef.conformance import check_response

ADDRESSES = {
    "sonata": "/mefApi/sonata/geographicAddressManagement/v7",
    "cantata": "/mefApi/cantata/geographicAddressManagement/v1",
}


@pytest.fixture(params=sorted(ADDRESSES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs on Sonata and on Cantata."""
    name: str = request.param
    return name


def _bodiless(operation: str) -> bool:
    """Ticket cancel and close take no body in the official files."""
    return operation.endswith(("/cancel", "/close"))


def _schema(response: dict[str, Any]) -> Any:
    """The schema of a JSON body (`application/json`, with or without its charset)."""
    content: dict[str, Any] = response.get("content", {})
    for body in content.values():
        return body.get("schema")
    return None


async def test_every_mef_operation_documents_its_bodies_and_security(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        if path.startswith("/mefApi/")
        for method, operation in item.items()
    ]
    assert len(operations) >= 96  # the seven APIs on both flavours, at least
    assert document["components"]["securitySchemes"]["bearerKey"]["scheme"] == "bearer"
    for name, operation in operations:
        assert {"bearerKey": []} in operation["security"], name
        if name.startswith("PATCH") or (name.startswith("POST") and not _bodiless(name)):
            assert _schema(operation["requestBody"]), name
        answers = {
            status: _schema(response)
            for status, response in operation["responses"].items()
            if status.startswith("2")
        }
        assert answers, name
        assert all(schema for status, schema in answers.items() if status != "204"), name
        for status in ("400", "401", "403", "404", "422", "500"):
            assert _schema(operation["responses"][status]), f"{name} {status}"


async def test_a_body_the_model_refuses_is_an_error422_with_pointers(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    url = f"{ADDRESSES[flavour]}/geographicAddressValidation"
    wrong = await client.post(
        url,
        headers=customer.headers,
        json={
            "provideAlternative": "sometimes",
            "submittedGeographicAddress": {"@type": "FieldedAddress", "city": 7},
        },
    )
    assert wrong.status_code == 422
    check_response(
        flavour, "geographic_address", "/geographicAddressValidation", "post", 422, wrong.json()
    )
    paths = {e["propertyPath"] for e in wrong.json()}
    assert {"/provideAlternative", "/submittedGeographicAddress/city"} <= paths


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b'{"provideAlternative": NaN}', {"Content-Type": "application/json"}),
        (b"", {"Content-Type": "application/json"}),
        (b"provideAlternative=true", {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
async def test_a_body_that_is_no_json_object_is_an_error400(
    client: httpx.AsyncClient,
    customer: Caller,
    flavour: str,
    content: bytes,
    headers: dict[str, str],
) -> None:
    response = await client.post(
        f"{ADDRESSES[flavour]}/geographicAddressValidation",
        headers={**customer.headers, **headers},
        content=content,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalidBody"


async def test_a_body_without_a_media_type_is_read_as_json(
    client: httpx.AsyncClient, customer: Caller, flavour: str
) -> None:
    response = await client.post(
        f"{ADDRESSES[flavour]}/geographicAddressValidation",
        headers=customer.headers,
        content=b'{"provideAlternative": false, "submittedGeographicAddress": '
        b'{"@type": "GeographicAddressRef", "id": "loc_nope"}}',
    )
    assert response.status_code in {200, 422}, response.text
    assert isinstance(response.json(), dict | list)
