"""Deprecated REST operations answer `Deprecation` and `Sunset`; GraphQL deprecations carry
their reasons; everything comes from the one registry."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, build_schema

from app import main
from app.core.db import Database
from app.deprecations import DEPRECATIONS, Deprecation, Surface, graphql_reason, listed
from app.governance import served_sdl
from app.settings import Settings
from tests.factories import Caller

ROOT = Path(__file__).resolve().parents[1]
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
SONATA_ORDER = "/mefApi/sonata/productOrderingManagement/v10/productOrder/{id}"
ANNOUNCED = datetime(2026, 12, 1, tzinfo=UTC)
SUNSET = datetime(2027, 6, 1, tzinfo=UTC)
# Test entries: nothing of REST is deprecated today.
REST_ENTRIES = (
    Deprecation(Surface.REST, f"GET {ORDERS}", "GET /tmf-api/x/v5/productOrder", ANNOUNCED, SUNSET),
    Deprecation(
        Surface.REST, f"GET {SONATA_ORDER}", "GET /mefApi/x/v11/productOrder/{id}", ANNOUNCED
    ),
)


@pytest.fixture
async def deprecating_client(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app whose registry also deprecates two REST operations."""
    monkeypatch.setattr(main, "DEPRECATIONS", DEPRECATIONS + REST_ENTRIES)
    app = main.create_app(settings, run_workers=False)
    app.state.database = database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_deprecated_operation_answers_deprecation_and_sunset(
    deprecating_client: httpx.AsyncClient, carrier: Caller
) -> None:
    response = await deprecating_client.get(ORDERS, headers=carrier.headers)

    assert response.status_code == 200
    assert response.headers["Deprecation"] == f"@{int(ANNOUNCED.timestamp())}"
    assert response.headers["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert parsedate_to_datetime(response.headers["Sunset"]) == SUNSET
    assert response.headers["Link"] == '</portal/versioning>; rel="deprecation"; type="text/html"'


async def test_only_the_deprecated_operation_is_announced(
    deprecating_client: httpx.AsyncClient, carrier: Caller
) -> None:
    created = await deprecating_client.post(ORDERS, json={}, headers=carrier.headers)
    other = await deprecating_client.get(f"{ORDERS}/unknown", headers=carrier.headers)

    assert "Deprecation" not in created.headers
    assert "Deprecation" not in other.headers


async def test_a_refusal_of_a_deprecated_operation_is_announced_too(
    deprecating_client: httpx.AsyncClient, carrier: Caller
) -> None:
    path = SONATA_ORDER.replace("{id}", "unknown")
    response = await deprecating_client.get(path, headers=carrier.headers)

    assert response.status_code == 404
    assert re.fullmatch(r"@\d+", response.headers["Deprecation"])
    assert "Sunset" not in response.headers


def _deprecated_in(sdl: str) -> dict[str, str]:
    """`Type.field` of every deprecated field, argument, input field and enum value."""
    found: dict[str, str] = {}
    for name, kind in build_schema(sdl).type_map.items():
        if isinstance(kind, GraphQLObjectType):
            for field_name, field in kind.fields.items():
                if field.deprecation_reason:
                    found[f"{name}.{field_name}"] = field.deprecation_reason
                for arg_name, arg in field.args.items():
                    if arg.deprecation_reason:
                        found[f"{name}.{field_name}({arg_name})"] = arg.deprecation_reason
        elif isinstance(kind, GraphQLInputObjectType):
            for field_name, input_field in kind.fields.items():
                if input_field.deprecation_reason:
                    found[f"{name}.{field_name}"] = input_field.deprecation_reason
        elif isinstance(kind, GraphQLEnumType):
            for value_name, value in kind.values.items():
                if value.deprecation_reason:
                    found[f"{name}.{value_name}"] = value.deprecation_reason
    return found


def test_graphql_deprecations_are_the_registry_s_with_their_reasons() -> None:
    registered = {d.target: d.reason for d in DEPRECATIONS if d.surface is Surface.GRAPHQL}

    assert _deprecated_in(served_sdl()) == registered
    assert graphql_reason("Event.entity") == (
        "Use `Event.entityKind` instead. It is removed after 2027-06-01."
    )


def test_the_portal_list_puts_the_soonest_sunset_first() -> None:
    later = Deprecation(
        Surface.REST, "GET /a", "GET /b", ANNOUNCED, datetime(2028, 1, 1, tzinfo=UTC)
    )
    never = Deprecation(Surface.REST, "GET /c", "GET /d", ANNOUNCED)

    assert listed([never, later, *DEPRECATIONS]) == [*DEPRECATIONS, later, never]


def test_the_policy_names_every_deprecation() -> None:
    policy = (ROOT / "docs" / "versioning.md").read_text()
    for deprecation in DEPRECATIONS:
        assert f"`{deprecation.target}`" in policy
        assert deprecation.successor in policy
