"""Property-based robustness: schemathesis generates queries and mutations from the served
GraphQL schema; none may end in a server error or a masked internal error."""

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from schemathesis.core.result import Err

from app.core.parties import Audience
from app.main import create_app
from app.settings import Settings
from tests.fuzzing import bounded_run, fuzz_key

pytestmark = pytest.mark.once

EXAMPLES_PER_FIELD = 4
MASKED = "Unexpected error"

bounded = bounded_run(EXAMPLES_PER_FIELD)


@pytest.mark.parametrize("audience", [Audience.DEVELOPER, Audience.OPS])
def test_generated_operations_never_fail_on_the_server(
    settings: Settings, audience: Audience
) -> None:
    key = asyncio.run(fuzz_key(settings.database_url, audience))
    app = create_app(settings, run_workers=False)
    schema = schemathesis.graphql.from_asgi("/graphql", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"schemathesis cannot read an operation: {result.err()}")
            continue
        operation = result.ok()

        @bounded
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            try:
                response = case.call(headers={"Authorization": f"Bearer {key}"})
            except Exception as exc:
                raise AssertionError(f"{case.body}: {type(exc).__name__}: {exc}") from exc
            assert response.status_code < 500, response.text
            errors = response.json().get("errors") or []
            unexplained = [
                e
                for e in errors
                if MASKED in str(e.get("message"))
                or ("path" in e and not (e.get("extensions") or {}).get("code"))
            ]
            assert not unexplained, f"{case.body}: {unexplained}"

        try:
            exercise()
        except Exception as exc:  # collect every field's failure, not just the first
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
