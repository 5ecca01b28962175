"""TMF674 Geographic Site v4: a party's sites, each at one address of the address book.

`code` (the site's id), `status` and `place` are the seller's: a PATCH may repeat them, and a site
at another address is another site. The rest of GeographicSite_Update is the buyer's: `name`,
`description` (access instructions), the `siteContact` and other related parties, `calendar` and
`siteRelationship` (kept as given)."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import geography, parties
from app.core.errors import NotFound
from app.core.events import Event
from app.core.geography import SITE_CONTACT_SUFFIX, AddressInput, Location, Site, SiteField
from app.core.parties import Principal
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_text,
    constant,
    in_document,
    linked,
    merge_patch,
)
from rest_facades.tmf.common import TMFQueryDep, buyer_and_related_parties, href, listed, resource
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import geographic_site as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes
from rest_facades.tmf.patching import refuse_sellers_changes

BASE = "/tmf-api/geographicSiteManagement/v4"
ADDRESS_BASE = "/tmf-api/geographicAddressManagement/v4"
PARTY_BASE = "/tmf-api/party/v4"
CONTACT_ROLE = "siteContact"
OWNER_ROLES = {"customer", "owner", "buyer"}
# What the buyer sent that the core keeps as given ("relatedParty": parties besides the owner and
# the site contact).
KEPT = ("calendar", "siteRelationship", "relatedParty")
BUYERS = (*KEPT, "name", "description", "@type")
ADDRESS_FIELDS = {
    "streetNr": "street_number",
    "streetName": "street_name",
    "city": "city",
    "stateOrProvince": "state",
    "postcode": "postcode",
    "country": "country",
}


def contact_id(site: Site) -> str:
    """The id under which a site's contact person is known (TMF632 `Individual`)."""
    return f"{site.id}{SITE_CONTACT_SUFFIX}"


def site_view(
    request: Request, site: Site, location: Location, owner_name: str | None
) -> dict[str, Any]:
    """A site as a TMF674 GeographicSite."""
    owner: dict[str, Any] = {
        "id": site.party_id,
        "href": href(request, PARTY_BASE, "organization", site.party_id),
        "role": "customer",
        "@type": "RelatedParty",
        "@referredType": "Organization",
    }
    if owner_name:
        owner["name"] = owner_name
    related = [owner]
    if site.contact_name:
        related.append(
            {
                "id": contact_id(site),
                "href": href(request, PARTY_BASE, "individual", contact_id(site)),
                "name": site.contact_name,
                "role": CONTACT_ROLE,
                "@type": "RelatedParty",
                "@referredType": "Individual",
            }
        )
    view: dict[str, Any] = {
        "id": site.id,
        "href": href(request, BASE, "geographicSite", site.id),
        "@type": "GeographicSite",
        "name": site.name,
        "code": site.id,
        "status": "active",
        "place": [
            {
                "id": location.id,
                "href": href(request, ADDRESS_BASE, "geographicAddress", location.id),
                "name": location.line,
                "@type": "GeographicAddress",
                "@referredType": "GeographicAddress",
                "streetNr": location.street_number,
                "streetName": location.street_name,
                "city": location.city,
                "stateOrProvince": location.state,
                "postcode": location.postcode,
                "country": location.country,
            }
        ],
        "relatedParty": related,
    }
    if site.instructions:
        view["description"] = site.instructions
    view |= {k: site.annotations[k] for k in KEPT if site.annotations.get(k) is not None}
    view["relatedParty"] = [*related, *(site.annotations.get("relatedParty") or [])]
    return view


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise TMFError(400, "INVALID_VALUE", f"{name} is a string")
    return value


def _contact(body: dict[str, Any]) -> str | None:
    for party in body.get("relatedParty") or []:
        if isinstance(party, dict) and party.get("role") == CONTACT_ROLE:
            return _text(party, "name")
    return None


def _buyer(body: dict[str, Any]) -> str | None:
    for party in body.get("relatedParty") or []:
        if isinstance(party, dict) and party.get("role") in OWNER_ROLES:
            return _text(party, "id")
    return None


