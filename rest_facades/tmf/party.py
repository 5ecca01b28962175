"""TMF632 Party v4: the people and organisations each party keeps (created, changed and removed
by it), the parties it is or acts for as organizations, and the contact people of its sites as
individuals (read-only here: they change with the site, through TMF674)."""

from dataclasses import replace
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response

from app.core import contacts, parties, relations
from app.core.contacts import (
    Organization,
    OrganizationField,
    OrganizationState,
    Person,
    PersonField,
    PersonState,
)
from app.core.errors import NotFound
from app.core.events import EntityKind, Event
from app.core.geography import SITE_CONTACT_SUFFIX, Site
from app.core.parties import Audience, Party, Principal
from app.core.relations import Holder, Relations
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_date_time,
    as_text,
    constant,
    in_document,
    kept_filters,
    linked,
)
from rest_facades.tmf.common import TMFQueryDep, href, iso, listed, resource
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import party as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.records import (
    SERVER_SET,
    add_resource_routes,
    as_boolean,
    changes,
    dumped,
    from_core,
    kept_to_core,
    medium_filters,
    one_of,
    related_filters,
    with_relations,
)

BASE = "/tmf-api/party/v4"
F = TypeVar("F", bound=StrEnum)


def characteristic_filters(kept: F, name: str, value: F, *, shown: F) -> dict[str, Attribute[F]]:
    """Filters on the `partyCharacteristic` entries of a list whose rows of one kind (those of
    which `shown` is true) show the one characteristic `name` (a text, its value the field
    `value`), and whose other rows show those kept as given in `kept`."""
    at = ("partyCharacteristic",)
    return {
        f"{at[0]}.name": replace(in_document(kept, *at, "name"), constant=(name,), shown=shown),
        f"{at[0]}.valueType": replace(
            in_document(kept, *at, "valueType"), constant=("string",), shown=shown
        ),
        f"{at[0]}.value": Attribute(
            value, as_text, ordered=True, also=in_document(kept, *at, "value")
        ),
    }


# Individual attributes the core keeps in fields of its own, by their TMF names.
PERSON_FIELDS: dict[str, PersonField] = {
    "id": PersonField.ID,
    "givenName": PersonField.GIVEN_NAME,
    "familyName": PersonField.FAMILY_NAME,
    "middleName": PersonField.MIDDLE_NAME,
    "familyNamePrefix": PersonField.FAMILY_NAME_PREFIX,
    "preferredGivenName": PersonField.PREFERRED_GIVEN_NAME,
    "fullName": PersonField.FULL_NAME,
    "formattedName": PersonField.FORMATTED_NAME,
    "legalName": PersonField.LEGAL_NAME,
    "title": PersonField.TITLE,
    "aristocraticTitle": PersonField.ARISTOCRATIC_TITLE,
    "generation": PersonField.GENERATION,
    "gender": PersonField.GENDER,
    "maritalStatus": PersonField.MARITAL_STATUS,
    "nationality": PersonField.NATIONALITY,
    "countryOfBirth": PersonField.COUNTRY_OF_BIRTH,
    "placeOfBirth": PersonField.PLACE_OF_BIRTH,
    "location": PersonField.LOCATION,
    "birthDate": PersonField.BIRTH_DATE,
    "deathDate": PersonField.DEATH_DATE,
    "status": PersonField.STATE,
}
DATES = {PersonField.BIRTH_DATE, PersonField.DEATH_DATE}
# The attributes of an individual that the core stores and filters on.
PERSON_FILTERS: dict[str, Attribute[PersonField]] = {
    **{
        name: Attribute(field, as_date_time, ordered=True)
        if field in DATES
        else Attribute(field, one_of(PersonState) if field is PersonField.STATE else as_text)
        for name, field in PERSON_FIELDS.items()
    },
    **related_filters(PersonField),
    **medium_filters(PersonField),
    "href": linked(PersonField.ID, BASE, "individual"),
    "@type": constant(PersonField.ID, "Individual"),
    # A site's contact person links its employer, the party that owns the site.
    "relatedParty.href": replace(
        linked(PersonField.EMPLOYER, BASE, "organization"),
        also=Attribute(PersonField.RELATED_PARTY_HREF, as_text),
    ),
}
# By any path below them, the attributes of an individual that the core keeps as given.
PERSON_FILTERS |= kept_filters(
    tmf.IndividualCreate, PersonField.EXTRA, [*PERSON_FILTERS, *SERVER_SET]
)
# A site's contact person shows the site it is the contact of as a characteristic; the people
# a party keeps show the characteristics it gave them.
PERSON_FILTERS |= characteristic_filters(
    PersonField.EXTRA, "siteContactOf", PersonField.CONTACT_OF, shown=PersonField.IS_SITE
)
ORGANIZATION_FIELDS: dict[str, OrganizationField] = {
    "id": OrganizationField.ID,
    "name": OrganizationField.NAME,
    "tradingName": OrganizationField.TRADING_NAME,
    "nameType": OrganizationField.NAME_TYPE,
    "organizationType": OrganizationField.ORGANIZATION_TYPE,
    "isLegalEntity": OrganizationField.IS_LEGAL_ENTITY,
    "isHeadOffice": OrganizationField.IS_HEAD_OFFICE,
    "status": OrganizationField.STATE,
}
# The attributes of an organization that the core stores and filters on.
ORGANIZATION_FILTERS: dict[str, Attribute[OrganizationField]] = {
    "id": Attribute(OrganizationField.ID, as_text),
    "name": Attribute(OrganizationField.NAME, as_text),
    "tradingName": Attribute(OrganizationField.TRADING_NAME, as_text),
    "nameType": Attribute(OrganizationField.NAME_TYPE, as_text),
    "organizationType": Attribute(OrganizationField.ORGANIZATION_TYPE, as_text),
    "isLegalEntity": Attribute(OrganizationField.IS_LEGAL_ENTITY, as_boolean),
    "isHeadOffice": Attribute(OrganizationField.IS_HEAD_OFFICE, as_boolean),
    "status": Attribute(OrganizationField.STATE, one_of(OrganizationState)),
    "existsDuring.startDateTime": Attribute(
        OrganizationField.EXISTS_FROM, as_date_time, ordered=True
    ),
    "existsDuring.endDateTime": Attribute(
        OrganizationField.EXISTS_UNTIL, as_date_time, ordered=True
    ),
    **related_filters(OrganizationField),
    **medium_filters(OrganizationField),
    "href": linked(OrganizationField.ID, BASE, "organization"),
    "@type": constant(OrganizationField.ID, "Organization"),
}
ORGANIZATION_FILTERS |= kept_filters(
    tmf.OrganizationCreate, OrganizationField.EXTRA, [*ORGANIZATION_FILTERS, *SERVER_SET]
)
# A party of the platform shows its country as a characteristic.
ORGANIZATION_FILTERS |= characteristic_filters(
    OrganizationField.EXTRA,
    "country",
    OrganizationField.PARTY_COUNTRY,
    shown=OrganizationField.IS_PARTY,
)
# Every attribute of both lists filters in SQL.
AFTER_PAGE: frozenset[str] = frozenset()


