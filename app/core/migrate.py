"""Schema migrations with Alembic, run from code so that a fresh clone needs no config."""

from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config

from app.core.db import StrEnumType, sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Enum columns are plain strings in the schema; the enum lives in the code."""
    if kind == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.length})"
    return False


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats '%' as interpolation; URLs may carry percent-encoded passwords.
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database schema back to `revision`."""
    command.downgrade(alembic_config(database_url), revision)
