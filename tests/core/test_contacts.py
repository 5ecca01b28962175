"""The people and organisations a party keeps, listed with its site contacts and parties."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import contacts, geography
from app.core.contacts import OrganizationField, Person, PersonField
from app.core.geography import AddressInput, Site
from app.core.paging import Condition, Operator
from tests.factories import CHICAGO, NEW_YORK, make_caller


async def test_site_contacts_split_at_the_first_space_in_the_database(
    session: AsyncSession,
) -> None:
    owner = await make_caller(session, "enterprise", name="Nimbus Labs")
    for text, name in ((CHICAGO, "Ann Marie Smith"), (NEW_YORK, "Prince")):
        await geography.create_site(
            session, principal=owner.principal, address=AddressInput(text=text), contact_name=name
        )
    await contacts.create_person(
        session, principal=owner.principal, person={"given_name": "Marie", "family_name": "Ann"}
    )

    async def names(field: PersonField, value: str) -> list[str]:
        page = await contacts.list_people(
            session,
            principal=owner.principal,
            conditions=[Condition(field, Operator.EQ, (value,))],
        )
        return [
            item.contact_name or "" if isinstance(item, Site) else item.given_name
            for item in page.items
        ]

    assert await names(PersonField.FAMILY_NAME, "Marie Smith") == ["Ann Marie Smith"]
    assert await names(PersonField.GIVEN_NAME, "Ann") == ["Ann Marie Smith"]
    assert await names(PersonField.GIVEN_NAME, "Prince") == ["Prince"]
    assert await names(PersonField.FAMILY_NAME, "") == ["Prince"]
    assert await names(PersonField.GIVEN_NAME, "Marie") == ["Marie"]
    assert contacts.split_contact_name("Ann Marie Smith") == ("Ann", "Marie Smith")


async def test_a_party_sees_only_its_own_people_and_organisations(
    session: AsyncSession,
) -> None:
    mine = await make_caller(session, "enterprise", name="Nimbus Labs")
    theirs = await make_caller(session, "enterprise", name="Quanta Devices")
    ops = await make_caller(session, "ops", name="Operations")
    kept = await contacts.create_organization(
        session, principal=mine.principal, organization={"trading_name": "Coffee"}
    )
    await contacts.create_person(
        session, principal=theirs.principal, person={"given_name": "A", "family_name": "B"}
    )
    page = await contacts.list_organizations(session, principal=mine.principal)
    assert [getattr(o, "id", None) for o in page.items] == [mine.party_id, kept.id]
    assert (await contacts.list_people(session, principal=mine.principal)).total == 0
    typed = await contacts.list_organizations(
        session,
        principal=ops.principal,
        conditions=[Condition(OrganizationField.ORGANIZATION_TYPE, Operator.EQ, ("enterprise",))],
    )
    assert {o.id for o in typed.items} == {mine.party_id, theirs.party_id}
    everyone = await contacts.list_people(session, principal=ops.principal)
    assert [type(p) for p in everyone.items] == [Person]