def individual_view(request: Request, person: Person, kept: Relations) -> dict[str, Any]:
    """A person the caller keeps as a TMF632 Individual."""
    view = {**(person.extra or {}), **from_core(person, PERSON_FIELDS)}
    with_relations(view, kept.parties_of(person.id), kept.media_of(person.id))
    return {
        **view,
        "href": href(request, BASE, "individual", person.id),
        "@type": "Individual",
    }


def site_contact_view(request: Request, site: Site) -> dict[str, Any]:
    """The contact person of a site as a TMF632 Individual."""
    individual_id = f"{site.id}{SITE_CONTACT_SUFFIX}"
    name = site.contact_name or ""
    given, family = contacts.split_contact_name(name)
    view: dict[str, Any] = {
        "id": individual_id,
        "href": href(request, BASE, "individual", individual_id),
        "@type": "Individual",
        "fullName": name,
        "formattedName": name,
        "givenName": given,
        "familyName": family,
        "status": PersonState.VALIDATED.value,
        "relatedParty": [
            {
                "id": site.party_id,
                "href": href(request, BASE, "organization", site.party_id),
                "role": "employer",
                "@referredType": "Organization",
            },
        ],
        "partyCharacteristic": [
            {"name": "siteContactOf", "value": site.id, "valueType": "string"},
        ],
    }
    if site.contact_phone:
        view["contactMedium"] = [
            {
                "mediumType": "phone",
                "preferred": True,
                "characteristic": {"contactType": "phone", "phoneNumber": site.contact_phone},
            }
        ]
    return view


def _individual(request: Request, found: Person | Site, kept: Relations) -> dict[str, Any]:
    return (
        site_contact_view(request, found)
        if isinstance(found, Site)
        else individual_view(request, found, kept)
    )


async def _people_relations(session: Any, found: list[Person | Site]) -> Relations:
    ids = [p.id for p in found if isinstance(p, Person)]
    return await relations.load(session, Holder.PERSON, ids)


async def _organization_relations(session: Any, found: list[Organization | Party]) -> Relations:
    ids = [o.id for o in found if isinstance(o, Organization)]
    return await relations.load(session, Holder.ORGANIZATION, ids)


