"""Property-based conformance: schemathesis generates requests from the official Sonata and
Cantata files and checks that the platform answers each without a server error, with a status,
media type and body that the same files allow."""

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.core.result import Err

from app.core.db import Database
from app.core.demo import seed_reference_data
from app.core.parties import Audience, create_party, issue_api_key
from app.main import create_app
from app.settings import Settings
from rest_facades.mef.codegen import DEFAULT_SPECS, find_api_files
from tests.rest_facades.mef.conformance import requires_specs

pytestmark = [requires_specs, pytest.mark.once]
# Fewer on the PostgreSQL run: there the database, not the faces' conformance, is under test.
EXAMPLES_PER_OPERATION = 3 if os.environ.get("LUMEN_TEST_DATABASE_URL") else 8
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
MANAGEMENT_APIS = [
    "geographic_address",
    "geographic_site",
    "product_offering_qualification",
    "quote",
    "product_order",
    "product_inventory",
    "trouble_ticket",
    "availability_and_pricing",
    "billing",
    "appointment",
]
# Not run: the Grace files of MEF W142 (which schemathesis cannot read as OpenAPI) and of MEF 137
# work orders (whose list schema is a single object); their tests check each answer instead.


def _official(flavour: str, api: str) -> Path:
    return find_api_files(DEFAULT_SPECS, flavour)[api]


async def _buyer_key(url: str, audience: Audience) -> str:
    database = Database.connect(url)
    try:
        async with database.session() as session:
            await seed_reference_data(session)
            party = await create_party(session, name="Conformance", audience=audience)
            return await issue_api_key(session, party_id=party.id)
    finally:
        await database.dispose()


@pytest.mark.parametrize("flavour", ["sonata", "cantata"])
@pytest.mark.parametrize("api", MANAGEMENT_APIS)
def test_generated_requests_get_conformant_answers(
    settings: Settings, flavour: str, api: str
) -> None:
    # Carriers buy over Sonata, enterprises over Cantata.
    audience = Audience.CARRIER if flavour == "sonata" else Audience.ENTERPRISE
    key = asyncio.run(_buyer_key(settings.database_url, audience))
    app = create_app(settings, run_workers=False)
    schema = schemathesis.openapi.from_path(_official(flavour, api))
    schema.app = app
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(
                f"the official file has an operation schemathesis cannot read: {result.err()}"
            )
            continue
        operation = result.ok()

        @settings_for_examples
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)


settings_for_examples = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)
