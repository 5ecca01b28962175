"""Partner carriers we buy off-net access from, as operations staff see and manage them."""

from decimal import Decimal

import strawberry

from app.core import partners as core
from schema.base import UserError

PartnerAuth = strawberry.enum(core.PartnerAuth, name="PartnerAuth")


@strawberry.type(description="How a partner's API has been answering this process.")
class PartnerHealth:
    calls: int
    failures: int
    success_rate: float | None = strawberry.field(description="Share of calls that succeeded.")
    mean_latency_ms: float | None
    breaker_state: str = strawberry.field(description="closed, opened or half-opened.")


@strawberry.type(description="Where a partner reaches.")
class PartnerCoverage:
    metros: list[str]
    postcodes: list[str]
    address_ids: list[str]


@strawberry.type(
    description="A partner carrier whose Sonata API sells us access off our network. Its "
    "credentials are never shown."
)
class Partner:
    id: strawberry.ID
    name: str
    base_url: str
    auth: PartnerAuth  # type: ignore[valid-type]
    buyer_id: str | None
    margin_percent: Decimal
    enabled: bool
    has_credentials: bool
    coverage: PartnerCoverage
    health: PartnerHealth | None = strawberry.field(
        description="Null when no partner client is wired in."
    )
    orders_waiting: int = strawberry.field(description="Order items waiting on this partner.")

    @classmethod
    def of(
        cls,
        row: core.Partner,
        coverage: list[core.PartnerCoverage],
        waiting: int,
        health: core.PartnerHealth | None,
    ) -> "Partner":
        """The GraphQL view of a partner."""

        def values(kind: core.CoverageKind) -> list[str]:
            return [c.value for c in coverage if c.kind is kind]

        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            base_url=row.base_url,
            auth=row.auth,
            buyer_id=row.buyer_id,
            margin_percent=row.margin_percent,
            enabled=row.enabled,
            has_credentials=bool(row.api_key or row.oauth_client_secret),
            coverage=PartnerCoverage(
                metros=values(core.CoverageKind.METRO),
                postcodes=values(core.CoverageKind.POSTCODE),
                address_ids=values(core.CoverageKind.ADDRESS),
            ),
            health=None
            if health is None
            else PartnerHealth(
                calls=health.calls,
                failures=health.failures,
                success_rate=health.success_rate,
                mean_latency_ms=health.mean_latency_ms,
                breaker_state=health.breaker,
            ),
            orders_waiting=waiting,
        )


@strawberry.input(description="Operations staff: a partner to register, or what to change.")
class PartnerInput:
    name: str | None = None
    base_url: str | None = None
    auth: PartnerAuth | None = None  # type: ignore[valid-type]
    api_key: str | None = strawberry.field(default=None, description="Stored, never shown.")
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = strawberry.field(
        default=None, description="Stored, never shown."
    )
    buyer_id: str | None = None
    margin_percent: Decimal | None = None
    enabled: bool | None = None
    metros: list[str] | None = strawberry.field(
        default=None, description="'City, ST' each; given coverage replaces the old."
    )
    postcodes: list[str] | None = None
    address_ids: list[strawberry.ID] | None = None


@strawberry.type
class PartnerPayload:
    partner: Partner | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
