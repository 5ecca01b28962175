"""Property-based conformance: schemathesis generates requests from the official TM Forum v4
files and checks that every operation the platform serves answers without a server error, with a
status, media type and body the same files allow."""

import asyncio
import os
import re
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.core.result import Err

from app.core.db import Database
from app.core.demo import seed_reference_data
from app.core.parties import Audience, create_party, issue_api_key
from app.main import create_app
from app.settings import Settings
from tests.rest_facades.tmf.conformance import SPECS, requires_specs

pytestmark = [requires_specs, pytest.mark.once]
# Fewer on the PostgreSQL run: there the database, not the faces' conformance, is under test.
EXAMPLES_PER_OPERATION = 3 if os.environ.get("LUMEN_TEST_DATABASE_URL") else 8
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
SPEC_FILES = (
    sorted(
        p.name
        for p in SPECS.glob("TMF*-v4*.swagger.json")
        if not p.name.startswith(("TMF638", "TMF641"))
    )
    if SPECS.is_dir()
    else []
)
settings_for_examples = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)


async def _enterprise_key(url: str) -> str:
    database = Database.connect(url)
    try:
        async with database.session() as session:
            await seed_reference_data(session)
            party = await create_party(session, name="Conformance", audience=Audience.ENTERPRISE)
            return await issue_api_key(session, party_id=party.id)
    finally:
        await database.dispose()


def _served(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path pattern) of every documented route, with `{param}` made generic."""
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


@pytest.mark.parametrize("spec_file", SPEC_FILES)
def test_generated_requests_get_conformant_answers(settings: Settings, spec_file: str) -> None:
    key = asyncio.run(_enterprise_key(settings.database_url))
    app = create_app(settings, run_workers=False)
    served = _served(app)
    schema = schemathesis.openapi.from_path(SPECS / spec_file)
    schema.app = app
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            continue
        operation = result.ok()
        full = re.sub(r"\{[^}]+\}", "{}", schema.get_full_path(operation.path))
        if (operation.method.upper(), full.rstrip("/")) not in served:
            continue  # not served yet: the README lists what each API offers
        tested += 1

        @settings_for_examples
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
    if tested == 0:
        pytest.skip(f"no operation of {spec_file} is served yet")
    assert not failures, "\n\n".join(failures)
