"""Platform settings, read from `LUMEN_*` environment variables."""

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DEMO_SECRET = "lumen-demo-secret"


class Settings(BaseSettings):
    """Every knob of the platform; defaults serve a laptop with demo data."""

    model_config = SettingsConfigDict(env_prefix="LUMEN_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./lumen.db"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    # Host names (or host:port) whose `Host` header may make absolute URLs when no public base
    # URL is set; empty means the local names of `make run`. Comma-separated in the environment.
    trusted_hosts: Annotated[list[str], NoDecode] = []
    # Proxies whose `X-Forwarded-For` names the client (uvicorn's `forwarded_allow_ips`, e.g.
    # "10.0.0.5" or "*"); unset, the address of the connection is the client's.
    forwarded_allow_ips: str | None = None
    # Demo API keys are derived from this secret, so the seeded keys are stable across re-seeds.
    demo_secret: str = DEFAULT_DEMO_SECRET
    # Unset: demo data outside production only.
    seed_demo: bool | None = None
    # Budgets in the `limits` notation ("600/minute"); "" switches a budget off.
    rate_limit_per_key: str = "600/minute"
    rate_limit_anonymous: str = "120/minute"
    auth_failures_limit: str = "20/minute"
    # How long a process remembers an API key's principal instead of reading it again; a key
    # revoked by another process stops working there within this time (0: read every time).
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # HTTP requests at work at once in a process; the rest wait their turn (0: no bound). One
    # that waits on a partner's API gives its place back meanwhile. More keep more objects alive
    # at once, whose collections pause the loop longer, for no more work done.
    max_concurrent_requests: int = Field(default=8, ge=0)
    # A GraphQL operation consumes one unit of its budget per started `graphql_cost_unit` of cost.
    graphql_cost_unit: int = 50
    near_net_km: float = 2.0
    # Whether a web process also runs the background work (fulfilment, event delivery, billing);
    # off when `lumen worker` processes do it (PostgreSQL).
    run_workers: bool = True
    fulfilment_ack_seconds: float = 5.0
    fulfilment_complete_seconds: float = 30.0
    fulfilment_poll_seconds: float = 1.0
    events_poll_seconds: float = 1.0
    events_max_attempts: int = 8
    # Listener callbacks: see README, "Webhooks a receiver can trust".
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_per_subscription: int = 4
    webhook_concurrency: int = 32
    billing_poll_seconds: float = 3600.0
    # Idempotency keys: how long an answer is kept for retries, and how long a retry waits for
    # the first request with its key to finish before it is refused with 409.
    idempotency_ttl_hours: float = 24.0
    idempotency_wait_seconds: float = 10.0
    # Partner carriers we buy off-net access from (see README, "Partners (off-net)").
    partners_enabled: bool = True
    partner_timeout_seconds: float = 10.0
    partner_attempts: int = 3
    partner_backoff_seconds: float = 0.5
    partner_breaker_threshold: int = 5
    partner_breaker_reset_seconds: float = 30.0
    # How often a placed partner order is read when no notification came, and how often the
    # partner work is looked at.
    partner_poll_seconds: float = 60.0
    partner_work_seconds: float = 1.0
    # How long a partner's answer about an access (its POQ and firm quote) is reused before the
    # partner is asked again (the partner's own quote validity, when shorter, wins).
    partner_quote_ttl_seconds: float = Field(default=900.0, ge=0)
    # Where the demo partner's Sonata API is (a second instance, `lumen serve --as-partner`);
    # unset, the demo partner is registered disabled.
    demo_partner_url: str | None = None
    # Serve as the demo partner carrier: a network of its own (the places off ours), listeners
    # on loopback allowed, no partners of its own.
    as_partner: bool = False
    log_level: str = "INFO"
    # Bounds on every HTTP request, checked before any face reads it.
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 64
    max_string_chars: int = 50_000

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @property
    def base_url(self) -> str:
        """Absolute URL that clients reach the platform on."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def base_url_for(self, scheme: str, host_header: str | None) -> str:
        """The base of absolute URLs for a request: the public base URL if set, else the
        request's own `Host` if it is trusted, else the configured host and port."""
        if self.public_base_url:
            return self.base_url
        host = (host_header or "").strip().lower()
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        trusted = self.trusted_hosts or ["127.0.0.1", "localhost", f"{self.host}:{self.port}"]
        if host and (not port or port.isdigit()) and (host in trusted or name in trusted):
            return f"{scheme}://{host}"
        return self.base_url

    @property
    def seeds_demo(self) -> bool:
        """Whether demo parties and keys are wanted: `LUMEN_SEED_DEMO`, else outside production."""
        return self.environment != "production" if self.seed_demo is None else self.seed_demo

    def demo_refusal(self) -> str | None:
        """Why demo data may not be made here, or None: production with the published secret."""
        if self.environment == "production" and self.demo_secret == DEFAULT_DEMO_SECRET:
            return (
                "refusing to create demo parties and keys in production with the default "
                "LUMEN_DEMO_SECRET, which would give every installation the same keys; set "
                "LUMEN_SEED_DEMO=false, or set LUMEN_DEMO_SECRET to a secret of your own"
            )
        return None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
