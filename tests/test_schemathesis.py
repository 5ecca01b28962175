"""Property-based robustness of the served OpenAPI document: schemathesis generates requests for
every REST operation (paths, query parameters, headers and the bodies it describes); none may
end in a server error."""

import asyncio
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

EXAMPLES_PER_OPERATION = 3

bounded = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


async def _key(url: str, audience: Audience) -> str:
    database = Database.connect(url)
    try:
        async with database.session() as session:
            await seed_reference_data(session)
            party = await create_party(session, name=f"Fuzz {audience}", audience=audience)
            return await issue_api_key(session, party_id=party.id)
    finally:
        await database.dispose()


@pytest.mark.parametrize("audience", [Audience.CARRIER])
def test_generated_requests_never_fail_on_the_server(
    settings: Settings, audience: Audience
) -> None:
    key = asyncio.run(_key(settings.database_url, audience))
    app = create_app(settings, run_workers=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"schemathesis cannot read an operation: {result.err()}")
            continue
        operation = result.ok()

        @bounded
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            case.validate_response(response, checks=[checks.not_a_server_error])

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
