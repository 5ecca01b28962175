"""MEF 122 Geographic Site: the buyer's sites, `geographicSite` and `geographicSite/{id}`."""

from typing import Annotated, Any, Literal

from fastapi import Query, Response
from pydantic import BaseModel, Field

from app.core import geography, parties
from app.core.geography import LocationKind, Site, SiteFilter
from app.core.paging import fetch_page
from rest_facades.mef import geographic_address
from rest_facades.mef.errors import bad_request, mef_json
from rest_facades.mef.flavours import Flavour
from rest_facades.mef.generated.sonata import geographic_site as models
from rest_facades.mef.requests import (
    Caller,
    FlavourDep,
    MEFCaller,
    MEFList,
    dump,
    listing,
    owned_by_buyer,
)
from rest_facades.mef.routing import mef_router

API = "geographic_site"
TAG = "geographic sites (MEF 122)"
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


async def _views(flavour: Flavour, caller: Caller, sites: list[Site]) -> list[Any]:
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


class SiteQuery(BaseModel):
    """The criteria of a MEF 122 site list; every one given must hold."""

    companyName: str | None = None
    customerName: str | None = None
    description: str | None = None
    siteType: Literal["public", "private"] | None = None
    name: str | None = None
    serviceSiteContactName: str | None = None
    geographicAddress_id: Annotated[str | None, Field(alias="geographicAddress.id")] = None
    streetNr: str | None = None
    streetName: str | None = None
    streetType: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None


routes = mef_router()


@routes.get("/geographicSite", response_model=list[models.GeographicSite])
async def list_sites(
    query: MEFList, criteria: Annotated[SiteQuery, Query()], flavour: FlavourDep
) -> Response:
    """The buyer's sites that meet every criterion given, oldest first."""
    sent = given(**criteria.model_dump(by_alias=True))
    if "companyName" in sent:
        # The administrative authority of a building is not known here: no site has one.
        return listing([], total=0)
    caller = query.caller
    where = SiteFilter(
        party_id=caller.buyer_id,
        name=criteria.name,
        instructions=criteria.description,
        contact_name=criteria.serviceSiteContactName,
        party_name=criteria.customerName,
        location_id=criteria.geographicAddress_id,
        location_kinds=_KINDS[criteria.siteType] if criteria.siteType else None,
        street_number=criteria.streetNr,
        street_name=criteria.streetName,
        street_type=criteria.streetType,
        city=criteria.city,
        postcode=criteria.postcode,
        country=criteria.country,
    )
    page = await fetch_page(
        caller.session,
        geography.sites_query(principal=caller.principal, where=where),
        offset=query.window.offset,
        limit=query.window.limit,
    )
    return listing(await _views(flavour, caller, page.items), total=page.total)


@routes.get("/geographicSite/{id}", response_model=models.GeographicSite)
async def get_site(id: str, caller: MEFCaller, flavour: FlavourDep) -> Response:
    """One of the buyer's sites."""
    site = await geography.get_site(caller.session, principal=caller.principal, site_id=id)
    owned_by_buyer(caller, site.party_id, "site", id)
    (view,) = await _views(flavour, caller, [site])
    return mef_json(view)
