"""What the schemathesis runs of the served documents share: bounded examples and a caller."""

from hypothesis import HealthCheck, Phase, settings

from app.core.db import Database
from app.core.demo import seed_reference_data
from app.core.parties import Audience, create_party, issue_api_key


def bounded_run(examples: int) -> settings:
    """Hypothesis settings for a short, repeatable run: `examples` per operation, no shrinking."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )


async def fuzz_key(url: str, audience: Audience) -> str:
    """An API key of a new party of `audience`, on a database with its reference data."""
    database = Database.connect(url)
    try:
        async with database.session() as session:
            await seed_reference_data(session)
            party = await create_party(session, name=f"Fuzz {audience}", audience=audience)
            return await issue_api_key(session, party_id=party.id)
    finally:
        await database.dispose()
