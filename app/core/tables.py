"""Imports every table of the core so that `SQLModel.metadata` is complete."""

from sqlmodel import SQLModel

from app.core import (  # noqa: F401  (imported for their tables)
    accounts,
    billing,
    catalog,
    contacts,
    events,
    geography,
    idempotency,
    inventory,
    kept,
    order_changes,
    ordering,
    parties,
    partners,
    qualification,
    quoting,
    relations,
    tickets,
    workforce,
)

metadata = SQLModel.metadata
