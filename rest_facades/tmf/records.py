"""What TMF632 and TMF666 share: resources that a party keeps as core records, read from typed
bodies into core fields and relations (related parties, contact media; the rest kept as given),
written back, patched by merge patch, and filtered on the fields the core stores."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Optional

from fastapi import APIRouter
from pydantic import BaseModel, Field, create_model

from app.core.errors import InvalidRequest
from app.core.relations import CONTACT_MEDIA, RELATED_PARTIES, ContactMedium, RelatedPartyRef
from rest_facades.common.tmf630 import Attribute, as_text, merge_patch
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


def as_number(text: str) -> tuple[float]:
    """A filter value that is a number."""
    try:
        return (float(text),)
    except ValueError:
        raise ValueError("is not a number") from None


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


@contextmanager
def in_tmf_words(fields: Mapping[str, str]) -> Iterator[None]:
    """Within the block, a core refusal of a field names the TMF attribute that the client
    wrote (`mailingDateOffset`), not the core's field (`mailing_date_offset`)."""
    try:
        yield
    except InvalidRequest as exc:
        attribute = next((tmf for tmf, core in fields.items() if core == exc.field), None)
        if attribute is None or exc.field is None:
            raise
        raise InvalidRequest(
            exc.message.replace(exc.field, attribute), field=attribute, code=exc.code
        ) from exc


def from_core(row: Any, fields: Mapping[str, str]) -> dict[str, Any]:
    """The stored fields of a row under their TMF names, date-times as TMF writes them."""
    view: dict[str, Any] = {}
    for name, field in fields.items():
        value = getattr(row, field)
        if value is not None:
            view[name] = iso(value) if isinstance(value, datetime) else value
    return view


# The attributes of a related party and of a contact medium (and of its characteristic) that the
# core keeps in columns, by their TMF names.
PARTY_REF_FIELDS = {
    "id": "ref_id",
    "role": "role",
    "@referredType": "referred_type",
    "name": "name",
    "href": "href",
}
MEDIUM_FIELDS = {"mediumType": "medium_type", "preferred": "preferred"}
CHARACTERISTIC_FIELDS = {
    "contactType": "contact_type",
    "emailAddress": "email_address",
    "phoneNumber": "phone_number",
    "faxNumber": "fax_number",
    "street1": "street1",
    "street2": "street2",
    "city": "city",
    "stateOrProvince": "state_or_province",
    "postCode": "post_code",
    "country": "country",
}


def related_filters(fields: Any) -> dict[str, Attribute[Any]]:
    """The TMF630 filters on `relatedParty` of a resource whose field enum is `fields`."""
    return {
        "relatedParty.id": Attribute(fields.RELATED_PARTY_ID, as_text),
        "relatedParty.role": Attribute(fields.RELATED_PARTY_ROLE, as_text),
        "relatedParty.name": Attribute(fields.RELATED_PARTY_NAME, as_text),
        "relatedParty.@referredType": Attribute(fields.RELATED_PARTY_TYPE, as_text),
        "relatedParty.href": Attribute(fields.RELATED_PARTY_HREF, as_text),
    }


def medium_filters(fields: Any) -> dict[str, Attribute[Any]]:
    """The TMF630 filters on `contactMedium` of a resource whose field enum is `fields`."""
    characteristic = "contactMedium.characteristic"
    return {
        "contactMedium.mediumType": Attribute(fields.MEDIUM_TYPE, as_text),
        "contactMedium.preferred": Attribute(fields.MEDIUM_PREFERRED, as_boolean),
        f"{characteristic}.contactType": Attribute(fields.CONTACT_TYPE, as_text),
        f"{characteristic}.emailAddress": Attribute(fields.EMAIL, as_text),
        f"{characteristic}.phoneNumber": Attribute(fields.PHONE, as_text),
        f"{characteristic}.city": Attribute(fields.CITY, as_text),
        f"{characteristic}.postCode": Attribute(fields.POST_CODE, as_text),
        f"{characteristic}.country": Attribute(fields.COUNTRY, as_text),
    }


def _split(given: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {fields[k]: v for k, v in given.items() if k in fields}
    values["extra"] = {k: v for k, v in given.items() if k not in fields}
    return values


def _joined(row: Any, fields: Mapping[str, str]) -> dict[str, Any]:
    view = {name: getattr(row, field) for name, field in fields.items()}
    return {k: v for k, v in view.items() if v is not None}


def related_to_core(given: Any) -> list[dict[str, Any]]:
    """A `relatedParty` array as the core's related parties."""
    return [_split(ref, PARTY_REF_FIELDS) for ref in given or [] if isinstance(ref, dict)]


def related_view(refs: Iterable[RelatedPartyRef]) -> list[dict[str, Any]]:
    """The core's related parties as a `relatedParty` array."""
    return [{**ref.extra, **_joined(ref, PARTY_REF_FIELDS)} for ref in refs]


def media_to_core(given: Any) -> list[dict[str, Any]]:
    """A `contactMedium` array as the core's contact media."""
    media: list[dict[str, Any]] = []
    for medium in given or []:
        if not isinstance(medium, dict):
            continue
        values = _split(
            {k: v for k, v in medium.items() if k not in {"characteristic", "validFor"}},
            MEDIUM_FIELDS,
        )
        characteristic = medium.get("characteristic")
        if isinstance(characteristic, dict):
            found = _split(characteristic, CHARACTERISTIC_FIELDS)
            values["extra"]["characteristic"] = found.pop("extra")
            values |= found
        period = medium.get("validFor")
        if isinstance(period, dict):
            values["valid_from"] = period.get("startDateTime")
            values["valid_until"] = period.get("endDateTime")
        media.append(values)
    return media


def media_view(media: Iterable[ContactMedium]) -> list[dict[str, Any]]:
    """The core's contact media as a `contactMedium` array."""
    views: list[dict[str, Any]] = []
    for medium in media:
        extra = dict(medium.extra)
        characteristic = {**(extra.pop("characteristic", None) or {})}
        characteristic |= _joined(medium, CHARACTERISTIC_FIELDS)
        view = {**extra, **_joined(medium, MEDIUM_FIELDS)}
        if characteristic:
            view["characteristic"] = characteristic
        period = {
            key: iso(moment)
            for key, moment in (
                ("startDateTime", medium.valid_from),
                ("endDateTime", medium.valid_until),
            )
            if moment is not None
        }
        if period:
            view["validFor"] = period
        views.append(view)
    return views


def kept_to_core(body: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """A TMF body as core fields, as `to_core`, with its `relatedParty` and `contactMedium`
    (those it gives; null removes them) as the core's relations."""
    values = to_core(body, fields)
    extra = values["extra"]
    if "relatedParty" in extra:
        values[RELATED_PARTIES] = related_to_core(extra.pop("relatedParty"))
    if "contactMedium" in extra:
        values[CONTACT_MEDIA] = media_to_core(extra.pop("contactMedium"))
    return values


def with_relations(
    view: dict[str, Any], refs: Iterable[RelatedPartyRef], media: Iterable[ContactMedium]
) -> dict[str, Any]:
    """A resource's view with the related parties and contact media the core keeps of it."""
    related = related_view(refs)
    if related:
        view["relatedParty"] = related
    reached = media_view(media)
    if reached:
        view["contactMedium"] = reached
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
