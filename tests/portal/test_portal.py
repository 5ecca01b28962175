"""The developer portal through the real ASGI app: every link answers, every API has its own
document, downloads are what the platform accepts, and the catalog says the same everywhere."""

import base64
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from app.api_documents import served_apis
from app.core.catalog import ProductKind
from app.core.events import Channel
from app.main import create_app
from app.portal import pages
from app.settings import Settings
from rest_facades.mef.flavours import FLAVOURS
from rest_facades.mef.products import product_types, sold_types
from schema.root import schema
from tests.factories import Caller

HTML = {"Accept": "text/html"}
MAX_PAGES = 200


class Links(HTMLParser):
    """The addresses a page links to (`href`) and loads (`src`, stylesheets)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "a" and named.get("href"):
            self.links.append(str(named["href"]))
        elif tag == "script" and named.get("src"):
            self.assets.append(str(named["src"]))
        elif tag == "link" and named.get("href"):
            self.assets.append(str(named["href"]))


def _local(base: str, href: str) -> str | None:
    """The path of a link on this server (without its fragment), or None for another site."""
    url = urlsplit(urljoin(f"http://testserver{base}", href))
    if url.scheme not in {"http", "https"} or url.netloc not in {"testserver", "127.0.0.1:8000"}:
        return None
    return url.path + (f"?{url.query}" if url.query else "")


async def test_every_link_of_every_portal_page_answers(client: httpx.AsyncClient) -> None:
    seen: dict[str, int] = {}
    pending = ["/"]
    while pending and len(seen) < MAX_PAGES:
        path = pending.pop()
        if path in seen:
            continue
        response = await client.get(path, headers=HTML)
        seen[path] = response.status_code
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        parser = Links()
        parser.feed(response.text)
        for asset in parser.assets:
            # Nothing a page shows loads from another site.
            assert _local(path, asset) is not None, f"{path} loads {asset}"
        for href in parser.links + parser.assets:
            if (target := _local(path, href)) is not None and target not in seen:
                pending.append(target)
    assert {path for path, status in seen.items() if status != 200} == set()
    for expected in (
        "/portal/guides/developers",
        "/portal/guides/carriers",
        "/portal/guides/enterprises",
        "/portal/guides/carriers.md",
        "/portal/apis/sonata-product-order",
        "/portal/openapi/tmf621-trouble-ticket.json",
        "/portal/schema.graphql",
        "/portal/changelog",
        "/portal/versioning",
        "/graphql",
        "/mefApi/sonata/",
        "/mefApi/cantata/",
        "/tmf-api/",
        "/portal/static/graphiql/graphiql.min.js",
    ):
        assert expected in seen


async def test_the_landing_page_has_the_strategy_table(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    for audience in pages.AUDIENCES:
        assert audience.who in page
        assert audience.layer in page
        assert f'href="{audience.guide}"' in page
        # The base URL shown answers.
        assert (await client.get(audience.base_path, headers=HTML)).status_code == 200


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


async def test_each_api_has_a_document_of_its_own(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    whole = (await client.get("/openapi.json")).json()
    apis = served_apis(create_app(settings, run_workers=False))
    for channel in (Channel.SONATA, Channel.CANTATA, Channel.TMF):
        assert len([a for a in apis if a.channel is channel]) == 12
    listed = (await client.get("/portal/apis")).text
    served = 0
    for api in apis:
        assert f'href="/portal/apis/{api.slug}"' in listed
        document = (await client.get(f"/portal/openapi/{api.slug}.json")).json()
        # Our server, at the API's base path; the paths under it.
        assert document["servers"] == [{"url": f"http://testserver{api.base_path}"}]
        assert document["paths"]
        for ref in _refs(document):
            assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], (api.slug, ref)
        served += len(document["paths"])
        docs = await client.get(f"/portal/apis/{api.slug}", headers=HTML)
        assert f"/portal/openapi/{api.slug}.json" in docs.text
    # Together, the documents hold every REST path the platform serves.
    assert served == len([p for p in whole["paths"] if p.startswith(("/mefApi/", "/tmf-api/"))])
    missing = await client.get("/portal/openapi/sonata-nothing.json")
    assert missing.status_code == 404


async def test_the_downloads_are_what_the_platform_accepts(client: httpx.AsyncClient) -> None:
    sdl = await client.get("/portal/schema.graphql")
    assert sdl.text == str(schema) + "\n"
    assert sdl.text == (Path(__file__).parents[2] / "schema.graphql").read_text()
    page = (await client.get("/portal/downloads")).text
    for flavour in FLAVOURS:
        for type_id in sold_types(flavour):
            assert type_id in page
    for name in {n for n in page.split('"') if n.startswith("/portal/product-schemas/")}:
        product_schema = (await client.get(name)).json()
        assert product_schema["$id"] in page


async def test_changelog_and_policy_pages_show_their_files(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "SOURCE_ROOT", tmp_path)
    assert "Nothing has been published here yet" in (await client.get("/portal/changelog")).text
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## 0.2.0\n\n- `orderPort` added\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "versioning.md").write_text("# Versioning\n\nSix months' notice.\n")
    changelog = (await client.get("/portal/changelog")).text
    assert "<h2" in changelog
    assert "<code>orderPort</code> added" in changelog
    assert "Six months" in (await client.get("/portal/versioning")).text


async def test_graphiql_and_swagger_load_their_assets_from_the_platform(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/graphql", "/docs", "/redoc", "/portal/apis/tmf621-trouble-ticket"):
        page = (await client.get(path, headers=HTML)).text
        for outside in ("unpkg", "cdn.", "googleapis"):
            assert outside not in page


async def test_offering_and_specification_ids_agree_across_faces(
    client: httpx.AsyncClient, carrier: Caller, ops: Caller
) -> None:
    tmf = (
        await client.get(
            "/tmf-api/productCatalogManagement/v4/productOffering", headers=carrier.headers
        )
    ).json()
    tmf_spec = {o["id"]: o["productSpecification"]["id"] for o in tmf}
    graphql = (
        await client.post(
            "/graphql", json={"query": "{ productOfferings { nodes { id code kind } } }"}
        )
    ).json()["data"]["productOfferings"]["nodes"]
    kinds = {o["code"]: ProductKind[o["kind"]] for o in graphql}
    assert set(kinds) == set(tmf_spec)
    for node in graphql:
        assert base64.b64decode(node["id"]).decode() == f"ProductOffering:{node['code']}"
        # TMF620 names the specification by the kind of product GraphQL gives.
        assert tmf_spec[node["code"]] == kinds[node["code"]].value
        listed = await client.get(
            f"/tmf-api/productCatalogManagement/v4/productSpecification/{tmf_spec[node['code']]}",
            headers=carrier.headers,
        )
        assert listed.status_code == 200
    for flavour in FLAVOURS:
        base = f"/mefApi/{flavour.name}/productCatalog/v2"
        mef = (await client.get(f"{base}/productOffering", headers=ops.headers)).json()
        mef_spec = {o["id"]: o["productSpecification"]["id"] for o in mef}
        assert set(mef_spec) == set(kinds)
        for code, spec_id in mef_spec.items():
            assert spec_id == product_types(flavour)[kinds[code]]
            served = await client.get(f"{base}/productSpecification/{spec_id}", headers=ops.headers)
            assert served.status_code == 200
            assert json.loads(served.json()["sourceSchema"]["schema"])["$id"] == spec_id


def test_the_readme_lists_the_product_types_sold() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    listed = set()
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in {"Sonata", "Cantata"} and len(cells) == 3:
            listed.add((cells[0].lower(), cells[2].strip("`")))
    sold = {(f.name, type_id) for f in FLAVOURS for type_id in sold_types(f)}
    assert listed == sold


async def test_in_production_the_graphql_base_url_answers_without_an_ide(
    settings: Settings,
) -> None:
    production = settings.model_copy(update={"environment": "production"})
    app = create_app(production, run_workers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert "graphiql.min.js" not in page.text
        assert "/portal/schema.graphql" in page.text
        answer = await client.post("/graphql", json={"query": "{ __typename }"})
        assert answer.json()["data"] == {"__typename": "Query"}
