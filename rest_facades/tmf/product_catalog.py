"""TMF620 Product Catalog v4: the core catalog's specifications, categories, catalogs, offerings
and list prices; every caller reads them, operations staff create, change and withdraw them."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import catalog
from app.core.catalog import (
    CatalogDetail,
    CategoryDetail,
    CharacteristicDetail,
    CharacteristicInput,
    LifecycleStatus,
    OfferingDetail,
    OfferingPrice,
    PriceKind,
    SpecificationDetail,
    ValueType,
)
from app.core.db import new_id
from app.core.errors import NotFound
from app.core.events import EntityKind, Event
from app.core.parties import Principal
from app.deps import CurrentPrincipal, SessionDep
from rest_facades.common.tmf630 import (
    Attribute,
    as_cents,
    as_date_time,
    as_text,
    by_name,
    constant,
    kept_filters,
    linked,
)
from rest_facades.tmf.common import TMFQueryDep, href, iso, listed, resource
from rest_facades.tmf.errors import TMFError, TMFRoute, tmf_json
from rest_facades.tmf.generated import product_catalog as tmf
from rest_facades.tmf.hub import NotifyingAPI, add_hub_routes

BASE = "/tmf-api/productCatalogManagement/v4"
LIFECYCLE = {
    LifecycleStatus.IN_DESIGN: "In design",
    LifecycleStatus.ACTIVE: "Active",
    LifecycleStatus.RETIRED: "Retired",
}
# TMF620's lifecycle names, by what they mean to the core (lower case).
CORE_LIFECYCLE = {
    "in study": LifecycleStatus.IN_DESIGN,
    "in design": LifecycleStatus.IN_DESIGN,
    "in test": LifecycleStatus.IN_DESIGN,
    "rejected": LifecycleStatus.IN_DESIGN,
    "active": LifecycleStatus.ACTIVE,
    "launched": LifecycleStatus.ACTIVE,
    "retired": LifecycleStatus.RETIRED,
    "obsolete": LifecycleStatus.RETIRED,
}
PRICE_TYPE = {
    PriceKind.RECURRING: "recurring",
    PriceKind.ONE_TIME: "oneTime",
    PriceKind.USAGE: "usage",
}
CORE_PRICE_TYPE = {name.lower(): kind for kind, name in PRICE_TYPE.items()}
MINIMUM_TERM, MAXIMUM_TERM = "minimum term", "maximum term"

# The TMF620 resource of each kind of catalog entry, and its `@type`.
RESOURCE = {
    EntityKind.OFFERING: "productOffering",
    EntityKind.SPECIFICATION: "productSpecification",
    EntityKind.CATEGORY: "category",
    EntityKind.CATALOG: "catalog",
    EntityKind.PRICE: "productOfferingPrice",
}


def describe(event: Event) -> tuple[str, dict[str, Any]] | None:
    """The TMF620 resource a catalog event is about, as its listeners hear of it."""
    resource_name = RESOURCE.get(event.entity)
    if resource_name is None:
        return None
    payload: dict[str, Any] = {
        "id": event.entity_id,
        # A listener has no request of its own to resolve against: the path under this API.
        "href": f"{BASE}/{resource_name}/{event.entity_id}",
        "name": event.data.get("name"),
        "lastUpdate": iso(event.occurred_at),
        "@type": resource_name[0].upper() + resource_name[1:],
    }
    if event.state is not None:
        payload["lifecycleStatus"] = LIFECYCLE[LifecycleStatus(event.state)]
    return resource_name, payload


NOTIFYING = NotifyingAPI("productOffering", describe)


def _ref(
    request: Request, resource: str, object_id: str, name: str, referred: str
) -> dict[str, Any]:
    return {
        "id": object_id,
        "href": href(request, BASE, resource, object_id),
        "name": name,
        "@referredType": referred,
    }


def _typed(value: str, value_type: ValueType) -> Any:
    """A stored characteristic value as its value type has it in JSON."""
    if value_type is ValueType.INTEGER:
        return int(value)
    if value_type is ValueType.NUMBER:
        return float(value)
    if value_type is ValueType.BOOLEAN:
        return value.lower() == "true"
    return value


def _characteristic_view(detail: CharacteristicDetail) -> dict[str, Any]:
    characteristic = detail.characteristic
    value_type = characteristic.value_type
    unit = {"unitOfMeasure": characteristic.unit} if characteristic.unit else {}
    values = [
        {
            "value": _typed(v.value, value_type),
            "valueType": value_type.value,
            "isDefault": v.is_default,
        }
        | unit
        for v in detail.values
    ]
    if characteristic.value_from is not None or characteristic.value_to is not None:
        values.append(
            {
                "valueType": value_type.value,
                "isDefault": False,
                **(
                    {"valueFrom": characteristic.value_from}
                    if characteristic.value_from is not None
                    else {}
                ),
                **(
                    {"valueTo": characteristic.value_to}
                    if characteristic.value_to is not None
                    else {}
                ),
                **unit,
            }
        )
    return {
        "name": characteristic.name,
        "description": characteristic.description,
        "valueType": value_type.value,
        "configurable": True,
        "minCardinality": 1,
        "maxCardinality": 1,
        "@type": "ProductSpecificationCharacteristic",
        "productSpecCharacteristicValue": values,
    }


def specification_view(request: Request, detail: SpecificationDetail) -> dict[str, Any]:
    """A core specification as a TMF620 ProductSpecification."""
    spec = detail.specification
    return {
        **spec.annotations,
        "id": spec.id,
        "href": href(request, BASE, "productSpecification", spec.id),
        "@type": "ProductSpecification",
        "name": spec.name,
        "description": spec.description,
        "brand": spec.brand,
        "version": spec.version,
        "lastUpdate": iso(spec.updated_at),
        "lifecycleStatus": LIFECYCLE[spec.status],
        "isBundle": False,
        "productSpecCharacteristic": [_characteristic_view(c) for c in detail.characteristics],
        **_valid_for(spec.valid_from, spec.valid_to),
    }


def offering_view(request: Request, detail: OfferingDetail) -> dict[str, Any]:
    """A core offering as a TMF620 ProductOffering."""
    offering = detail.offering
    view: dict[str, Any] = {
        **offering.annotations,
        "id": offering.id,
        "href": href(request, BASE, "productOffering", offering.id),
        "@type": "ProductOffering",
        "name": offering.name,
        "description": offering.description,
        "version": str(offering.version),
        "lastUpdate": iso(offering.updated_at),
        "lifecycleStatus": LIFECYCLE[offering.status],
        "isBundle": False,
        "isSellable": offering.status is LifecycleStatus.ACTIVE,
        **_valid_for(offering.valid_from or offering.created_at, offering.valid_to),
        "productOfferingTerm": [
            {
                "name": MINIMUM_TERM,
                "duration": {"amount": offering.min_term_months, "units": "month"},
            },
            {
                "name": MAXIMUM_TERM,
                "duration": {"amount": offering.max_term_months, "units": "month"},
            },
        ],
        "prodSpecCharValueUse": [
            {
                "name": catalog.BANDWIDTH,
                "valueType": ValueType.INTEGER.value,
                "minCardinality": 1,
                "maxCardinality": 1,
                "productSpecCharacteristicValue": [
                    {
                        "value": mbps,
                        "unitOfMeasure": "Mbps",
                        "valueType": "integer",
                        "isDefault": i == 0,
                    }
                    for i, mbps in enumerate(offering.bandwidths_mbps)
                ],
            },
            {
                "name": catalog.CLASS_OF_SERVICE,
                "valueType": ValueType.STRING.value,
                "minCardinality": 1,
                "maxCardinality": 1,
                "productSpecCharacteristicValue": [
                    {"value": cos, "valueType": "string", "isDefault": i == 0}
                    for i, cos in enumerate(offering.classes_of_service)
                ],
            },
        ],
        "productOfferingPrice": [
            _ref(request, "productOfferingPrice", p.id, p.name, "ProductOfferingPrice")
            for p in detail.prices
        ],
    }
    if offering.status_reason:
        view["statusReason"] = offering.status_reason
    if detail.category is not None:
        view["category"] = [
            _ref(request, "category", detail.category.id, detail.category.name, "Category")
        ]
    if detail.specification is not None:
        view["productSpecification"] = _ref(
            request,
            "productSpecification",
            detail.specification.id,
            detail.specification.name,
            "ProductSpecification",
        )
    return view


def price_view(request: Request, price: OfferingPrice) -> dict[str, Any]:
    """A core list price as a TMF620 ProductOfferingPrice."""
    view: dict[str, Any] = {
        **price.annotations,
        "id": price.id,
        "href": href(request, BASE, "productOfferingPrice", price.id),
        "@type": "ProductOfferingPrice",
        "name": price.name,
        "description": price.description,
        "priceType": PRICE_TYPE[price.kind],
        "lifecycleStatus": LIFECYCLE[price.status],
        "version": price.version,
        "lastUpdate": iso(price.updated_at),
        "isBundle": False,
        "price": {"unit": price.currency, "value": float(Decimal(price.amount_cents) / 100)},
        **_valid_for(price.valid_from, price.valid_to),
    }
    if price.period_months is not None:
        view |= {
            "recurringChargePeriodType": "month",
            "recurringChargePeriodLength": price.period_months,
        }
    if price.unit_of_measure:
        view["unitOfMeasure"] = {"amount": 1, "units": price.unit_of_measure}
    return view


def category_view(request: Request, detail: CategoryDetail) -> dict[str, Any]:
    """A core category as a TMF620 Category."""
    category = detail.category
    view: dict[str, Any] = {
        **category.annotations,
        "id": category.id,
        "href": href(request, BASE, "category", category.id),
        "@type": "Category",
        "name": category.name,
        "description": category.description,
        "version": category.version,
        "lastUpdate": iso(category.updated_at),
        "lifecycleStatus": LIFECYCLE[category.status],
        "isRoot": category.parent_id is None,
        "productOffering": [
            {"id": o.id, "name": o.name, "href": href(request, BASE, "productOffering", o.id)}
            for o in detail.offerings
        ],
        "subCategory": [
            {"id": c.id, "name": c.name, "href": href(request, BASE, "category", c.id)}
            for c in detail.subcategories
        ],
        **_valid_for(category.valid_from, category.valid_to),
    }
    if category.parent_id is not None:
        view["parentId"] = category.parent_id
    return view


def catalog_view(request: Request, detail: CatalogDetail) -> dict[str, Any]:
    """A core catalog as a TMF620 Catalog."""
    found = detail.catalog
    return {
        **found.annotations,
        "id": found.id,
        "href": href(request, BASE, "catalog", found.id),
        "@type": "Catalog",
        "name": found.name,
        "description": found.description,
        "catalogType": found.catalog_type,
        "version": found.version,
        "lastUpdate": iso(found.updated_at),
        "lifecycleStatus": LIFECYCLE[found.status],
        "category": [
            {"id": c.id, "name": c.name, "href": href(request, BASE, "category", c.id)}
            for c in detail.categories
        ],
        **_valid_for(found.valid_from, found.valid_to),
    }


_Input = TypeVar("_Input", bound=BaseModel)


def _core(model: type[_Input], data: dict[str, Any], where: str = "") -> _Input:
    """A core input from a body's attributes, or a TMF 400 naming what the core refuses."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise TMFError(
            400, "INVALID_VALUE", f"{where + ': ' if where else ''}{field}: {first['msg']}"
        ) from exc


