"""API keys, principals and the tenancy rule."""

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import ordering
from app.core.errors import Conflict, InvalidRequest, NotAuthorized, NotFound, Unauthenticated
from app.core.parties import (
    ApiKey,
    Audience,
    Channel,
    Principal,
    Scope,
    authenticate,
    create_party,
    delete_party,
    get_party,
    issue_api_key,
    list_parties,
    revoke_api_key,
    update_party,
)
from tests.factories import Caller, make_caller, make_order


async def test_a_key_resolves_to_its_party_and_is_stored_only_as_a_hash(
    session: AsyncSession, developer: Caller
) -> None:
    principal = await authenticate(session, developer.key)
    assert principal.party_id == developer.party_id
    assert principal.audience is Audience.DEVELOPER
    assert principal.scopes == {Scope.READ, Scope.WRITE}
    stored = (await session.exec(select(ApiKey))).all()
    assert stored
    assert all(developer.key not in (row.secret_hash, row.key_id) for row in stored)
    assert all(len(row.secret_hash) == 64 for row in stored)


@pytest.mark.parametrize(
    "key", [None, "", "not-a-key", "lumen_000000000000_secret", "lumen_only-two-parts"]
)
async def test_unknown_keys_are_refused(session: AsyncSession, key: str | None) -> None:
    with pytest.raises(Unauthenticated):
        await authenticate(session, key)


async def test_a_key_with_the_right_id_but_wrong_secret_is_refused(
    session: AsyncSession, developer: Caller
) -> None:
    forged = developer.key[:-4] + "0000"
    with pytest.raises(Unauthenticated):
        await authenticate(session, forged)


async def test_a_revoked_key_stops_working(session: AsyncSession, developer: Caller) -> None:
    key_id = developer.key.split("_")[1]
    await revoke_api_key(session, principal=developer.principal, key_id=key_id)
    with pytest.raises(Unauthenticated):
        await authenticate(session, developer.key)


async def test_a_party_cannot_revoke_another_partys_key(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    with pytest.raises(NotFound):
        await revoke_api_key(
            session, principal=other_developer.principal, key_id=developer.key.split("_")[1]
        )
    assert (await authenticate(session, developer.key)).party_id == developer.party_id


async def test_seeded_keys_are_reproducible(session: AsyncSession, developer: Caller) -> None:
    first = await issue_api_key(session, party_id=developer.party_id, name="demo", secret_seed="s")
    again = await issue_api_key(session, party_id=developer.party_id, name="demo", secret_seed="s")
    other = await issue_api_key(session, party_id=developer.party_id, name="demo", secret_seed="t")
    assert first == again != other
    assert (await authenticate(session, again)).party_id == developer.party_id


async def test_ops_keys_carry_the_ops_scope(session: AsyncSession, ops: Caller) -> None:
    assert ops.principal.is_ops
    assert Scope.OPS in ops.principal.scopes


async def test_an_agent_acting_for_several_buyers_must_name_one(session: AsyncSession) -> None:
    east = await make_caller(session, "carrier", name="Atlas East")
    west = await make_caller(session, "carrier", name="Atlas West")
    agent = await make_caller(
        session, "carrier", name="Atlas Wholesale", acting_for=[east.party_id, west.party_id]
    )
    assert agent.principal.acting_for == {east.party_id, west.party_id}

    with pytest.raises(InvalidRequest) as refused:
        await make_order(session, agent)
    assert refused.value.code == "BUYER_REQUIRED"
    assert refused.value.field == "buyer"

    placed = await make_order(session, agent, buyer_party_id=east.party_id)
    assert placed.order.party_id == east.party_id
    assert placed.order.placed_by_party_id == agent.party_id
    # The buyer sees the order its agent placed; the other buyer does not.
    found = await ordering.get_order(session, principal=east.principal, order_id=placed.order.id)
    assert found.order.id == placed.order.id
    with pytest.raises(NotFound):
        await ordering.get_order(session, principal=west.principal, order_id=placed.order.id)


async def test_naming_a_buyer_the_caller_does_not_act_for_is_not_found(
    session: AsyncSession, developer: Caller, other_developer: Caller
) -> None:
    with pytest.raises(NotFound) as refused:
        await make_order(session, developer, buyer_party_id=other_developer.party_id)
    assert refused.value.field == "buyer"


async def test_parties_visible_to_a_caller(
    session: AsyncSession, developer: Caller, other_developer: Caller, ops: Caller
) -> None:
    mine = await list_parties(session, principal=developer.principal)
    assert [p.id for p in mine] == [developer.party_id]
    everyone = await list_parties(session, principal=ops.principal)
    assert {developer.party_id, other_developer.party_id, ops.party_id} <= {p.id for p in everyone}


async def test_ops_may_act_for_any_existing_buyer_only(
    session: AsyncSession, developer: Caller, ops: Caller
) -> None:
    placed = await make_order(session, ops, buyer_party_id=developer.party_id)
    assert placed.order.party_id == developer.party_id
    assert placed.order.placed_by_party_id == ops.party_id
    with pytest.raises(NotFound) as refused:
        await make_order(session, ops, buyer_party_id="pty_nobody")
    assert refused.value.field == "buyer"


async def test_operations_staff_update_and_delete_parties_nothing_refers_to(
    session: AsyncSession, ops: Caller, developer: Caller
) -> None:
    with pytest.raises(NotAuthorized):
        await update_party(
            session, principal=developer.principal, party_id=developer.party_id, name="x"
        )
    with pytest.raises(InvalidRequest):
        await update_party(session, principal=ops.principal, party_id=developer.party_id, name="")
    renamed = await update_party(
        session, principal=ops.principal, party_id=developer.party_id, email="a@b.example"
    )
    assert (renamed.name, renamed.email) == ("Nimbus Labs", "a@b.example")
    with pytest.raises(Conflict):
        await delete_party(session, principal=ops.principal, party_id=developer.party_id)
    with pytest.raises(NotAuthorized):
        await delete_party(session, principal=developer.principal, party_id=developer.party_id)
    bare = await create_party(session, name="Bare", audience=Audience.ENTERPRISE)
    await delete_party(session, principal=ops.principal, party_id=bare.id)
    with pytest.raises(NotFound):
        await get_party(session, principal=ops.principal, party_id=bare.id)


@pytest.mark.parametrize(
    ("audience", "allowed"),
    [
        (Audience.DEVELOPER, {Channel.GRAPHQL}),
        (Audience.CARRIER, {Channel.SONATA, Channel.TMF}),
        (Audience.ENTERPRISE, {Channel.CANTATA, Channel.TMF}),
        (Audience.OPS, set(Channel)),
    ],
)
def test_an_audience_uses_only_its_own_channels(audience: Audience, allowed: set[Channel]) -> None:
    principal = Principal(party_id="pty_x", audience=audience)
    for channel in Channel:
        if channel in allowed:
            principal.require_channel(channel)
        else:
            with pytest.raises(NotAuthorized, match=f"{audience} API keys may not use"):
                principal.require_channel(channel)
