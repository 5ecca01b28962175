"""Property-based robustness of the served OpenAPI document: schemathesis generates requests for
every REST operation (paths, query parameters, headers and the bodies it describes); none may
end in a server error."""

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from schemathesis import checks
from schemathesis.core.result import Err

from app.core.parties import Audience
from app.main import create_app
from app.settings import Settings
from tests.fuzzing import bounded_run, fuzz_key

pytestmark = pytest.mark.once

EXAMPLES_PER_OPERATION = 3

bounded = bounded_run(EXAMPLES_PER_OPERATION)


@pytest.mark.parametrize("audience", [Audience.CARRIER, Audience.ENTERPRISE])
def test_generated_requests_never_fail_on_the_server(
    settings: Settings, audience: Audience
) -> None:
    key = asyncio.run(fuzz_key(settings.database_url, audience))
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
