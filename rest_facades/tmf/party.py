"""TMF632 Party v4: the platform's parties as organizations, and the contact people of their
sites as individuals (read-only here: they change with the site, through TMF674)."""

from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import geography, parties
from app.core.errors import NotFound
from app.core.events import Event
from app.core.geography import Site
from app.core.parties import Audience, Party
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import merge_patch
from rest_facades.tmf.common import href, iso, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/party/v4"
SITE_BASE = "/tmf-api/geographicSiteManagement/v4"
CONTACT_SUFFIX = "~contact"


def organization_view(request: Request, party: Party) -> dict[str, Any]:
    """A party as a TMF632 Organization."""
    view: dict[str, Any] = {
        "id": party.id,
        "href": href(request, BASE, "organization", party.id),
        "@type": "Organization",
        "name": party.name,
        "tradingName": party.name,
        "isLegalEntity": True,
        "isHeadOffice": True,
        "organizationType": party.audience.value,
        "status": "validated",
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


def individual_view(request: Request, site: Site) -> dict[str, Any]:
    """The contact person of a site as a TMF632 Individual."""
    individual_id = f"{site.id}{CONTACT_SUFFIX}"
    name = site.contact_name or ""
    given, _, family = name.partition(" ")
    view: dict[str, Any] = {
        "id": individual_id,
        "href": href(request, BASE, "individual", individual_id),
        "@type": "Individual",
        "fullName": name,
        "formattedName": name,
        "givenName": given,
        "status": "validated",
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
    if family:
        view["familyName"] = family
    if site.contact_phone:
        view["contactMedium"] = [
            {
                "mediumType": "phone",
                "preferred": True,
                "characteristic": {"contactType": "phone", "phoneNumber": site.contact_phone},
            }
        ]
    return view


def _email(body: dict[str, Any]) -> str | None:
    for medium in body.get("contactMedium") or []:
        if isinstance(medium, dict) and isinstance(medium.get("characteristic"), dict):
            email = medium["characteristic"].get("emailAddress")
            if isinstance(email, str):
                return email
    return None


def _not_here(what: str) -> TMFError:
    return TMFError(
        405,
        "METHOD_NOT_ALLOWED",
        f"{what}: individuals are the contacts of sites; change them through geographicSite",
    )


async def _party(session: Any, principal: parties.Principal, party_id: str) -> Party:
    """A party the caller may see, or a TMF 404."""
    try:
        return await parties.get_party(session, principal=principal, party_id=party_id)
    except NotFound as exc:
        raise TMFError(404, "NOT_FOUND", exc.message) from exc


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """Nothing: the core records no events about parties or their contacts."""
    return None


NOTIFYING = NotifyingAPI("party", describe)


def router() -> APIRouter:
    """The TMF632 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF632 party"])

    @routes.get("/organization")
    async def list_organizations(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The parties the caller is, acts for, or (operations staff) all of them."""
        found = await parties.list_parties(session, principal=principal)
        return listing(request, [organization_view(request, p) for p in found])

    @routes.get("/organization/{id}")
    async def get_organization(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One party."""
        party = await _party(session, principal, id)
        return one(request, organization_view(request, party))

    @routes.post("/organization", status_code=201)
    async def create_organization(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Register a customer organization (operations staff)."""
        principal.require_ops()
        body = await read_body(request)
        trading = body.get("tradingName")
        if not isinstance(trading, str) or not trading.strip():
            raise TMFError(400, "MISSING_ATTRIBUTE", "tradingName is mandatory")
        kind = body.get("organizationType") or Audience.ENTERPRISE.value
        if kind not in {a.value for a in Audience}:
            raise TMFError(
                400,
                "INVALID_VALUE",
                "organizationType must be one of " + ", ".join(a.value for a in Audience),
            )
        given = body.get("name")
        name = given if isinstance(given, str) and given.strip() else trading
        party = await parties.create_party(
            session, name=name, audience=Audience(kind), email=_email(body)
        )
        view = organization_view(request, party)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.patch("/organization/{id}")
    async def patch_organization(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Rename an organization or change its e-mail, by merge patch (operations staff)."""
        principal.require_ops()
        before = organization_view(request, await _party(session, principal, id))
        patch = await read_body(request)
        for fixed in ("id", "href", "@type", "organizationType", "existsDuring"):
            if fixed in patch and patch[fixed] != before.get(fixed):
                raise TMFError(400, "NOT_PATCHABLE", f"{fixed} cannot be changed")
        merged = merge_patch(before, patch)
        name = merged.get("name")
        if "tradingName" in patch and "name" not in patch:
            name = merged.get("tradingName")
        updated = await parties.update_party(
            session,
            principal=principal,
            party_id=id,
            name=name if isinstance(name, str) else "",
            email=_email(merged) or "",
        )
        return tmf_json(organization_view(request, updated))

    @routes.delete("/organization/{id}", status_code=204)
    async def delete_organization(
        id: str, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Remove an organization that nothing refers to (operations staff)."""
        principal.require_ops()
        await _party(session, principal, id)
        await parties.delete_party(session, principal=principal, party_id=id)
        return Response(status_code=204)

    async def contacts(session: Any, principal: parties.Principal) -> list[Site]:
        sites = (await session.exec(geography.sites_query(principal=principal))).all()
        return [s for s in sites if s.contact_name]

    @routes.get("/individual")
    async def list_individuals(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The contact people of the caller's sites."""
        found = await contacts(session, principal)
        return listing(request, [individual_view(request, s) for s in found])

    @routes.get("/individual/{id}")
    async def get_individual(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The contact person of one of the caller's sites."""
        site_id, suffix, rest = id.partition(CONTACT_SUFFIX)
        if not suffix or rest:
            raise TMFError(404, "NOT_FOUND", f"no individual '{id}'")
        site = await geography.get_site(session, principal=principal, site_id=site_id)
        if not site.contact_name:
            raise TMFError(404, "NOT_FOUND", f"no individual '{id}'")
        return one(request, individual_view(request, site))

    @routes.post("/individual")
    async def create_individual(principal: CurrentPrincipal) -> Response:
        """Not offered: name a contact on a site instead."""
        raise _not_here("creating an individual")

    @routes.patch("/individual/{id}")
    async def patch_individual(id: str, principal: CurrentPrincipal) -> Response:
        """Not offered: change the site's contact instead."""
        raise _not_here("changing an individual")

    @routes.delete("/individual/{id}")
    async def delete_individual(id: str, principal: CurrentPrincipal) -> Response:
        """Not offered: change the site's contact instead."""
        raise _not_here("removing an individual")

    add_hub_routes(routes, NOTIFYING)
    return routes
