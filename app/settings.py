"""Platform settings, read from `LUMEN_*` environment variables."""

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the platform; defaults serve a laptop with demo data."""

    model_config = SettingsConfigDict(env_prefix="LUMEN_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./lumen.db"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    # Demo API keys are derived from this secret, so the seeded keys are stable across re-seeds.
    demo_secret: str = "lumen-demo-secret"
    seed_demo: bool = True
    near_net_km: float = 2.0
    fulfilment_ack_seconds: float = 5.0
    fulfilment_complete_seconds: float = 30.0
    fulfilment_poll_seconds: float = 1.0
    events_poll_seconds: float = 1.0
    events_max_attempts: int = 8
    billing_poll_seconds: float = 3600.0
    # Idempotency keys: how long an answer is kept for retries, and how long a retry waits for
    # the first request with its key to finish before it is refused with 409.
    idempotency_ttl_hours: float = 24.0
    idempotency_wait_seconds: float = 10.0
    log_level: str = "INFO"

    @property
    def base_url(self) -> str:
        """Absolute URL that clients reach the platform on."""
        return self.public_base_url or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
