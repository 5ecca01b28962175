"""What TMF632 and TMF666 share: resources that a party keeps as core records, read from typed
bodies into core fields (the rest kept as given), written back, patched by merge patch, and
filtered on the fields the core stores."""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Optional

from fastapi import APIRouter
from pydantic import BaseModel, Field, create_model

from rest_facades.common.tmf630 import merge_patch
from rest_facades.tmf.common import iso

# Attributes the platform sets, never the client.
SERVER_SET = frozenset({"id", "href", "@type", "lastModified"})


def one_of(values: Iterable[str]) -> Callable[[str], tuple[str, ...]]:
    """Filter values of an attribute that holds one of `values` (any other matches nothing)."""
    allowed = frozenset(values)
    return lambda text: (text,) if text in allowed else ()


def as_boolean(text: str) -> tuple[bool]:
    """A filter value that is `true` or `false`."""
    if text.lower() not in {"true", "false"}:
        raise ValueError("is not true or false")
    return (text.lower() == "true",)


def dumped(body: BaseModel) -> dict[str, Any]:
    """A typed body as the JSON it stands for, with only the attributes the client sent."""
    found: dict[str, Any] = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return found


def to_core(body: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """A TMF body (as JSON) as core fields (`fields` maps TMF names to them); any other
    attribute goes to `extra`, as given."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in body.items():
        if name in SERVER_SET:
            continue
        if name in fields:
            values[fields[name]] = value
        else:
            extra[name] = value
    values["extra"] = extra
    return values


def from_core(row: Any, fields: Mapping[str, str]) -> dict[str, Any]:
    """The stored fields of a row under their TMF names, date-times as TMF writes them."""
    view: dict[str, Any] = {}
    for name, field in fields.items():
        value = getattr(row, field)
        if value is not None:
            view[name] = iso(value) if isinstance(value, datetime) else value
    return view


def changes(
    patch: dict[str, Any],
    current: dict[str, Any],
    read: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """A merge patch (RFC 7386) of a resource as changes of core fields: the patched view,
    read back by `read`, for the fields the patch touches (and all of `extra`, if kept)."""
    values = read(merge_patch(current, patch))
    touched = set(read(dict.fromkeys(patch)))
    found = {k: v for k, v in values.items() if k in touched}
    for removed in touched - set(values):
        found[removed] = None
    if "extra" in values:
        found["extra"] = values["extra"]
    return found


def merge_patch_model(model: type[BaseModel]) -> type[BaseModel]:
    """The body of a merge patch of `model`: every attribute optional, even those the official
    `<Resource>_Update` lists as required, which a patch that leaves them alone omits."""
    optional: dict[str, Any] = {
        name: (Optional[info.annotation], Field(default=None, alias=info.alias))  # noqa: UP045
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    patch: type[BaseModel] = create_model(f"{model.__name__}Patch", __base__=model, **optional)
    return patch


def add_resource_routes(
    router: APIRouter,
    resource: str,
    model: type[BaseModel],
    many: Any,
    handlers: tuple[Callable[..., Any], ...],
) -> None:
    """The list, get, create, patch and delete routes of a resource (`handlers` in that order),
    answering `model` (lists: `many`)."""
    listed, got, created, patched, deleted = handlers
    router.add_api_route(f"/{resource}", listed, methods=["GET"], response_model=many)
    router.add_api_route(f"/{resource}/{{id}}", got, methods=["GET"], response_model=model)
    router.add_api_route(
        f"/{resource}", created, methods=["POST"], status_code=201, response_model=model
    )
    router.add_api_route(f"/{resource}/{{id}}", patched, methods=["PATCH"], response_model=model)
    router.add_api_route(f"/{resource}/{{id}}", deleted, methods=["DELETE"], status_code=204)
