"""Scratch SQLite databases holding only a test's own tables."""

from pathlib import Path

from sqlalchemy import MetaData

from app.core.db import Database


async def scratch_database(path: Path, metadata: MetaData) -> Database:
    """A database at `path`, opened as the platform opens its own, with `metadata`'s tables."""
    database = Database.connect(f"sqlite:///{path}")
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return database
