"""TMF674 Geographic Site v4: a party's sites, each at one address of the address book."""

from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import geography, parties
from app.core.errors import NotFound
from app.core.events import Event
from app.core.geography import AddressInput, Location, Site
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import merge_patch
from rest_facades.tmf.common import href, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/geographicSiteManagement/v4"
ADDRESS_BASE = "/tmf-api/geographicAddressManagement/v4"
PARTY_BASE = "/tmf-api/party/v4"
CONTACT_ROLE = "siteContact"
OWNER_ROLES = {"customer", "owner", "buyer"}
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
    return f"{site.id}~contact"


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


async def _address(session: Any, body: dict[str, Any]) -> AddressInput:
    places = body.get("place")
    if not isinstance(places, list) or not places or not isinstance(places[0], dict):
        raise TMFError(400, "MISSING_ATTRIBUTE", "place (the site's address) is mandatory")
    place: dict[str, Any] = places[0]
    if not any(place.get(k) for k in ADDRESS_FIELDS) and isinstance(place.get("id"), str):
        location = await geography.get_location(session, place["id"])
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


def router() -> APIRouter:
    """The TMF674 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF674 geographic site"])

    async def views(
        request: Request, session: Any, principal: parties.Principal, sites: list[Site]
    ) -> list[dict[str, Any]]:
        locations = await geography.get_locations(session, [s.location_id for s in sites])
        names = await parties.party_names(
            session, principal=principal, party_ids=[s.party_id for s in sites]
        )
        return [
            site_view(request, s, locations[s.location_id], names.get(s.party_id)) for s in sites
        ]

    @routes.get("/geographicSite")
    async def list_sites(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's sites."""
        sites = list((await session.exec(geography.sites_query(principal=principal))).all())
        return listing(request, await views(request, session, principal, sites))

    @routes.get("/geographicSite/{id}")
    async def get_site(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One of the caller's sites."""
        site = await geography.get_site(session, principal=principal, site_id=id)
        [view] = await views(request, session, principal, [site])
        return one(request, view)

    @routes.post("/geographicSite", status_code=201)
    async def create_site(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Register a site at an address of the address book."""
        body = await read_body(request)
        try:
            address = await _address(session, body)
            site = await geography.create_site(
                session,
                principal=principal,
                address=address,
                name=_text(body, "name"),
                buyer_party_id=_buyer(body),
                contact_name=_contact(body),
                instructions=_text(body, "description"),
            )
        except NotFound as exc:
            # The spec answers no 404 on create: what the body names is a bad value.
            raise TMFError(400, "INVALID_VALUE", exc.message) from exc
        [view] = await views(request, session, principal, [site])
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.patch("/geographicSite/{id}")
    async def patch_site(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Rename a site or change its description or contact, by merge patch."""
        site = await geography.get_site(session, principal=principal, site_id=id)
        [before] = await views(request, session, principal, [site])
        patch = await read_body(request)
        for fixed in ("id", "href", "@type", "code", "place", "status"):
            if fixed in patch and patch[fixed] != before.get(fixed):
                raise TMFError(400, "NOT_PATCHABLE", f"{fixed} cannot be changed")
        merged = merge_patch(before, patch)
        updated = await geography.update_site(
            session,
            principal=principal,
            site_id=id,
            name=_text(merged, "name") or "",
            contact_name=_contact(merged) or "",
            instructions=_text(merged, "description") or "",
        )
        [view] = await views(request, session, principal, [updated])
        return tmf_json(view)

    @routes.delete("/geographicSite/{id}", status_code=204)
    async def delete_site(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
        """Remove a site that no order or product uses."""
        await geography.delete_site(session, principal=principal, site_id=id)
        return Response(status_code=204)

    add_hub_routes(routes, NOTIFYING)
    return routes
