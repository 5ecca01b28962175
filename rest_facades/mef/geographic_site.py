"""MEF 122 Geographic Site: the buyer's sites, `geographicSite` and `geographicSite/{id}`."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.core import geography, parties
from app.core.errors import NotFound
from app.core.geography import LocationKind, Site, SiteFilter
from app.core.paging import fetch_page
from rest_facades.mef import geographic_address
from rest_facades.mef.errors import MEFRoute, bad_request, mef_json
from rest_facades.mef.flavours import Flavour
from rest_facades.mef.requests import Caller, ListWindow, MEFCaller, dump, listing

API = "geographic_site"
# A site in a carrier hotel or data centre is where parties meet: its existence is public.
_PUBLIC = frozenset({LocationKind.CARRIER_HOTEL, LocationKind.DATA_CENTER})
_KINDS = {"public": _PUBLIC, "private": frozenset({LocationKind.BUILDING})}


def given(**criteria: str | None) -> dict[str, str]:
    """The query criteria that were sent; one sent without a value is an Error400."""
    for name, value in criteria.items():
        if value is not None and not value.strip():
            raise bad_request("missingQueryValue", f"the query parameter '{name}' has no value")
    return {name: value for name, value in criteria.items() if value is not None}


def site_href(flavour: Flavour, caller: Caller, site_id: str) -> str:
    """Where a site is found in this flavour's MEF 122 API."""
    return caller.href(flavour.base_path(API), "geographicSite", site_id)


def owned_by_buyer(caller: Caller, party_id: str, what: str, object_id: str) -> None:
    """Refuse, as a missing object, one that is not the named buyer's."""
    if caller.buyer_id is not None and party_id != caller.buyer_id:
        raise NotFound(f"no {what} '{object_id}'", field="id")


async def _views(flavour: Flavour, caller: Caller, sites: list[Site]) -> list[Any]:
    models = flavour.models(API)
    session = caller.session
    locations = await geography.get_locations(session, [s.location_id for s in sites])
    names = await parties.party_names(
        session, principal=caller.principal, party_ids=[s.party_id for s in sites]
    )
    views = []
    for site in sites:
        location = locations[site.location_id]
        view = dump(
            models.GeographicSite(
                id=site.id,
                href=site_href(flavour, caller, site.id),
                name=site.name,
                description=site.instructions,
                customerName=names.get(site.party_id),
                siteType="public" if location.kind in _PUBLIC else "private",
            )
        )
        # The place keeps the address-book id and href that MEF 121 gives the same address.
        view["place"] = [dump(geographic_address.fielded(flavour, caller, location))]
        views.append(view)
    return views


def router(flavour: Flavour) -> APIRouter:
    """The MEF 122 endpoints of one flavour."""
    routes = APIRouter(
        prefix=flavour.base_path(API).rstrip("/"),
        route_class=MEFRoute,
        tags=[f"{flavour.name}: geographic sites (MEF 122)"],
    )

    @routes.get("/geographicSite")
    async def list_sites(
        caller: MEFCaller,
        window: ListWindow,
        company_name: Annotated[str | None, Query(alias="companyName")] = None,
        customer_name: Annotated[str | None, Query(alias="customerName")] = None,
        description: str | None = None,
        site_type: Annotated[str | None, Query(alias="siteType")] = None,
        name: str | None = None,
        contact_name: Annotated[str | None, Query(alias="serviceSiteContactName")] = None,
        address_id: Annotated[str | None, Query(alias="geographicAddress.id")] = None,
        street_nr: Annotated[str | None, Query(alias="streetNr")] = None,
        street_name: Annotated[str | None, Query(alias="streetName")] = None,
        street_type: Annotated[str | None, Query(alias="streetType")] = None,
        city: str | None = None,
        postcode: str | None = None,
        country: str | None = None,
    ) -> Response:
        """The buyer's sites that meet every criterion given, oldest first."""
        sent = given(
            companyName=company_name,
            customerName=customer_name,
            description=description,
            siteType=site_type,
            name=name,
            serviceSiteContactName=contact_name,
            streetNr=street_nr,
            streetName=street_name,
            streetType=street_type,
            city=city,
            postcode=postcode,
            country=country,
            **{"geographicAddress.id": address_id},
        )
        if site_type is not None and site_type not in _KINDS:
            raise bad_request("invalidQuery", "siteType must be 'public' or 'private'")
        if "companyName" in sent:
            # The administrative authority of a building is not known here: no site has one.
            return listing([], total=0)
        where = SiteFilter(
            party_id=caller.buyer_id,
            name=name,
            instructions=description,
            contact_name=contact_name,
            party_name=customer_name,
            location_id=address_id,
            location_kinds=_KINDS[site_type] if site_type else None,
            street_number=street_nr,
            street_name=street_name,
            street_type=street_type,
            city=city,
            postcode=postcode,
            country=country,
        )
        page = await fetch_page(
            caller.session,
            geography.sites_query(principal=caller.principal, where=where),
            offset=window.offset,
            limit=window.limit,
        )
        return listing(await _views(flavour, caller, page.items), total=page.total)

    @routes.get("/geographicSite/{id}")
    async def get_site(id: str, caller: MEFCaller) -> Response:
        """One of the buyer's sites."""
        site = await geography.get_site(caller.session, principal=caller.principal, site_id=id)
        owned_by_buyer(caller, site.party_id, "site", id)
        (view,) = await _views(flavour, caller, [site])
        return mef_json(view)

    return routes
