"""One OpenAPI document per served MEF and TMF API, as the portal offers and the snapshots
keep them."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from app.api_documents import api_document, served_apis
from app.core.events import Channel
from app.deprecations import Deprecation, Surface

pytestmark = pytest.mark.once

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_every_served_operation_is_in_exactly_one_api_document(served_app: FastAPI) -> None:
    whole = served_app.openapi()["paths"]
    seen: list[tuple[str, str]] = []
    for api in served_apis(served_app):
        document = api_document(served_app, api, server_url="https://api.example.net")
        seen += [
            (api.base_path + path, method)
            for path, item in document["paths"].items()
            for method in item.keys() & METHODS
        ]
    platform = {("/healthz", "get"), ("/readyz", "get")}
    served = {(path, method) for path, item in whole.items() for method in item.keys() & METHODS}
    assert sorted(seen) == sorted(served - platform)


def test_a_document_names_our_server_and_its_release(served_app: FastAPI) -> None:
    apis = {api.slug: api for api in served_apis(served_app)}
    order = apis["sonata-product-order"]

    document = api_document(served_app, order, server_url="https://api.example.net/")

    assert (order.channel, order.standard, order.version) == (Channel.SONATA, "MEF 123", "10.0.0")
    assert document["servers"] == [
        {"url": "https://api.example.net/mefApi/sonata/productOrderingManagement/v10"}
    ]
    assert document["info"]["version"] == "10.0.0"
    assert "/productOrder" in document["paths"]
    assert apis["tmf622-product-ordering"].title == "TMF622 product ordering"
    assert apis["cantata-product-order"].title == "MEF 123 product ordering (Cantata)"


def test_every_reference_resolves_within_its_document(served_app: FastAPI) -> None:
    for api in served_apis(served_app):
        document = api_document(served_app, api, server_url="http://127.0.0.1:8000")
        names = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
        assert _refs(document) <= names, api.slug
        # Model names lose their module prefix where that leaves them unique.
        assert not any("rest_facades__" in name for name in names), api.slug
        json.dumps(document)


def test_a_deprecated_operation_is_marked_in_its_document(served_app: FastAPI) -> None:
    api = next(a for a in served_apis(served_app) if a.slug == "tmf622-product-ordering")
    deprecated = Deprecation(
        Surface.REST,
        f"GET {api.base_path}/productOrder/{{id}}",
        successor="GET /tmf-api/productOrderingManagement/v5/productOrder/{id}",
        announced=datetime(2026, 12, 1, tzinfo=UTC),
    )

    document = api_document(
        served_app, api, server_url="http://127.0.0.1:8000", deprecations=[deprecated]
    )

    assert document["paths"]["/productOrder/{id}"]["get"]["deprecated"] is True
    assert "deprecated" not in document["paths"]["/productOrder"]["get"]
