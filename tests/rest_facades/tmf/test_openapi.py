"""The served OpenAPI document describes the typed TMF operations: bodies, answers, the shared
query parameters, TMF errors and the bearer key."""

import httpx
import pytest

TYPED = (
    "/tmf-api/productOrderingManagement/v4/",
    "/tmf-api/productInventory/v4/",
    "/tmf-api/party/v4/",
    "/tmf-api/accountManagement/v4/",
)


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, object]:
    answer: dict[str, object] = (await client.get("/openapi.json")).json()
    return answer


async def test_typed_operations_describe_their_bodies_and_answers(
    document: dict[str, dict[str, dict[str, dict[str, object]]]],
) -> None:
    operations = [
        (method, path, operation)
        for path, methods in document["paths"].items()
        if path.startswith(TYPED)
        for method, operation in methods.items()
    ]
    assert len(operations) >= 15
    for method, path, operation in operations:
        where = f"{method} {path}"
        responses = operation["responses"]
        assert isinstance(responses, dict)
        assert "422" not in responses, where
        assert "$ref" in str(responses["4XX"]), where
        answered = [status for status in responses if status.startswith("2")]
        if answered != ["204"]:
            assert "schema" in str(responses[answered[0]]), where
        if method in {"post", "patch"} and not path.endswith("/product"):
            assert "$ref" in str(operation["requestBody"]), where
        if method == "get" and not path.endswith("}"):
            names = {p["name"] for p in operation["parameters"]}  # type: ignore[attr-defined]
            assert {"offset", "limit", "fields"} <= names, where
        assert operation["security"] == [{"apiKey": []}], where


async def test_the_bearer_key_is_a_security_scheme(
    document: dict[str, dict[str, dict[str, dict[str, object]]]],
) -> None:
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
