"""The platform's REST APIs as the portal lists them, each with an OpenAPI document of its own."""

import copy
from dataclasses import dataclass
from typing import Any

# What each API is for, in the portal's words; the base path (and its version) comes from the
# routes the application serves, so the list never names an API that is not served.
MEF_TITLES = {
    "geographicAddressManagement": "MEF 121 address validation",
    "geographicSiteManagement": "MEF 122 sites",
    "productOfferingQualification": "MEF 87 product offering qualification",
    "quoteManagement": "MEF 115 quotes",
    "productOrderingManagement": "MEF 123 product orders",
    "productInventory": "MEF 116 product inventory",
    "troubleTicket": "MEF 124 trouble tickets",
    "productOfferingAvailabilityAndPricingDiscovery": "MEF 160 availability and pricing",
    "productCatalog": "MEF W142 product catalog",
    "customerBillManagement": "MEF 141 billing",
    "workOrderManagement": "MEF 137 work orders",
    "appointment": "MEF 137 appointments",
}
TMF_TITLES = {
    "productCatalogManagement": "TMF620 Product Catalog",
    "productOrderingManagement": "TMF622 Product Ordering",
    "productOfferingQualification": "TMF679 Product Offering Qualification",
    "serviceQualificationManagement": "TMF645 Service Qualification",
    "quoteManagement": "TMF648 Quote Management",
    "troubleTicket": "TMF621 Trouble Ticket",
    "customerBillManagement": "TMF678 Customer Bill",
    "productInventory": "TMF637 Product Inventory",
    "geographicAddressManagement": "TMF673 Geographic Address",
    "geographicSiteManagement": "TMF674 Geographic Site",
    "party": "TMF632 Party",
    "accountManagement": "TMF666 Account",
}
FACE_NAMES = {"sonata": "MEF LSO Sonata", "cantata": "MEF LSO Cantata", "tmf": "TM Forum"}


@dataclass(frozen=True)
class RestAPI:
    """One served REST API: a MEF API of one flavour, or a TM Forum API."""

    face: str  # "sonata", "cantata" or "tmf"
    name: str  # the API's name in its base path, e.g. "productOrderingManagement"
    base_path: str  # e.g. "/mefApi/sonata/productOrderingManagement/v10"

    @property
    def slug(self) -> str:
        """The API's name in portal addresses."""
        return f"{self.face}-{self.name}"

    @property
    def title(self) -> str:
        """What the API is, e.g. "MEF 123 product orders"."""
        titles = TMF_TITLES if self.face == "tmf" else MEF_TITLES
        return titles.get(self.name, self.name)

    @property
    def face_name(self) -> str:
        """The face the API belongs to."""
        return FACE_NAMES[self.face]


def _base_path(path: str) -> tuple[str, str, str] | None:
    """(face, API name, base path) of a served path, if it belongs to a MEF or TMF API."""
    parts = path.split("/")
    if path.startswith("/mefApi/") and len(parts) > 4:
        return parts[2], parts[3], "/".join(parts[:5])
    if path.startswith("/tmf-api/") and len(parts) > 3:
        return "tmf", parts[2], "/".join(parts[:4])
    return None


def rest_apis(document: dict[str, Any]) -> list[RestAPI]:
    """Every REST API whose operations the application's OpenAPI document holds, in order."""
    found: dict[str, RestAPI] = {}
    for path in document["paths"]:
        if located := _base_path(path):
            api = RestAPI(*located)
            found.setdefault(api.slug, api)
    order = list(FACE_NAMES)
    return sorted(found.values(), key=lambda a: (order.index(a.face), a.title))


def _references(node: Any) -> set[str]:
    """The component schema names that a part of a document refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for child in node.values():
            found |= _references(child)
    elif isinstance(node, list):
        for child in node:
            found |= _references(child)
    return found


def api_document(document: dict[str, Any], api: RestAPI, server_url: str) -> dict[str, Any]:
    """The OpenAPI document of one API: its operations only, the schemas they use, our server."""
    paths = {
        path: copy.deepcopy(operations)
        for path, operations in document["paths"].items()
        if path.startswith(api.base_path + "/")
    }
    components = document.get("components", {})
    schemas = components.get("schemas", {})
    wanted: set[str] = set()
    pending = _references(paths)
    while pending:
        name = pending.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        pending |= _references(schemas[name]) - wanted
    schemes = {
        name
        for operations in paths.values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for requirement in operation.get("security", [])
        for name in requirement
    }
    kept: dict[str, Any] = {"schemas": {name: schemas[name] for name in sorted(wanted)}}
    if schemes:
        kept["securitySchemes"] = {
            name: scheme
            for name, scheme in components.get("securitySchemes", {}).items()
            if name in schemes
        }
    return {
        "openapi": document["openapi"],
        "info": {
            "title": f"{api.title} ({api.face_name})",
            "version": api.base_path.rsplit("/", 1)[1],
            "description": (
                f"The {api.title} API as the Lumen platform serves it at `{api.base_path}`: "
                "only the operations served here, with the request and answer bodies they take. "
                "Every call needs an API key: `Authorization: Bearer <key>`."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": kept,
    }
