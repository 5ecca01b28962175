"""TMF666 Account v4: the core's billing accounts (opened and renamed by their party), and the
party, settlement and financial accounts, billing cycle, bill formats and media derived,
read-only, from the core's parties and billing rules; changes to those are refused with 405."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from app.core import billing, parties
from app.core.billing import AccountState, BillingAccount
from app.core.errors import NotFound
from app.core.events import Event
from app.core.parties import Audience, Party, Principal
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import merge_patch
from rest_facades.tmf.common import href, iso, listing, one, read_body
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/accountManagement/v4"
PARTY_BASE = "/tmf-api/party/v4"
CYCLE_ID = "monthly-day-1"
FORMATS = {"pdf": "PDF document", "json": "Machine-readable (TMF678 customer bill)"}
MEDIA = {"email": "Sent by e-mail", "api": "Published through the APIs"}
RESOURCES = (
    "partyAccount",
    "billingAccount",
    "settlementAccount",
    "financialAccount",
    "billingCycleSpecification",
    "billFormat",
    "billPresentationMedia",
)


def _owner(request: Request, party_id: str, name: str | None) -> dict[str, Any]:
    return {
        "id": party_id,
        "href": href(request, PARTY_BASE, "organization", party_id),
        "name": name or party_id,
        "role": "owner",
        "@referredType": "Organization",
    }


def _ref(request: Request, resource: str, ref_id: str, name: str) -> dict[str, Any]:
    return {
        "id": ref_id,
        "href": href(request, BASE, resource, ref_id),
        "name": name,
        "isRef": True,
        "@referredType": resource[0].upper() + resource[1:],
    }


def billing_account_view(
    request: Request, account: BillingAccount, owner_name: str | None
) -> dict[str, Any]:
    """A billing account as a TMF666 BillingAccount."""
    return {
        "id": account.id,
        "href": href(request, BASE, "billingAccount", account.id),
        "@type": "BillingAccount",
        "name": account.name,
        "accountType": "default" if account.is_default else "additional",
        "description": f"Billed in {account.currency}, due {account.payment_terms_days} days "
        f"after the bill date",
        "state": "active" if account.state is AccountState.ACTIVE else "closed",
        "lastModified": iso(account.created_at),
        "relatedParty": [_owner(request, account.party_id, owner_name)],
        "billStructure": {
            "cycleSpecification": _ref(
                request, "billingCycleSpecification", CYCLE_ID, "Monthly, day 1"
            ),
            "format": _ref(request, "billFormat", "json", FORMATS["json"]),
            "presentationMedia": [
                _ref(request, "billPresentationMedia", "api", MEDIA["api"]),
            ],
        },
        "financialAccount": {
            "id": f"fin-{account.party_id}",
            "href": href(request, BASE, "financialAccount", f"fin-{account.party_id}"),
            "@referredType": "FinancialAccount",
        },
    }


def party_account_view(
    request: Request, party: Party, resource: str, prefix: str
) -> dict[str, Any]:
    """A party as a TMF666 PartyAccount, SettlementAccount or FinancialAccount."""
    account_id = f"{prefix}-{party.id}"
    view: dict[str, Any] = {
        "id": account_id,
        "href": href(request, BASE, resource, account_id),
        "@type": resource[0].upper() + resource[1:],
        "name": f"{party.name} {resource.removesuffix('Account')} account",
        "accountType": party.audience.value,
        "state": "active",
        "lastModified": iso(party.created_at),
        "relatedParty": [_owner(request, party.id, party.name)],
    }
    return view


def cycle_view(request: Request) -> dict[str, Any]:
    """The one billing cycle: monthly, billed on the first day of the month."""
    return {
        "id": CYCLE_ID,
        "href": href(request, BASE, "billingCycleSpecification", CYCLE_ID),
        "@type": "BillingCycleSpecification",
        "name": "Monthly, day 1",
        "description": "Each calendar month is billed on the first day of the next",
        "frequency": "monthly",
        "billingPeriod": "month",
        "billingDateShift": 0,
        "chargeDateOffset": 0,
        "mailingDateOffset": 0,
        "paymentDueDateOffset": billing.PAYMENT_DAYS,
    }


def constant_view(request: Request, resource: str, item_id: str, name: str) -> dict[str, Any]:
    """A bill format or presentation medium."""
    return {
        "id": item_id,
        "href": href(request, BASE, resource, item_id),
        "@type": resource[0].upper() + resource[1:],
        "name": name,
    }


# Derived account kinds: the prefix of their ids, and which parties have one.
def _any_party(party: Party) -> bool:
    return True


def _carrier(party: Party) -> bool:
    return party.audience is Audience.CARRIER


DERIVED: dict[str, tuple[str, Callable[[Party], bool]]] = {
    "partyAccount": ("pa", _any_party),
    "settlementAccount": ("settle", _carrier),
    "financialAccount": ("fin", _any_party),
}


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """Nothing: the core records no events about accounts, so listeners hear nothing yet."""
    return None


NOTIFYING = NotifyingAPI("accountManagement", describe)


def router() -> APIRouter:
    """The TMF666 endpoints."""
    routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF666 account"])

    async def billing_views(
        request: Request, session: Any, principal: Principal, account_id: str | None = None
    ) -> list[dict[str, Any]]:
        if account_id is None:
            accounts = await billing.list_accounts(session, principal=principal)
        else:
            accounts = [
                await billing.get_account(
                    session, principal=principal, account_id=account_id, field_name="id"
                )
            ]
        names = await parties.party_names(
            session, principal=principal, party_ids=[a.party_id for a in accounts]
        )
        return [billing_account_view(request, a, names.get(a.party_id)) for a in accounts]

    @routes.get("/billingAccount")
    async def list_billing_accounts(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """The caller's billing accounts."""
        return listing(request, await billing_views(request, session, principal))

    @routes.get("/billingAccount/{id}")
    async def get_billing_account(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """One of the caller's billing accounts."""
        [view] = await billing_views(request, session, principal, id)
        return one(request, view)

    @routes.post("/billingAccount", status_code=201)
    async def create_billing_account(
        request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Open a further billing account for the caller (or a buyer it acts for)."""
        body = await read_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise TMFError(400, "MISSING_ATTRIBUTE", "name is mandatory")
        related = body.get("relatedParty")
        owners = [p for p in related or [] if isinstance(p, dict) and isinstance(p.get("id"), str)]
        if not isinstance(related, list) or not owners:
            raise TMFError(400, "MISSING_ATTRIBUTE", "relatedParty (the owner) is mandatory")
        account = await billing.open_account(
            session, principal=principal, name=name, buyer_party_id=owners[0]["id"]
        )
        [view] = await billing_views(request, session, principal, account.id)
        return tmf_json(view, status=201, headers={"Location": view["href"]})

    @routes.patch("/billingAccount/{id}")
    async def patch_billing_account(
        id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        """Rename a billing account, by merge patch; nothing else of it changes here."""
        [before] = await billing_views(request, session, principal, id)
        patch = await read_body(request)
        merged = merge_patch(before, patch)
        changed = sorted(k for k in merged if k != "name" and merged[k] != before.get(k))
        changed += sorted(k for k in before if k not in merged)
        if changed:
            raise TMFError(400, "NOT_PATCHABLE", f"{', '.join(changed)} cannot be changed")
        name = merged.get("name")
        if not isinstance(name, str):
            raise TMFError(400, "INVALID_VALUE", "name is a string")
        await billing.rename_account(session, principal=principal, account_id=id, name=name)
        [view] = await billing_views(request, session, principal, id)
        return tmf_json(view)

    def derived(resource: str) -> None:
        prefix, has = DERIVED[resource]

        async def list_derived(
            request: Request, session: SessionDep, principal: CurrentPrincipal
        ) -> Response:
            found = await parties.list_parties(session, principal=principal)
            return listing(
                request,
                [party_account_view(request, p, resource, prefix) for p in found if has(p)],
            )

        async def get_derived(
            id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
        ) -> Response:
            given, _, party_id = id.partition("-")
            try:
                party = await parties.get_party(session, principal=principal, party_id=party_id)
            except NotFound as exc:
                raise TMFError(404, "NOT_FOUND", f"no {resource} '{id}'") from exc
            if given != prefix or not has(party):
                raise TMFError(404, "NOT_FOUND", f"no {resource} '{id}'")
            return one(request, party_account_view(request, party, resource, prefix))

        routes.add_api_route(f"/{resource}", list_derived, methods=["GET"], summary=resource)
        routes.add_api_route(
            f"/{resource}/{{id}}", get_derived, methods=["GET"], summary=f"one {resource}"
        )

    for resource in DERIVED:
        derived(resource)

    @routes.get("/billingCycleSpecification")
    async def list_cycles(request: Request, principal: CurrentPrincipal) -> Response:
        """The billing cycles (one)."""
        return listing(request, [cycle_view(request)])

    @routes.get("/billingCycleSpecification/{id}")
    async def get_cycle(id: str, request: Request, principal: CurrentPrincipal) -> Response:
        """One billing cycle."""
        if id != CYCLE_ID:
            raise TMFError(404, "NOT_FOUND", f"no billing cycle specification '{id}'")
        return one(request, cycle_view(request))

    def constants(resource: str, items: dict[str, str]) -> None:
        async def list_constants(request: Request, principal: CurrentPrincipal) -> Response:
            return listing(
                request, [constant_view(request, resource, k, v) for k, v in items.items()]
            )

        async def get_constant(id: str, request: Request, principal: CurrentPrincipal) -> Response:
            if id not in items:
                raise TMFError(404, "NOT_FOUND", f"no {resource} '{id}'")
            return one(request, constant_view(request, resource, id, items[id]))

        routes.add_api_route(f"/{resource}", list_constants, methods=["GET"], summary=resource)
        routes.add_api_route(
            f"/{resource}/{{id}}", get_constant, methods=["GET"], summary=f"one {resource}"
        )

    constants("billFormat", FORMATS)
    constants("billPresentationMedia", MEDIA)

    async def refuse(request: Request, principal: CurrentPrincipal) -> Response:
        raise TMFError(
            405,
            "METHOD_NOT_ALLOWED",
            "only billing accounts are opened and renamed here; the rest is derived",
        )

    for resource in RESOURCES:
        writable = resource == "billingAccount"
        if not writable:
            routes.add_api_route(
                f"/{resource}",
                refuse,
                methods=["POST"],
                summary="not offered",
                operation_id=f"refuse_create_{resource}",
            )
        for method in ["DELETE"] if writable else ["PATCH", "DELETE"]:
            routes.add_api_route(
                f"/{resource}/{{id}}",
                refuse,
                methods=[method],
                summary="not offered",
                operation_id=f"refuse_{method.lower()}_{resource}",
            )

    add_hub_routes(routes, NOTIFYING)
    return routes