def party_view(request: Request, party: Party) -> dict[str, Any]:
    """A party of the platform as a TMF632 Organization."""
    view: dict[str, Any] = {
        "id": party.id,
        "href": href(request, BASE, "organization", party.id),
        "@type": "Organization",
        "name": party.name,
        "tradingName": party.name,
        "isLegalEntity": True,
        "isHeadOffice": True,
        "organizationType": party.audience.value,
        "status": OrganizationState.VALIDATED.value,
        "existsDuring": {"startDateTime": iso(party.created_at)},
        "partyCharacteristic": [
            {"name": "country", "value": party.country, "valueType": "string"},
        ],
    }
    if party.email:
        view["contactMedium"] = [
            {
                "mediumType": "email",
                "preferred": True,
                "characteristic": {"contactType": "email", "emailAddress": party.email},
            }
        ]
    return view


def organization_view(
    request: Request, organization: Organization, kept: Relations
) -> dict[str, Any]:
    """An organisation the caller keeps as a TMF632 Organization."""
    view = {**(organization.extra or {}), **from_core(organization, ORGANIZATION_FIELDS)}
    with_relations(view, kept.parties_of(organization.id), kept.media_of(organization.id))
    during = {
        key: iso(moment)
        for key, moment in (
            ("startDateTime", organization.exists_from),
            ("endDateTime", organization.exists_until),
        )
        if moment is not None
    }
    if during:
        view["existsDuring"] = during
    return {
        **view,
        "href": href(request, BASE, "organization", organization.id),
        "@type": "Organization",
    }


def _organization(request: Request, found: Organization | Party, kept: Relations) -> dict[str, Any]:
    return (
        party_view(request, found)
        if isinstance(found, Party)
        else organization_view(request, found, kept)
    )


def _person_to_core(body: dict[str, Any]) -> dict[str, Any]:
    return kept_to_core(body, PERSON_FIELDS)


def _organization_to_core(body: dict[str, Any]) -> dict[str, Any]:
    values = kept_to_core(
        {k: v for k, v in body.items() if k != "existsDuring"}, ORGANIZATION_FIELDS
    )
    if "existsDuring" in body:
        during = body["existsDuring"] or {}
        values["exists_from"] = during.get("startDateTime")
        values["exists_until"] = during.get("endDateTime")
    return values


def _email(body: dict[str, Any]) -> str | None:
    for medium in body.get("contactMedium") or []:
        if isinstance(medium, dict) and isinstance(medium.get("characteristic"), dict):
            email = medium["characteristic"].get("emailAddress")
            if isinstance(email, str):
                return email
    return None


async def _party(session: Any, principal: Principal, party_id: str) -> Party | None:
    """A party of the platform the caller may see, if the id names one."""
    try:
        return await parties.get_party(session, principal=principal, party_id=party_id)
    except NotFound:
        return None


