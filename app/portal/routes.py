"""The developer portal's routes: pages, interactive documentation, downloads, shipped assets."""

from importlib import resources
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api_documents import ServedAPI, api_document, served_apis
from app.core.events import Channel
from app.portal import pages
from app.settings import Settings
from rest_facades.mef.flavours import FLAVOURS
from rest_facades.mef.products import offering_id, schema_file, schema_text, sold_types

SWAGGER = f"{pages.STATIC}/swagger"
# Swagger UI and ReDoc as fastapi-offline ships them: nothing is fetched from a CDN.
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
FACE_INDEXES = {
    "/mefApi/sonata/": (Channel.SONATA, "for carrier partners"),
    "/mefApi/cantata/": (Channel.CANTATA, "for enterprise network teams"),
    "/tmf-api/": (Channel.TMF, "for business operations"),
}

router = APIRouter(include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base_url(request: Request) -> str:
    return _settings(request).base_url_for(request.url.scheme, request.headers.get("host"))


def _apis(request: Request) -> list[ServedAPI]:
    # Worked out once per application: the served routes do not change.
    state = request.app.state
    if getattr(state, "served_apis", None) is None:
        state.served_apis = served_apis(request.app)
    apis: list[ServedAPI] = state.served_apis
    return apis


def _api(request: Request, slug: str) -> ServedAPI:
    for api in _apis(request):
        if api.slug == slug:
            return api
    raise HTTPException(404, f"no API is called {slug!r}; /portal/apis lists them")


def product_schemas() -> list[tuple[str, str, str, str]]:
    """(flavour, offering id, `@type`, file name) of every product schema a MEF offering takes."""
    return [
        (flavour.name, offering_id(kind), type_id, schema_file(type_id))
        for flavour in FLAVOURS
        for type_id, kind in sold_types(flavour).items()
    ]


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request) -> str:
    """Which API suits which audience."""
    return pages.landing(_base_url(request))


# Before the page's route, which would take `developers.md` for a name.
@router.get("/portal/guides/{name}.md", response_class=PlainTextResponse)
async def guide_markdown(name: str) -> str:
    """A guide's Markdown source."""
    if name not in pages.GUIDES:
        raise HTTPException(404, f"no guide is called {name!r}")
    return pages.guide_source(name)


@router.get("/portal/guides/{name}", response_class=HTMLResponse)
async def guide(name: str) -> str:
    """A guide of one audience."""
    if name not in pages.GUIDES:
        raise HTTPException(404, f"no guide is called {name!r}")
    source = f'<p><a href="/portal/guides/{name}.md">This guide as Markdown</a></p>'
    return pages.page(pages.GUIDES[name], pages.guide_html(name) + source)


@router.get("/portal/apis", response_class=HTMLResponse)
async def api_list(request: Request) -> str:
    """Every REST API with its interactive documentation."""
    return pages.api_list(
        _apis(request),
        title="APIs",
        intro='Every REST API the platform serves; GraphQL has <a href="/graphql">GraphiQL</a>.',
    )


@router.get("/portal/apis/{slug}", response_class=HTMLResponse)
async def api_docs(request: Request, slug: str) -> HTMLResponse:
    """Swagger UI on one API's own document."""
    api = _api(request, slug)
    return get_swagger_ui_html(
        openapi_url=f"/portal/openapi/{api.slug}.json",
        title=f"{api.title} · Lumen API platform",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon.png",
        swagger_ui_parameters={"persistAuthorization": True},
    )


@router.get("/portal/openapi/{slug}.json")
async def api_openapi(request: Request, slug: str) -> JSONResponse:
    """One API's OpenAPI document: its operations only, with our server's URL."""
    api = _api(request, slug)
    return JSONResponse(api_document(request.app, api, server_url=_base_url(request)))


@router.get("/portal/downloads", response_class=HTMLResponse)
async def downloads(request: Request) -> str:
    """Every document a client can be built on."""
    return pages.downloads(_apis(request), product_schemas())


@router.get("/portal/schema.graphql", response_class=PlainTextResponse)
async def graphql_schema() -> str:
    """The GraphQL schema served at /graphql, as SDL."""
    from schema.root import schema

    return str(schema) + "\n"


@router.get("/portal/product-schemas/{name}")
async def product_schema(name: str) -> Response:
    """A product schema that a MEF offering takes."""
    for _flavour, _offering, type_id, file in product_schemas():
        if file == name:
            return Response(schema_text(type_id), media_type="application/schema+json")
    raise HTTPException(404, f"no product schema is called {name!r}; see /portal/downloads")


@router.get("/portal/{name}", response_class=HTMLResponse)
async def policy_document(name: str) -> str:
    """The changelog or the versioning and deprecation policy."""
    if name not in pages.DOCUMENTS:
        raise HTTPException(404, f"no portal page is called {name!r}")
    return pages.document(name)


@router.get("/docs", response_class=HTMLResponse)
async def all_docs() -> HTMLResponse:
    """Swagger UI on every REST operation at once."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Lumen API platform",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon.png",
    )


@router.get("/redoc", response_class=HTMLResponse)
async def all_redoc() -> HTMLResponse:
    """ReDoc on every REST operation at once."""
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="Lumen API platform",
        redoc_js_url=f"{SWAGGER}/redoc.standalone.js",
        redoc_favicon_url=f"{SWAGGER}/favicon.png",
        with_google_fonts=False,
    )


async def face_index(request: Request) -> str:
    """The base URL of a face: its APIs, each with its documentation."""
    channel, audience = FACE_INDEXES[request.url.path]
    title = pages.FACE_NAMES[channel]
    apis = [api for api in _apis(request) if api.channel is channel]
    return pages.api_list(apis, title=title, intro=f"The {title} APIs {audience}.")


def include_portal(app: FastAPI) -> None:
    """Serve the portal, its shipped assets and the base URL of each face."""
    for path in FACE_INDEXES:
        app.add_api_route(path, face_index, response_class=HTMLResponse, include_in_schema=False)
    app.include_router(router)
    graphiql = resources.files("app.portal").joinpath("static/graphiql")
    app.mount(
        f"{pages.STATIC}/graphiql", StaticFiles(directory=str(graphiql)), name="portal-graphiql"
    )
    app.mount(SWAGGER, StaticFiles(directory=SWAGGER_ASSETS), name="portal-swagger")
