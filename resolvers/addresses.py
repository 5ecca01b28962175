"""Address validation: an address the caller validates becomes a place it can refer to by id."""

from app.core import geography
from app.core.db import commit
from app.core.errors import CoreError
from resolvers.context import Info
from resolvers.errors import user_errors
from schema.geography import AddressInput, AddressReason, AddressValidationPayload, Location

_RESULTS = {
    geography.MatchQuality.EXACT: "SUCCESS",
    geography.MatchQuality.PARTIAL: "PARTIAL",
    geography.MatchQuality.NONE: "FAIL",
}


async def validate_address(info: Info, input: AddressInput) -> AddressValidationPayload:
    """Validate a US street address: the building or place it names (kept as your place, to
    order at by id), or the addresses it may have meant and why."""
    principal = info.context.caller()
    session = info.context.session
    try:
        result = await geography.validate_address(
            session, input.to_core(), party_id=principal.party_id
        )
        await commit(session)
    except CoreError as exc:
        await session.rollback()
        return AddressValidationPayload(user_errors=user_errors(exc))
    return AddressValidationPayload(
        result=_RESULTS[result.quality],
        place=Location.from_row(result.best) if result.best else None,
        alternatives=[Location.from_row(loc) for loc in result.alternates],
        reasons=[AddressReason(code=r.problem.name, message=r.message) for r in result.reasons],
    )