# Attributes a body may carry that the platform sets itself.
IGNORED = {"@type", "@baseType", "@schemaLocation", "href", "id", "lastUpdate"}
_Kept = TypeVar(
    "_Kept",
    catalog.SpecificationField,
    catalog.OfferingField,
    catalog.PriceField,
    catalog.CategoryField,
    catalog.CatalogField,
)


def _annotations(
    body: BaseModel, stored: set[str], derived: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The core's `annotations` change for the attributes of the body that the core keeps
    without interpreting (those it neither stores in columns nor derives), as JSON; empty when
    there are none. A derived attribute is refused rather than dropped silently."""
    if getattr(body, "isBundle", None):
        raise TMFError(400, "INVALID_VALUE", "the catalog has no bundles: isBundle is false")
    declared = type(body).model_fields
    # Attributes of `@type` extensions are not the API's own: they are left to the extension.
    given = {declared[n].alias or n: n for n in body.model_fields_set if n in declared}
    refused = sorted(derived & given.keys())
    if refused:
        raise TMFError(
            400,
            "UNSUPPORTED_ATTRIBUTE",
            f"{', '.join(refused)} cannot be set: the platform derives it",
        )
    kept = {
        name: to_jsonable_python(getattr(body, field), by_alias=True, exclude_none=True)
        for name, field in given.items()
        if name not in stored | IGNORED
    }
    return {"annotations": kept} if kept else {}


def _status(text: str | None) -> LifecycleStatus | None:
    if text is None:
        return None
    status = CORE_LIFECYCLE.get(text.lower())
    if status is None:
        raise TMFError(
            400,
            "INVALID_VALUE",
            f"lifecycleStatus must be one of {', '.join(n.capitalize() for n in CORE_LIFECYCLE)}",
        )
    return status


def _changes(body: BaseModel, names: dict[str, str]) -> dict[str, Any]:
    """Core fields from the TMF attributes that the body sets, by TMF name -> core name, and
    its `validFor`."""
    found = {
        core: getattr(body, tmf_name)
        for tmf_name, core in names.items()
        if tmf_name in body.model_fields_set
    }
    if "validFor" in body.model_fields_set:
        period: tmf.TimePeriod | None = getattr(body, "validFor", None)
        found["valid_from"] = period.startDateTime if period else None
        found["valid_to"] = period.endDateTime if period else None
    return found


def _valid_for(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    period = {"startDateTime": iso(start)} if start else {}
    if end:
        period["endDateTime"] = iso(end)
    return {"validFor": period} if period else {}


def _characteristic_input(
    characteristic: tmf.ProductSpecificationCharacteristic, index: int
) -> CharacteristicInput:
    where = f"productSpecCharacteristic[{index}]"
    if not characteristic.name:
        raise TMFError(400, "MISSING_ATTRIBUTE", f"{where}.name is mandatory")
    type_name = (characteristic.valueType or ValueType.STRING.value).lower()
    if type_name not in set(ValueType):
        raise TMFError(
            400, "INVALID_VALUE", f"{where}.valueType must be one of {', '.join(ValueType)}"
        )
    values, default, unit = [], None, None
    value_from = value_to = None
    for entry in characteristic.productSpecCharacteristicValue or []:
        unit = unit or entry.unitOfMeasure
        if entry.valueFrom is not None or entry.valueTo is not None:
            value_from, value_to = entry.valueFrom, entry.valueTo
        if entry.value is not None and entry.value.root is not None:
            text = (
                str(entry.value.root).lower()
                if isinstance(entry.value.root, bool)
                else str(entry.value.root)
            )
            values.append(text)
            if entry.isDefault:
                default = text
    return _core(
        CharacteristicInput,
        {
            "name": characteristic.name,
            "description": characteristic.description or "",
            "value_type": ValueType(type_name),
            "unit": unit,
            "value_from": value_from,
            "value_to": value_to,
            "values": values,
            "default_value": default,
        },
        where,
    )


def _characteristic_inputs(
    characteristics: list[tmf.ProductSpecificationCharacteristic] | None,
) -> list[CharacteristicInput]:
    return [_characteristic_input(c, i) for i, c in enumerate(characteristics or [])]


def _offering_characteristics(
    uses: list[tmf.ProductSpecificationCharacteristicValueUse] | None,
    terms: list[tmf.ProductOfferingTerm] | None,
) -> dict[str, Any]:
    """Speeds, classes of service and terms from TMF characteristic value uses and terms."""
    found: dict[str, Any] = {}
    for index, use in enumerate(uses or []):
        values = [
            v.value.root
            for v in use.productSpecCharacteristicValue or []
            if v.value is not None and v.value.root is not None
        ]
        if use.name == catalog.BANDWIDTH:
            if not all(str(v).isdigit() for v in values):
                raise TMFError(
                    400,
                    "INVALID_VALUE",
                    f"prodSpecCharValueUse[{index}] ('{catalog.BANDWIDTH}'): values are whole Mbps",
                )
            found["bandwidths_mbps"] = [int(v) for v in values]
        elif use.name == catalog.CLASS_OF_SERVICE:
            found["classes_of_service"] = [str(v) for v in values]
        else:
            raise TMFError(
                400,
                "INVALID_VALUE",
                f"prodSpecCharValueUse[{index}].name must be '{catalog.BANDWIDTH}' or "
                f"'{catalog.CLASS_OF_SERVICE}'",
            )
    for term in terms or []:
        amount = term.duration.amount if term.duration else None
        if amount is not None and term.name == MINIMUM_TERM:
            found["min_term_months"] = amount
        if amount is not None and term.name == MAXIMUM_TERM:
            found["max_term_months"] = amount
    return found


def _price_ids(prices: list[tmf.ProductOfferingPriceRefOrValue] | None) -> list[str] | None:
    if prices is None:
        return None
    ids = []
    for index, entry in enumerate(prices):
        if not entry.id:
            raise TMFError(
                400,
                "MISSING_ATTRIBUTE",
                f"productOfferingPrice[{index}].id is mandatory: create prices with "
                "POST /productOfferingPrice, then refer to them",
            )
        ids.append(entry.id)
    return ids


def _category_id(categories: list[tmf.CategoryRef] | None) -> str | None:
    if not categories:
        return None
    if len(categories) > 1:
        raise TMFError(400, "INVALID_VALUE", "an offering is in one category")
    return categories[0].id


def _cents(money: tmf.Money | None) -> dict[str, Any]:
    if money is None:
        return {}
    found: dict[str, Any] = {}
    if money.value is not None:
        try:
            found["amount_cents"] = as_cents(str(money.value))[0]
        except ValueError as exc:
            raise TMFError(400, "INVALID_VALUE", f"price.value {exc}") from exc
    if money.unit is not None:
        found["currency"] = money.unit
    return found


def _price_fields(
    body: tmf.ProductOfferingPriceCreate | tmf.ProductOfferingPriceUpdate,
) -> dict[str, Any]:
    fields = _changes(body, {"name": "name", "description": "description", "version": "version"})
    if "priceType" in body.model_fields_set and body.priceType is not None:
        kind = CORE_PRICE_TYPE.get(body.priceType.lower())
        if kind is None:
            raise TMFError(
                400, "INVALID_VALUE", f"priceType must be one of {', '.join(PRICE_TYPE.values())}"
            )
        fields["kind"] = kind
    if body.recurringChargePeriodType not in (None, "month", "months", "monthly"):
        raise TMFError(400, "INVALID_VALUE", "recurringChargePeriodType must be 'month'")
    if "recurringChargePeriodLength" in body.model_fields_set:
        fields["period_months"] = body.recurringChargePeriodLength
    if body.unitOfMeasure is not None:
        fields["unit_of_measure"] = body.unitOfMeasure.units
    fields |= _cents(body.price)
    status = _status(body.lifecycleStatus)
    if status is not None:
        fields["status"] = status
    return fields


# The attributes of each resource that the platform keeps (`isBundle` only as false). An
# offering's `version` is counted by the core and its `isSellable` follows from its lifecycle,
# so both are read only.
PRICE_ATTRIBUTES = {
    "validFor",
    "name",
    "description",
    "version",
    "priceType",
    "recurringChargePeriodType",
    "recurringChargePeriodLength",
    "unitOfMeasure",
    "price",
    "lifecycleStatus",
    "isBundle",
}
SPECIFICATION_ATTRIBUTES = {
    "validFor",
    "name",
    "description",
    "brand",
    "version",
    "lifecycleStatus",
    "isBundle",
    "productSpecCharacteristic",
}
OFFERING_ATTRIBUTES = {
    "validFor",
    "name",
    "description",
    "version",
    "lifecycleStatus",
    "isBundle",
    "isSellable",
    "category",
    "productSpecification",
    "prodSpecCharValueUse",
    "productOfferingTerm",
    "productOfferingPrice",
}
CATEGORY_ATTRIBUTES = {
    "name",
    "description",
    "version",
    "lifecycleStatus",
    "parentId",
    "isRoot",
    "validFor",
}
# Attributes the platform works out itself: what a category holds, why an offering is not sold.
CATEGORY_DERIVED = frozenset({"productOffering", "subCategory"})
OFFERING_DERIVED = frozenset({"statusReason"})
CATALOG_ATTRIBUTES = {
    "validFor",
    "name",
    "description",
    "version",
    "lifecycleStatus",
    "catalogType",
    "category",
}


async def _one_offering(
    request: Request, session: AsyncSession, offering: catalog.Offering
) -> dict[str, Any]:
    [detail] = await catalog.offering_details(session, [offering])
    return offering_view(request, detail)


async def _one_specification(
    request: Request, session: AsyncSession, spec: catalog.Specification
) -> dict[str, Any]:
    [detail] = await catalog.specification_details(session, [spec])
    return specification_view(request, detail)


def _created(view: dict[str, Any]) -> Response:
    return tmf_json(view, status=201, headers={"Location": view["href"]})


def _flag(text: str) -> tuple[bool]:
    if text.lower() not in {"true", "false"}:
        raise ValueError("is not true or false")
    return (text.lower() == "true",)


def _whole(text: str) -> tuple[int]:
    if not text.isdigit() or len(text) > 9:
        raise ValueError("is not a whole number")
    return (int(text),)


def _whole_number(text: str) -> tuple[int, ...]:
    """A filter value compared with whole-number attributes (any other matches none)."""
    number = text.removeprefix("-")
    return (int(text),) if number.isdigit() and len(number) < 10 else ()


def _value_type(text: str) -> tuple[ValueType, ...]:
    return (ValueType(text),) if text in set(ValueType) else ()


def _stored_value(text: str) -> tuple[str, ...]:
    """A characteristic value as the core stores it (booleans in lower case)."""
    return (text.lower() if text.lower() in {"true", "false"} else text,)


def _shown_if(flag: str) -> Callable[[str], tuple[bool, ...]]:
    """Filter values of a flag shown as `flag` by the rows of which a true field holds."""

    def values(text: str) -> tuple[bool, ...]:
        if text.lower() not in {"true", "false"}:
            raise ValueError("is not true or false")
        return (True,) if text.lower() == flag else ()

    return values


_F = TypeVar("_F", bound=StrEnum)


def _validity_filters(field_from: _F, field_to: _F) -> dict[str, Attribute[_F]]:
    return {
        "validFor.startDateTime": Attribute(field_from, as_date_time, ordered=True),
        "validFor.endDateTime": Attribute(field_to, as_date_time, ordered=True),
    }


def _ref_filters(field: _F, resource: str, referred: str, shown: _F) -> dict[str, Attribute[_F]]:
    """Filters on the `id`, `href` and `@referredType` of the references to `resource`s that
    the rows of which `shown` holds carry."""
    return {
        f"{resource}.id": Attribute(field, as_text),
        f"{resource}.href": linked(field, BASE, resource),
        f"{resource}.@referredType": constant(field, referred, shown=shown),
    }


_SPEC = catalog.SpecificationField
_CHARACTERISTIC = "productSpecCharacteristic"
_SPEC_VALUE = f"{_CHARACTERISTIC}.productSpecCharacteristicValue"
_OFFERING = catalog.OfferingField
_USE = "prodSpecCharValueUse"
_USE_VALUE = f"{_USE}.productSpecCharacteristicValue"
_TERM = "productOfferingTerm"

# The attributes of each resource that the core filters on: those it stores in columns or
# derives from them and from related rows, and, by any path below them, those it keeps as given.
SPECIFICATION_FILTERS: dict[str, Attribute[catalog.SpecificationField]] = {
    **kept_filters(
        tmf.ProductSpecificationCreate,
        catalog.SpecificationField.ANNOTATIONS,
        SPECIFICATION_ATTRIBUTES | IGNORED,
    ),
    "id": Attribute(_SPEC.ID, as_text),
    "href": linked(_SPEC.ID, BASE, "productSpecification"),
    "@type": constant(_SPEC.ID, "ProductSpecification"),
    "isBundle": constant(_SPEC.ID, False),
    "name": Attribute(_SPEC.NAME, as_text),
    "description": Attribute(_SPEC.DESCRIPTION, as_text),
    "brand": Attribute(_SPEC.BRAND, as_text),
    "version": Attribute(_SPEC.VERSION, as_text),
    "lifecycleStatus": Attribute(_SPEC.STATUS, by_name(LIFECYCLE)),
    "lastUpdate": Attribute(_SPEC.UPDATED_AT, as_date_time, ordered=True),
    **_validity_filters(_SPEC.VALID_FROM, _SPEC.VALID_TO),
    f"{_CHARACTERISTIC}.name": Attribute(_SPEC.CHARACTERISTIC, as_text),
    f"{_CHARACTERISTIC}.description": Attribute(_SPEC.CHARACTERISTIC_DESCRIPTION, as_text),
    f"{_CHARACTERISTIC}.valueType": Attribute(_SPEC.CHARACTERISTIC_VALUE_TYPE, _value_type),
    **{
        f"{_CHARACTERISTIC}.{name}": constant(_SPEC.ID, value, shown=_SPEC.HAS_CHARACTERISTIC)
        for name, value in (
            ("@type", "ProductSpecificationCharacteristic"),
            ("configurable", True),
            ("minCardinality", 1),
            ("maxCardinality", 1),
        )
    },
    f"{_SPEC_VALUE}.value": Attribute(_SPEC.VALUE, _stored_value),
    f"{_SPEC_VALUE}.isDefault": Attribute(
        _SPEC.VALUE_IS_DEFAULT,
        _flag,
        # A range of values is never the default.
        also=Attribute(_SPEC.HAS_RANGE, _shown_if("false")),
    ),
    f"{_SPEC_VALUE}.valueType": Attribute(_SPEC.CHARACTERISTIC_VALUE_TYPE, _value_type),
    f"{_SPEC_VALUE}.unitOfMeasure": Attribute(_SPEC.CHARACTERISTIC_UNIT, as_text),
    f"{_SPEC_VALUE}.valueFrom": Attribute(
        _SPEC.CHARACTERISTIC_VALUE_FROM, _whole_number, ordered=True
    ),
    f"{_SPEC_VALUE}.valueTo": Attribute(_SPEC.CHARACTERISTIC_VALUE_TO, _whole_number, ordered=True),
}
OFFERING_FILTERS: dict[str, Attribute[catalog.OfferingField]] = {
    **kept_filters(
        tmf.ProductOfferingCreate,
        catalog.OfferingField.ANNOTATIONS,
        OFFERING_ATTRIBUTES | IGNORED | OFFERING_DERIVED,
    ),
    "id": Attribute(_OFFERING.ID, as_text),
    "href": linked(_OFFERING.ID, BASE, "productOffering"),
    "@type": constant(_OFFERING.ID, "ProductOffering"),
    "isBundle": constant(_OFFERING.ID, False),
    "name": Attribute(_OFFERING.NAME, as_text),
    "description": Attribute(_OFFERING.DESCRIPTION, as_text),
    "version": Attribute(_OFFERING.VERSION, _whole_number, ordered=True),
    "statusReason": Attribute(_OFFERING.STATUS_REASON, as_text),
    "lifecycleStatus": Attribute(_OFFERING.STATUS, by_name(LIFECYCLE)),
    "isSellable": Attribute(_OFFERING.ON_SALE, _flag),
    "lastUpdate": Attribute(_OFFERING.UPDATED_AT, as_date_time, ordered=True),
    **_validity_filters(_OFFERING.VALID_FROM, _OFFERING.VALID_TO),
    **_ref_filters(_OFFERING.CATEGORY, "category", "Category", shown=_OFFERING.HAS_CATEGORY),
    "category.name": Attribute(_OFFERING.CATEGORY_NAME, as_text),
    **_ref_filters(
        _OFFERING.SPECIFICATION_ID,
        "productSpecification",
        "ProductSpecification",
        shown=_OFFERING.HAS_SPECIFICATION,
    ),
    "productSpecification.name": Attribute(_OFFERING.SPECIFICATION_NAME, as_text),
    **_ref_filters(
        _OFFERING.PRICE_ID,
        "productOfferingPrice",
        "ProductOfferingPrice",
        shown=_OFFERING.HAS_PRICE,
    ),
    "productOfferingPrice.name": Attribute(_OFFERING.PRICE_NAME, as_text),
    # The shortest and the longest term it sells.
    f"{_TERM}.name": constant(_OFFERING.ID, MINIMUM_TERM, MAXIMUM_TERM),
    f"{_TERM}.duration.amount": Attribute(_OFFERING.TERM_MONTHS, _whole_number, ordered=True),
    f"{_TERM}.duration.units": constant(_OFFERING.ID, "month"),
    # The speeds and classes of service it sells.
    f"{_USE}.name": constant(_OFFERING.ID, catalog.BANDWIDTH, catalog.CLASS_OF_SERVICE),
    f"{_USE}.valueType": constant(_OFFERING.ID, ValueType.INTEGER.value, ValueType.STRING.value),
    f"{_USE}.minCardinality": constant(_OFFERING.ID, 1),
    f"{_USE}.maxCardinality": constant(_OFFERING.ID, 1),
    f"{_USE_VALUE}.value": Attribute(
        _OFFERING.BANDWIDTH_MBPS,
        as_text,
        also=Attribute(_OFFERING.CLASS_OF_SERVICE, as_text),
    ),
    # The first value of each is the default, any other is not.
    f"{_USE_VALUE}.isDefault": Attribute(
        _OFFERING.SELLS_VALUES,
        _shown_if("true"),
        also=Attribute(_OFFERING.SELLS_CHOICES, _shown_if("false")),
    ),
    f"{_USE_VALUE}.valueType": constant(
        _OFFERING.ID,
        ValueType.INTEGER.value,
        ValueType.STRING.value,
        shown=_OFFERING.SELLS_VALUES,
    ),
    f"{_USE_VALUE}.unitOfMeasure": constant(_OFFERING.ID, "Mbps", shown=_OFFERING.SELLS_VALUES),
}
PRICE_FILTERS: dict[str, Attribute[catalog.PriceField]] = {
    **kept_filters(
        tmf.ProductOfferingPriceCreate, catalog.PriceField.ANNOTATIONS, PRICE_ATTRIBUTES | IGNORED
    ),
    "id": Attribute(catalog.PriceField.ID, as_text),
    "href": linked(catalog.PriceField.ID, BASE, "productOfferingPrice"),
    "@type": constant(catalog.PriceField.ID, "ProductOfferingPrice"),
    "isBundle": constant(catalog.PriceField.ID, False),
    "name": Attribute(catalog.PriceField.NAME, as_text),
    "description": Attribute(catalog.PriceField.DESCRIPTION, as_text),
    "priceType": Attribute(catalog.PriceField.KIND, by_name(PRICE_TYPE)),
    "price.value": Attribute(catalog.PriceField.AMOUNT_CENTS, as_cents, ordered=True),
    "price.unit": Attribute(catalog.PriceField.CURRENCY, as_text),
    "recurringChargePeriodLength": Attribute(
        catalog.PriceField.PERIOD_MONTHS, _whole, ordered=True
    ),
    "recurringChargePeriodType": constant(
        catalog.PriceField.ID, "month", shown=catalog.PriceField.HAS_PERIOD
    ),
    "unitOfMeasure.units": Attribute(catalog.PriceField.UNIT_OF_MEASURE, as_text),
    "unitOfMeasure.amount": constant(
        catalog.PriceField.ID, 1, shown=catalog.PriceField.HAS_UNIT_OF_MEASURE
    ),
    "version": Attribute(catalog.PriceField.VERSION, as_text),
    "lifecycleStatus": Attribute(catalog.PriceField.STATUS, by_name(LIFECYCLE)),
    "lastUpdate": Attribute(catalog.PriceField.UPDATED_AT, as_date_time, ordered=True),
    **_validity_filters(catalog.PriceField.VALID_FROM, catalog.PriceField.VALID_TO),
}
_CATEGORY = catalog.CategoryField
CATEGORY_FILTERS: dict[str, Attribute[catalog.CategoryField]] = {
    **kept_filters(
        tmf.CategoryCreate,
        catalog.CategoryField.ANNOTATIONS,
        CATEGORY_ATTRIBUTES | IGNORED | CATEGORY_DERIVED,
    ),
    "id": Attribute(_CATEGORY.ID, as_text),
    "href": linked(_CATEGORY.ID, BASE, "category"),
    "@type": constant(_CATEGORY.ID, "Category"),
    "name": Attribute(_CATEGORY.NAME, as_text),
    "description": Attribute(_CATEGORY.DESCRIPTION, as_text),
    "parentId": Attribute(_CATEGORY.PARENT_ID, as_text),
    "isRoot": Attribute(_CATEGORY.IS_ROOT, _flag),
    "version": Attribute(_CATEGORY.VERSION, as_text),
    "lifecycleStatus": Attribute(_CATEGORY.STATUS, by_name(LIFECYCLE)),
    "lastUpdate": Attribute(_CATEGORY.UPDATED_AT, as_date_time, ordered=True),
    **_validity_filters(_CATEGORY.VALID_FROM, _CATEGORY.VALID_TO),
    "productOffering.id": Attribute(_CATEGORY.OFFERING_ID, as_text),
    "productOffering.href": linked(_CATEGORY.OFFERING_ID, BASE, "productOffering"),
    "productOffering.name": Attribute(_CATEGORY.OFFERING_NAME, as_text),
    "subCategory.id": Attribute(_CATEGORY.SUBCATEGORY_ID, as_text),
    "subCategory.href": linked(_CATEGORY.SUBCATEGORY_ID, BASE, "category"),
    "subCategory.name": Attribute(_CATEGORY.SUBCATEGORY_NAME, as_text),
}
CATALOG_FILTERS: dict[str, Attribute[catalog.CatalogField]] = {
    **kept_filters(
        tmf.CatalogCreate, catalog.CatalogField.ANNOTATIONS, CATALOG_ATTRIBUTES | IGNORED
    ),
    "id": Attribute(catalog.CatalogField.ID, as_text),
    "href": linked(catalog.CatalogField.ID, BASE, "catalog"),
    "@type": constant(catalog.CatalogField.ID, "Catalog"),
    "name": Attribute(catalog.CatalogField.NAME, as_text),
    "description": Attribute(catalog.CatalogField.DESCRIPTION, as_text),
    "catalogType": Attribute(catalog.CatalogField.CATALOG_TYPE, as_text),
    "version": Attribute(catalog.CatalogField.VERSION, as_text),
    "lifecycleStatus": Attribute(catalog.CatalogField.STATUS, by_name(LIFECYCLE)),
    "lastUpdate": Attribute(catalog.CatalogField.UPDATED_AT, as_date_time, ordered=True),
    **_validity_filters(catalog.CatalogField.VALID_FROM, catalog.CatalogField.VALID_TO),
    "category.id": Attribute(catalog.CatalogField.CATEGORY_ID, as_text),
    "category.href": linked(catalog.CatalogField.CATEGORY_ID, BASE, "category"),
    "category.name": Attribute(catalog.CatalogField.CATEGORY_NAME, as_text),
}
# TMF620 attributes that filter after the page is read: none.
AFTER_PAGE: frozenset[str] = frozenset()


routes = APIRouter(prefix=BASE, route_class=TMFRoute, tags=["TMF620 product catalog"])


@routes.get("/productSpecification", response_model=list[tmf.ProductSpecification])
async def list_specifications(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """Product specifications and the characteristics they take."""
    conditions, after = query.conditions(SPECIFICATION_FILTERS, AFTER_PAGE)
    page = await catalog.page_specifications(
        session, conditions=conditions, offset=query.offset, limit=query.limit
    )
    details = await catalog.specification_details(session, page.items)
    views = [specification_view(request, d) for d in details]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/productSpecification/{id}", response_model=tmf.ProductSpecification)
async def get_specification(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One product specification."""
    spec = await catalog.get_specification(session, id)
    return resource(query, await _one_specification(request, session, spec))


@routes.post("/productSpecification", status_code=201, response_model=tmf.ProductSpecification)
async def create_specification(
    body: tmf.ProductSpecificationCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Describe a product specification (operations staff)."""
    principal.require_ops()
    kept = _annotations(body, SPECIFICATION_ATTRIBUTES)
    fields = _changes(
        body, {"name": "name", "description": "description", "brand": "brand", "version": "version"}
    )
    spec = await catalog.create_specification(
        session,
        principal=principal,
        data=_core(
            catalog.SpecificationInput,
            fields
            | kept
            | {
                "status": _status(body.lifecycleStatus) or LifecycleStatus.ACTIVE,
                "characteristics": _characteristic_inputs(body.productSpecCharacteristic),
            },
        ),
    )
    return _created(await _one_specification(request, session, spec))


@routes.patch("/productSpecification/{id}", response_model=tmf.ProductSpecification)
async def patch_specification(
    id: str,
    body: tmf.ProductSpecificationUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a product specification by merge patch (operations staff)."""
    principal.require_ops()
    changes = _changes(
        body, {"name": "name", "description": "description", "brand": "brand", "version": "version"}
    ) | _annotations(body, SPECIFICATION_ATTRIBUTES)
    if "productSpecCharacteristic" in body.model_fields_set:
        changes["characteristics"] = _characteristic_inputs(body.productSpecCharacteristic)
    status = _status(body.lifecycleStatus)
    if status is not None:
        changes["status"] = status
    spec = await catalog.update_specification(
        session,
        principal=principal,
        specification_id=id,
        changes=_core(catalog.SpecificationUpdate, changes),
    )
    return tmf_json(await _one_specification(request, session, spec))


@routes.delete("/productSpecification/{id}", status_code=204)
async def delete_specification(
    id: str, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Withdraw a product specification that no offering uses (operations staff)."""
    principal.require_ops()
    await catalog.retire_specification(session, principal=principal, specification_id=id)
    return Response(status_code=204)


@routes.get("/productOffering", response_model=list[tmf.ProductOffering])
async def list_offerings(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """Offerings on sale (and, for operations staff, those in design)."""
    conditions, after = query.conditions(OFFERING_FILTERS, AFTER_PAGE)
    page = await catalog.page_offerings(
        session,
        principal=principal,
        conditions=conditions,
        offset=query.offset,
        limit=query.limit,
    )
    details = await catalog.offering_details(session, page.items)
    views = [offering_view(request, d) for d in details]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/productOffering/{id}", response_model=tmf.ProductOffering)
async def get_offering(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One offering."""
    offering = await catalog.browse_offering(session, principal=principal, offering_id=id)
    return resource(query, await _one_offering(request, session, offering))


async def _offering_fields(
    session: AsyncSession, body: tmf.ProductOfferingCreate | tmf.ProductOfferingUpdate
) -> dict[str, Any]:
    fields = _changes(body, {"name": "name", "description": "description"})
    if "productSpecification" in body.model_fields_set:
        fields["specification_id"] = (
            body.productSpecification.id if body.productSpecification else None
        )
    if "category" in body.model_fields_set:
        fields["category"] = _category_id(body.category) or catalog.STANDARD_CATEGORY
    return fields | _offering_characteristics(body.prodSpecCharValueUse, body.productOfferingTerm)


async def _defaults_of(session: AsyncSession, specification_id: str | None) -> dict[str, Any]:
    """What an offering sells unless it says otherwise: every value its specification allows."""
    if specification_id is None:
        return {"bandwidths_mbps": catalog.LINE_BANDWIDTHS_MBPS}
    try:
        spec = await catalog.get_specification(session, specification_id)
    except NotFound:
        return {"bandwidths_mbps": catalog.LINE_BANDWIDTHS_MBPS}
    [detail] = await catalog.specification_details(session, [spec])
    allowed = {c.characteristic.name: [v.value for v in c.values] for c in detail.characteristics}
    defaults: dict[str, Any] = {"bandwidths_mbps": catalog.LINE_BANDWIDTHS_MBPS}
    if allowed.get(catalog.BANDWIDTH):
        defaults["bandwidths_mbps"] = [int(v) for v in allowed[catalog.BANDWIDTH]]
    if allowed.get(catalog.CLASS_OF_SERVICE):
        defaults["classes_of_service"] = allowed[catalog.CLASS_OF_SERVICE]
    return defaults


@routes.post("/productOffering", status_code=201, response_model=tmf.ProductOffering)
async def create_offering(
    body: tmf.ProductOfferingCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Add an offering (operations staff); it goes on sale once it has a specification that the
    platform delivers and a price."""
    principal.require_ops()
    kept = _annotations(body, OFFERING_ATTRIBUTES, OFFERING_DERIVED)
    fields = await _offering_fields(session, body)
    data = await _defaults_of(session, fields.get("specification_id")) | fields | kept
    offering = await catalog.create_offering(
        session,
        principal=principal,
        offering_id=new_id("off"),
        data=_core(catalog.OfferingBase, data),
        price_ids=_price_ids(body.productOfferingPrice),
        status=_status(body.lifecycleStatus) or LifecycleStatus.ACTIVE,
    )
    return _created(await _one_offering(request, session, offering))


@routes.patch("/productOffering/{id}", response_model=tmf.ProductOffering)
async def patch_offering(
    id: str,
    body: tmf.ProductOfferingUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change an offering by merge patch (operations staff)."""
    principal.require_ops()
    kept = _annotations(body, OFFERING_ATTRIBUTES, OFFERING_DERIVED)
    await catalog.browse_offering(session, principal=principal, offering_id=id)
    changes = await _offering_fields(session, body) | kept
    status = _status(body.lifecycleStatus)
    if status is not None:
        changes["status"] = status
    updated = await catalog.update_offering(
        session,
        principal=principal,
        offering_id=id,
        changes=_core(catalog.OfferingUpdate, changes),
        price_ids=_price_ids(body.productOfferingPrice),
    )
    return tmf_json(await _one_offering(request, session, updated))


@routes.delete("/productOffering/{id}", status_code=204)
async def delete_offering(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Withdraw an offering from sale (operations staff)."""
    principal.require_ops()
    await catalog.browse_offering(session, principal=principal, offering_id=id)
    await catalog.retire_offering(session, principal=principal, offering_id=id)
    return Response(status_code=204)


@routes.get("/productOfferingPrice", response_model=list[tmf.ProductOfferingPrice])
async def list_prices(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """List prices."""
    conditions, after = query.conditions(PRICE_FILTERS, AFTER_PAGE)
    page = await catalog.page_prices(
        session, conditions=conditions, offset=query.offset, limit=query.limit
    )
    views = [price_view(request, p) for p in page.items]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/productOfferingPrice/{id}", response_model=tmf.ProductOfferingPrice)
async def get_price(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One list price."""
    return resource(query, price_view(request, await catalog.get_price(session, id)))


@routes.post("/productOfferingPrice", status_code=201, response_model=tmf.ProductOfferingPrice)
async def create_price(
    body: tmf.ProductOfferingPriceCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Publish a list price (operations staff); offerings refer to it."""
    principal.require_ops()
    fields = _price_fields(body) | _annotations(body, PRICE_ATTRIBUTES)
    created = await catalog.create_price(
        session, principal=principal, data=_core(catalog.PriceInput, fields)
    )
    return _created(price_view(request, created))


@routes.patch("/productOfferingPrice/{id}", response_model=tmf.ProductOfferingPrice)
async def patch_price(
    id: str,
    body: tmf.ProductOfferingPriceUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a list price by merge patch (operations staff)."""
    principal.require_ops()
    fields = _price_fields(body) | _annotations(body, PRICE_ATTRIBUTES)
    updated = await catalog.update_price(
        session,
        principal=principal,
        price_id=id,
        changes=_core(catalog.PriceUpdate, fields),
    )
    return tmf_json(price_view(request, updated))


@routes.delete("/productOfferingPrice/{id}", status_code=204)
async def delete_price(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Withdraw a list price that no offering on sale depends on (operations staff)."""
    principal.require_ops()
    await catalog.retire_price(session, principal=principal, price_id=id)
    return Response(status_code=204)


async def _one_category(
    request: Request, session: AsyncSession, principal: Principal, category: catalog.Category
) -> dict[str, Any]:
    [detail] = await catalog.category_details(session, principal=principal, categories=[category])
    return category_view(request, detail)


def _category_fields(body: tmf.CategoryCreate | tmf.CategoryUpdate) -> dict[str, Any]:
    fields = _changes(
        body,
        {
            "name": "name",
            "description": "description",
            "version": "version",
            "parentId": "parent_id",
        },
    )
    if body.isRoot and body.parentId:
        raise TMFError(400, "INVALID_VALUE", "a root category has no parentId")
    if body.isRoot:
        fields["parent_id"] = None
    status = _status(body.lifecycleStatus)
    if status is not None:
        fields["status"] = status
    return fields


@routes.get("/category", response_model=list[tmf.Category])
async def list_categories(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """Categories of offerings."""
    conditions, after = query.conditions(CATEGORY_FILTERS, AFTER_PAGE)
    page = await catalog.page_categories(
        session, principal=principal, conditions=conditions, offset=query.offset, limit=query.limit
    )
    details = await catalog.category_details(session, principal=principal, categories=page.items)
    views = [category_view(request, d) for d in details]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/category/{id}", response_model=tmf.Category)
async def get_category(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One category."""
    category = await catalog.get_category(session, id)
    return resource(query, await _one_category(request, session, principal, category))


@routes.post("/category", status_code=201, response_model=tmf.Category)
async def create_category(
    body: tmf.CategoryCreate, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Add a category (operations staff); offerings join it through their own `category`."""
    principal.require_ops()
    fields = _category_fields(body) | _annotations(body, CATEGORY_ATTRIBUTES, CATEGORY_DERIVED)
    created = await catalog.create_category(
        session,
        principal=principal,
        data=_core(catalog.CategoryInput, fields),
    )
    return _created(await _one_category(request, session, principal, created))


@routes.patch("/category/{id}", response_model=tmf.Category)
async def patch_category(
    id: str,
    body: tmf.CategoryUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a category by merge patch (operations staff)."""
    principal.require_ops()
    fields = _category_fields(body) | _annotations(body, CATEGORY_ATTRIBUTES, CATEGORY_DERIVED)
    updated = await catalog.update_category(
        session,
        principal=principal,
        category_id=id,
        changes=_core(catalog.CategoryUpdate, fields),
    )
    return tmf_json(await _one_category(request, session, principal, updated))


@routes.delete("/category/{id}", status_code=204)
async def delete_category(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Withdraw a category that holds no offering (operations staff)."""
    principal.require_ops()
    await catalog.retire_category(session, principal=principal, category_id=id)
    return Response(status_code=204)


async def _one_catalog(
    request: Request, session: AsyncSession, found: catalog.Catalog
) -> dict[str, Any]:
    [detail] = await catalog.catalog_details(session, [found])
    return catalog_view(request, detail)


def _catalog_fields(body: tmf.CatalogCreate | tmf.CatalogUpdate) -> dict[str, Any]:
    fields = _changes(
        body,
        {
            "name": "name",
            "description": "description",
            "version": "version",
            "catalogType": "catalog_type",
        },
    )
    if "category" in body.model_fields_set:
        fields["category_ids"] = [c.id for c in body.category or []]
    status = _status(body.lifecycleStatus)
    if status is not None:
        fields["status"] = status
    return fields


@routes.get("/catalog", response_model=list[tmf.Catalog])
async def list_catalogs(
    request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """Catalogs."""
    conditions, after = query.conditions(CATALOG_FILTERS, AFTER_PAGE)
    page = await catalog.page_catalogs(
        session, conditions=conditions, offset=query.offset, limit=query.limit
    )
    details = await catalog.catalog_details(session, page.items)
    views = [catalog_view(request, d) for d in details]
    return await listed(query, views, total=page.total, after=after)


@routes.get("/catalog/{id}", response_model=tmf.Catalog)
async def get_catalog(
    id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, query: TMFQueryDep
) -> Response:
    """One catalog."""
    found = await catalog.get_catalog(session, id)
    return resource(query, await _one_catalog(request, session, found))


@routes.post("/catalog", status_code=201, response_model=tmf.Catalog)
async def create_catalog(
    body: tmf.CatalogCreate, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Publish a catalog of categories (operations staff)."""
    principal.require_ops()
    fields = _catalog_fields(body) | _annotations(body, CATALOG_ATTRIBUTES)
    created = await catalog.create_catalog(
        session,
        principal=principal,
        data=_core(catalog.CatalogInput, fields),
    )
    return _created(await _one_catalog(request, session, created))


@routes.patch("/catalog/{id}", response_model=tmf.Catalog)
async def patch_catalog(
    id: str,
    body: tmf.CatalogUpdate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Change a catalog by merge patch (operations staff)."""
    principal.require_ops()
    fields = _catalog_fields(body) | _annotations(body, CATALOG_ATTRIBUTES)
    updated = await catalog.update_catalog(
        session,
        principal=principal,
        catalog_id=id,
        changes=_core(catalog.CatalogUpdate, fields),
    )
    return tmf_json(await _one_catalog(request, session, updated))


@routes.delete("/catalog/{id}", status_code=204)
async def delete_catalog(id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Withdraw a catalog (operations staff)."""
    principal.require_ops()
    await catalog.retire_catalog(session, principal=principal, catalog_id=id)
    return Response(status_code=204)


add_hub_routes(routes, NOTIFYING)


def router() -> APIRouter:
    """The TMF620 endpoints."""
    return routes