async def list_individuals(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The contact people of the caller's sites, then the people it keeps."""
    conditions, after = query.conditions(PERSON_FILTERS, AFTER_PAGE)
    page = await contacts.list_people(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    kept = await _people_relations(session, page.items)
    views = [_individual(request, found, kept) for found in page.items]
    return await listed(query, views, total=page.total, after=after)


async def get_individual(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's people, or the contact person of one of its sites."""
    found = await contacts.get_person_or_contact(session, principal=principal, person_id=id)
    kept = await _people_relations(session, [found])
    return resource(query, _individual(request, found, kept))


async def create_individual(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: tmf.IndividualCreate,
) -> Response:
    """Record a person the caller deals with."""
    person = await contacts.create_person(
        session, principal=principal, person=_person_to_core(dumped(body))
    )
    view = individual_view(request, person, await _people_relations(session, [person]))
    return tmf_json(view, status=201, headers={"Location": view["href"]})


async def patch_individual(
    id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: tmf.IndividualUpdate,
) -> Response:
    """Change a person the caller keeps, by merge patch."""
    if id.endswith(SITE_CONTACT_SUFFIX):
        raise _site_contact()
    person = await contacts.get_person(session, principal=principal, person_id=id)
    current = individual_view(request, person, await _people_relations(session, [person]))
    patched = changes(dumped(body), current, _person_to_core)
    updated = await contacts.update_person(
        session, principal=principal, person_id=id, changes=patched
    )
    return tmf_json(individual_view(request, updated, await _people_relations(session, [updated])))


async def delete_individual(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Forget a person the caller keeps."""
    if id.endswith(SITE_CONTACT_SUFFIX):
        raise _site_contact()
    await contacts.delete_person(session, principal=principal, person_id=id)
    return Response(status_code=204)


def _site_contact() -> TMFError:
    return TMFError(
        405,
        "METHOD_NOT_ALLOWED",
        "the contact person of a site changes with the site, through geographicSite",
    )


async def list_organizations(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The parties the caller is or acts for (every party, for operations staff), then the
    organisations it keeps."""
    conditions, after = query.conditions(ORGANIZATION_FILTERS, AFTER_PAGE)
    page = await contacts.list_organizations(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    kept = await _organization_relations(session, page.items)
    views = [_organization(request, found, kept) for found in page.items]
    return await listed(query, views, total=page.total, after=after)


async def get_organization(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """A party the caller is or acts for, or an organisation it keeps."""
    party = await _party(session, principal, id)
    if party is not None:
        return resource(query, party_view(request, party))
    kept = await contacts.get_organization(session, principal=principal, organization_id=id)
    found = await _organization_relations(session, [kept])
    return resource(query, organization_view(request, kept, found))


async def create_organization(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: tmf.OrganizationCreate,
) -> Response:
    """Record an organisation the caller deals with; operations staff register a party of the
    platform (a customer or partner, its `organizationType` the party's audience)."""
    given = dumped(body)
    if principal.is_ops:
        view = party_view(request, await _register_party(session, given))
    else:
        kept = await contacts.create_organization(
            session, principal=principal, organization=_organization_to_core(given)
        )
        found = await _organization_relations(session, [kept])
        view = organization_view(request, kept, found)
    return tmf_json(view, status=201, headers={"Location": view["href"]})


async def _register_party(session: Any, body: dict[str, Any]) -> Party:
    trading = body["tradingName"]
    if not trading.strip():
        raise TMFError(400, "MISSING_ATTRIBUTE", "tradingName is mandatory")
    kind = body.get("organizationType") or Audience.ENTERPRISE.value
    if kind not in set(Audience):
        raise TMFError(
            400,
            "INVALID_VALUE",
            "organizationType must be one of " + ", ".join(a.value for a in Audience),
        )
    name = body.get("name") or trading
    return await parties.create_party(
        session, name=name, audience=Audience(kind), email=_email(body)
    )


async def patch_organization(
    id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: tmf.OrganizationUpdate,
) -> Response:
    """Change an organisation the caller keeps, by merge patch; operations staff rename a party
    of the platform or change its e-mail."""
    patch = dumped(body)
    party = await _party(session, principal, id)
    if party is not None:
        principal.require_ops()
        return tmf_json(party_view(request, await _patch_party(session, principal, party, patch)))
    kept = await contacts.get_organization(session, principal=principal, organization_id=id)
    current = organization_view(request, kept, await _organization_relations(session, [kept]))
    patched = changes(patch, current, _organization_to_core)
    updated = await contacts.update_organization(
        session, principal=principal, organization_id=id, changes=patched
    )
    found = await _organization_relations(session, [updated])
    return tmf_json(organization_view(request, updated, found))


async def _patch_party(
    session: Any, principal: Principal, party: Party, patch: dict[str, Any]
) -> Party:
    before = party_view_fields(party)
    for fixed in ("organizationType", "existsDuring"):
        if fixed in patch and patch[fixed] != before.get(fixed):
            raise TMFError(400, "NOT_PATCHABLE", f"{fixed} cannot be changed")
    name = patch.get("name")
    if "tradingName" in patch and "name" not in patch:
        name = patch.get("tradingName")
    email = _email(patch) if "contactMedium" in patch else None
    return await parties.update_party(
        session,
        principal=principal,
        party_id=party.id,
        name=name if isinstance(name, str) else None,
        email=(email or "") if "contactMedium" in patch else None,
    )


def party_view_fields(party: Party) -> dict[str, Any]:
    """The attributes of a party's Organization that a patch cannot change."""
    return {
        "organizationType": party.audience.value,
        "existsDuring": {"startDateTime": iso(party.created_at)},
    }


async def delete_organization(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Forget an organisation the caller keeps; operations staff remove a party of the
    platform that nothing refers to."""
    if await _party(session, principal, id) is not None:
        principal.require_ops()
        await parties.delete_party(session, principal=principal, party_id=id)
    else:
        await contacts.delete_organization(session, principal=principal, organization_id=id)
    return Response(status_code=204)


# The TMF632 resource of each kind of kept record the core has events about.
RESOURCES = {EntityKind.PERSON: "individual", EntityKind.ORGANIZATION: "organization"}


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """A core event about a kept person or organisation as the resource it notifies about."""
    found = RESOURCES.get(event.entity)
    if found is None:
        return None
    view = {"id": event.entity_id, "@type": found[0].upper() + found[1:]}
    if event.state:
        view["status"] = event.state
    return found, view


NOTIFYING = NotifyingAPI("party", describe)


router = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF632 party"])
add_resource_routes(
    router,
    "individual",
    tmf.Individual,
    list[tmf.Individual],
    (list_individuals, get_individual, create_individual, patch_individual, delete_individual),
)
add_resource_routes(
    router,
    "organization",
    tmf.Organization,
    list[tmf.Organization],
    (
        list_organizations,
        get_organization,
        create_organization,
        patch_organization,
        delete_organization,
    ),
)
add_hub_routes(router, NOTIFYING)