def _others(parties: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The related parties besides the owner and the site contact (whom the site names)."""
    return [
        p
        for p in parties or []
        if p.get("role") != CONTACT_ROLE and p.get("role") not in OWNER_ROLES
    ]


def _kept(body: dict[str, Any]) -> dict[str, Any]:
    """What the core keeps as given of a body (a `None` value removes what was kept)."""
    kept = {k: body[k] for k in KEPT if k in body}
    if "relatedParty" in kept:
        kept["relatedParty"] = _others(kept["relatedParty"]) or None
    return kept


async def _address(
    session: AsyncSession, principal: Principal, body: dict[str, Any]
) -> AddressInput:
    places = body.get("place")
    if not isinstance(places, list) or not places or not isinstance(places[0], dict):
        raise TMFError(400, "MISSING_ATTRIBUTE", "place (the site's address) is mandatory")
    place: dict[str, Any] = places[0]
    if not any(place.get(k) for k in ADDRESS_FIELDS) and isinstance(place.get("id"), str):
        location = await geography.get_location(session, place["id"], principal=principal)
        return AddressInput(text=location.line)
    values = {core: _text(place, tmf) for tmf, core in ADDRESS_FIELDS.items()}
    if not any(values.values()):
        name = _text(place, "name")
        if not name:
            raise TMFError(400, "MISSING_ATTRIBUTE", "place needs an id or an address")
        return AddressInput(text=name)
    return AddressInput(**values)


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """Nothing: the core records no events about sites, so listeners hear nothing yet."""
    return None


NOTIFYING = NotifyingAPI("geographicSite", describe)


def _when(shown: str) -> Callable[[str], tuple[bool, ...]]:
    """Filter values of a field that is true where a row shows `shown`."""
    return lambda text: (True,) if text == shown else ()


def _with_contact(filters: dict[str, Attribute[SiteField]]) -> dict[str, Attribute[SiteField]]:
    """Filters on `relatedParty` that also find the site's contact person (an Individual, role
    `siteContact`)."""
    contact = {
        "relatedParty.id": Attribute(SiteField.CONTACT, as_text),
        "relatedParty.role": Attribute(SiteField.HAS_CONTACT, _when(CONTACT_ROLE)),
        "relatedParty.@referredType": Attribute(SiteField.HAS_CONTACT, _when("Individual")),
    }
    found = dict(filters)
    for name, attribute in contact.items():
        found[name] = replace(found[name], also=replace(attribute, also=found[name].also))
    return found


# TMF674 attributes that the core's site query answers.
FILTERS: dict[str, Attribute[SiteField]] = {
    "id": Attribute(SiteField.ID, as_text),
    "code": Attribute(SiteField.ID, as_text),
    "name": Attribute(SiteField.NAME, as_text),
    "description": Attribute(SiteField.INSTRUCTIONS, as_text),
    "place.id": Attribute(SiteField.LOCATION, as_text),
    "place.streetNr": Attribute(SiteField.STREET_NUMBER, as_text),
    "place.streetName": Attribute(SiteField.STREET_NAME, as_text),
    "place.city": Attribute(SiteField.CITY, as_text),
    "place.stateOrProvince": Attribute(SiteField.STATE, as_text),
    "place.postcode": Attribute(SiteField.POSTCODE, as_text, ordered=True),
    "place.country": Attribute(SiteField.COUNTRY, as_text),
    "place.name": Attribute(SiteField.LINE, as_text),
    "place.href": linked(SiteField.LOCATION, ADDRESS_BASE, "geographicAddress"),
    "place.@type": constant(SiteField.ID, "GeographicAddress"),
    "place.@referredType": constant(SiteField.ID, "GeographicAddress"),
    "href": linked(SiteField.ID, BASE, "geographicSite"),
    # What the buyer sent that the core keeps as given, by any path below it.
    **{name: in_document(SiteField.ANNOTATIONS, name) for name in KEPT},
    "@type": constant(SiteField.ID, "GeographicSite"),
    "status": constant(SiteField.ID, "active"),
    # The owner (role `customer`), the site's contact person and the parties the buyer named.
    **_with_contact(buyer_and_related_parties(SiteField.PARTY, SiteField.ANNOTATIONS)),
    # The contact's name, the owner's, or that of a party the buyer named.
    "relatedParty.name": Attribute(
        SiteField.CONTACT_NAME,
        as_text,
        also=Attribute(
            SiteField.OWNER_NAME,
            as_text,
            also=in_document(SiteField.ANNOTATIONS, "relatedParty", "name"),
        ),
    ),
    # The owner's link (an Organization), the contact's (an Individual), or a named party's.
    "relatedParty.href": replace(
        linked(SiteField.PARTY, PARTY_BASE, "organization"),
        also=replace(
            linked(SiteField.CONTACT, PARTY_BASE, "individual"),
            also=in_document(SiteField.ANNOTATIONS, "relatedParty", "href"),
        ),
    ),
    # The owner and the contact are `RelatedParty` entries, beside those the buyer named.
    "relatedParty.@type": Attribute(
        SiteField.ANNOTATIONS,
        as_text,
        ordered=True,
        document=("relatedParty", "@type"),
        constant=("RelatedParty",),
    ),
}
# Every attribute filters in SQL.
AFTER_PAGE: frozenset[str] = frozenset()


async def _views(
    request: Request, session: AsyncSession, principal: parties.Principal, sites: list[Site]
) -> list[dict[str, Any]]:
    locations = await geography.get_locations(session, [s.location_id for s in sites])
    names = await parties.party_names(
        session, principal=principal, party_ids=[s.party_id for s in sites]
    )
    return [site_view(request, s, locations[s.location_id], names.get(s.party_id)) for s in sites]


routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF674 geographic site"])


@routes.get("/geographicSite", response_model=list[tmf.GeographicSite])
async def list_sites(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """The caller's sites."""
    conditions, after = query.conditions(FILTERS, AFTER_PAGE)
    page = await geography.find_sites(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = await _views(request, session, principal, page.items)
    return await listed(query, views, total=page.total, after=after)


@routes.get("/geographicSite/{id}", response_model=tmf.GeographicSite)
async def get_site(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One of the caller's sites."""
    site = await geography.get_site(session, principal=principal, site_id=id)
    [view] = await _views(request, session, principal, [site])
    return resource(query, view)


@routes.post("/geographicSite", status_code=201, response_model=tmf.GeographicSite)
async def create_site(
    body: tmf.GeographicSiteCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Register a site at an address of the address book."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    try:
        address = await _address(session, principal, sent)
        site = await geography.create_site(
            session,
            principal=principal,
            address=address,
            name=body.name,
            buyer_party_id=_buyer(sent),
            contact_name=_contact(sent),
            instructions=body.description,
            annotations=_kept(sent),
        )
    except NotFound as exc:
        # The spec answers no 404 on create: what the body names is a bad value.
        raise TMFError(400, "INVALID_VALUE", exc.message) from exc
    [view] = await _views(request, session, principal, [site])
    return tmf_json(view, status=201, headers={"Location": view["href"]})


@routes.patch("/geographicSite/{id}", response_model=tmf.GeographicSite)
async def patch_site(
    id: str,
    body: tmf.GeographicSiteUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change what the buyer says about a site, by merge patch."""
    site = await geography.get_site(session, principal=principal, site_id=id)
    [before] = await _views(request, session, principal, [site])
    patch = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    merged = merge_patch(before, patch)
    refuse_sellers_changes(patch, merged, before, BUYERS)
    updated = await geography.update_site(
        session,
        principal=principal,
        site_id=id,
        name=_text(merged, "name") or "",
        contact_name=_contact(merged) or "",
        instructions=_text(merged, "description") or "",
        annotations=_kept({k: merged.get(k) for k in KEPT if k in patch}),
    )
    [view] = await _views(request, session, principal, [updated])
    return tmf_json(view)


@routes.delete("/geographicSite/{id}", status_code=204)
async def delete_site(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove a site that no order or product uses."""
    await geography.delete_site(session, principal=principal, site_id=id)
    return Response(status_code=204)


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF674 endpoints."""
    return routes
