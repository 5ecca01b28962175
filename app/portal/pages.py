"""The portal's pages as HTML: landing page, guides, API lists, downloads, changelog, IDEs."""

import json
import re
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources
from pathlib import Path

import markdown

from app.api_documents import ServedAPI
from app.core.events import Channel

STATIC = "/portal/static"
# CHANGELOG.md and docs/versioning.md live at the root of the source tree.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
GUIDES = {
    "developers": "Developers: the native GraphQL API",
    "carriers": "Carriers: MEF LSO Sonata",
    "enterprises": "Enterprises: MEF LSO Cantata and TM Forum",
}
DOCUMENTS = {
    "changelog": ("Changelog", "CHANGELOG.md"),
    "versioning": ("Versioning and deprecation policy", "docs/versioning.md"),
}


@dataclass(frozen=True)
class Audience:
    """One row of the strategy table: who, through which standard, at which layer, for what."""

    who: str
    api: str
    standard: str
    layer: str
    purpose: str
    base_path: str
    guide: str


AUDIENCES = [
    Audience(
        "Developers and DevOps teams",
        "Native GraphQL API",
        "our own schema, Relay conventions",
        "digital channel",
        "One call from two addresses to a working connection; live updates by subscription.",
        "/graphql",
        "/portal/guides/developers",
    ),
    Audience(
        "Carrier partners",
        "MEF LSO Sonata (Grace)",
        "MEF 121, 122, 87, 115, 123, 116, 124, 160, W142, 141, 137",
        "Partner Interface Layer (PIL)",
        "Wholesale access: addresses, qualification, quotes, orders, inventory, tickets, bills.",
        "/mefApi/sonata/",
        "/portal/guides/carriers",
    ),
    Audience(
        "Enterprise network teams",
        "MEF LSO Cantata (Grace)",
        "the same MEF APIs, Cantata versions",
        "Strategic Interface Layer (SIL)",
        "Subscriber Ethernet and Internet access through the same lifecycle as Sonata.",
        "/mefApi/cantata/",
        "/portal/guides/enterprises",
    ),
    Audience(
        "Enterprise business operations",
        "TM Forum Open APIs v4",
        "TMF620 622 679 645 648 621 678 637 673 674 632 666",
        "business support systems (BSS)",
        "Catalog, ordering, quotes, trouble tickets, bills, inventory, parties and accounts.",
        "/tmf-api/",
        "/portal/guides/enterprises#tm-forum-open-apis",
    ),
    Audience(
        "Operations staff",
        "GraphQL ops fields and the dashboard",
        "our own schema",
        "internal operations",
        "Orders by state and channel, cycle times, tickets, revenue, delivery failures.",
        "/dashboard",
        "/portal/guides/developers#operations",
    ),
]

FACE_NAMES = {
    Channel.SONATA: "MEF LSO Sonata",
    Channel.CANTATA: "MEF LSO Cantata",
    Channel.TMF: "TM Forum Open APIs v4",
}

STYLE = """body{font-family:system-ui,sans-serif;margin:0;color:#1d232b;line-height:1.5}
header{background:#14324f;color:#fff;padding:.8rem 2rem}header a{color:#fff;margin-right:1.2rem}
header strong{margin-right:2rem}main{margin:1.5rem 2rem;max-width:72rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #c8ced6;padding:.4rem .6rem;
text-align:left;vertical-align:top}th{background:#eef2f6}code{background:#f1f3f5;padding:0 .2rem}
pre{background:#f1f3f5;padding:.8rem;overflow-x:auto}pre code{background:none;padding:0}"""


def page(title: str, body: str) -> str:
    """A portal page with the portal's header and navigation around `body`."""
    guides = "".join(f'<a href="/portal/guides/{name}">{name}</a>' for name in GUIDES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Lumen API platform</title>
<style>{STYLE}</style></head><body>
<header><strong><a href="/">Lumen API platform</a></strong>{guides}<a href="/portal/apis">APIs</a>
<a href="/portal/downloads">downloads</a><a href="/graphql">GraphiQL</a>
<a href="/portal/changelog">changelog</a><a href="/portal/versioning">versioning</a></header>
<main>
{body}
</main></body></html>"""


def landing(base_url: str) -> str:
    """The landing page: which API suits which audience, with the route to each guide."""
    rows = "\n".join(
        f"<tr><td>{escape(a.who)}</td><td>{escape(a.api)}</td><td>{escape(a.standard)}</td>"
        f"<td>{escape(a.layer)}</td><td>{escape(a.purpose)}</td>"
        f'<td><a href="{a.base_path}"><code>{escape(base_url + a.base_path)}</code></a></td>'
        f'<td><a href="{a.guide}">guide</a></td></tr>'
        for a in AUDIENCES
    )
    return page(
        "Developer portal",
        f"""<h1>Lumen API platform</h1>
<p>Fibre, Ethernet, Internet access and data-centre on-ramps, bought and managed through APIs.
One capability core holds every site, quote, order, product, ticket and bill; each audience has
the API face that suits it. An order placed through any of them is the same order.</p>
<table id="strategy"><tr><th>audience</th><th>API</th><th>standard</th><th>layer</th>
<th>purpose</th><th>base URL</th><th>start here</th></tr>
{rows}
</table>
<h2>Getting started</h2>
<p>Every call takes <code>Authorization: Bearer &lt;key&gt;</code>. <code>make run</code> prints
the demo keys of a development install, and <code>lumen demo-keys</code> prints them again.</p>
<ul>
<li><a href="/portal/guides/developers">Developers</a>: one GraphQL call orders a connection.</li>
<li><a href="/portal/guides/carriers">Carriers</a>: the whole Sonata journey.</li>
<li><a href="/portal/guides/enterprises">Enterprises</a>: Cantata, and TMF622, TMF621,
TMF678.</li>
<li><a href="/portal/apis">Interactive documentation of every API</a> and
<a href="/graphql">GraphiQL</a>; <a href="/docs">all REST operations at once</a>.</li>
<li><a href="/portal/downloads">Downloads</a>: OpenAPI documents, <code>schema.graphql</code>,
product schemas.</li>
<li><a href="/portal/changelog">Changelog</a> and
<a href="/portal/versioning">versioning and deprecation policy</a>.</li>
<li>Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</li>
</ul>""",
    )


def _api_rows(apis: list[ServedAPI]) -> str:
    return "\n".join(
        f"<tr><td>{escape(a.title)}</td><td>{escape(FACE_NAMES[a.channel])}</td>"
        f"<td><code>{a.base_path}/</code></td><td>{escape(a.version)}</td>"
        f'<td><a href="/portal/apis/{a.slug}">try it</a></td>'
        f'<td><a href="/portal/openapi/{a.slug}.json">OpenAPI</a></td></tr>'
        for a in apis
    )


def api_list(apis: list[ServedAPI], *, title: str, intro: str) -> str:
    """A table of APIs with their interactive documentation and OpenAPI documents."""
    return page(
        title,
        f"""<h1>{escape(title)}</h1><p>{intro}</p>
<table><tr><th>API</th><th>face</th><th>base path</th><th>release</th>
<th>interactive docs</th><th>download</th></tr>
{_api_rows(apis)}
</table>""",
    )


def downloads(apis: list[ServedAPI], product_schemas: list[tuple[str, str, str, str]]) -> str:
    """Every document a client can build on: OpenAPI per API, the GraphQL schema, product
    schemas per MEF offering (flavour, offering id, `@type`, file name)."""
    schemas = "\n".join(
        f"<tr><td>{escape(flavour)}</td><td><code>{escape(offering)}</code></td>"
        f"<td><code>{escape(type_id)}</code></td>"
        f'<td><a href="/portal/product-schemas/{escape(name)}">{escape(name)}</a></td></tr>'
        for flavour, offering, type_id, name in product_schemas
    )
    return page(
        "Downloads",
        f"""<h1>Downloads</h1>
<h2>GraphQL</h2>
<p><a href="/portal/schema.graphql">schema.graphql</a>: the schema served at
<code>/graphql</code> (<code>lumen export-schema</code> writes the same file).</p>
<h2>Product schemas of the MEF offerings</h2>
<p>A MEF <code>productConfiguration</code> names its schema in <code>@type</code> and is checked
against it.</p>
<table><tr><th>flavour</th><th>offering</th><th><code>@type</code></th><th>JSON Schema</th></tr>
{schemas}
</table>
<h2>OpenAPI documents</h2>
<table><tr><th>API</th><th>face</th><th>base path</th><th>release</th>
<th>interactive docs</th><th>download</th></tr>
{_api_rows(apis)}
</table>""",
    )


@cache
def guide_html(name: str) -> str:
    """A guide (Markdown kept in the package) as HTML."""
    text = resources.files("app.portal").joinpath(f"guides/{name}.md").read_text()
    return markdown.markdown(text, extensions=["fenced_code", "tables", "toc"])


def guide_source(name: str) -> str:
    """A guide's Markdown."""
    return resources.files("app.portal").joinpath(f"guides/{name}.md").read_text()


def document(name: str) -> str:
    """The changelog or the versioning policy page, from its file in the source tree."""
    title, relative = DOCUMENTS[name]
    path = SOURCE_ROOT / relative
    if path.is_file():
        text = path.read_text()
        # Links between the two files lead to their portal pages.
        for other, (_title, file) in DOCUMENTS.items():
            text = re.sub(
                rf"\]\((?:\.\./)*{re.escape(file)}(#[^)]*)?\)", rf"](/portal/{other}\1)", text
            )
            text = re.sub(
                rf"\]\((?:\.\./)*{re.escape(Path(file).name)}(#[^)]*)?\)",
                rf"](/portal/{other}\1)",
                text,
            )
        body = markdown.markdown(text, extensions=["fenced_code", "tables", "toc"])
    else:
        body = f"<h1>{escape(title)}</h1><p>Nothing has been published here yet.</p>"
    return page(title, body)


def graphql_endpoint_page() -> str:
    """What a browser is shown at /graphql where GraphiQL is not served (in production)."""
    return page(
        "GraphQL",
        """<h1>The native GraphQL API</h1>
<p>Send <code>POST /graphql</code> with a JSON body <code>{"query": "..."}</code> and
<code>Authorization: Bearer &lt;key&gt;</code>; subscriptions use WebSocket
(<code>graphql-transport-ws</code>) at the same path. The schema is
<a href="/portal/schema.graphql">schema.graphql</a>; the
<a href="/portal/guides/developers">developers' guide</a> shows every call.</p>""",
    )


def graphiql(endpoint: str) -> str:
    """GraphiQL on `endpoint`, from the assets shipped with the platform."""
    query = (
        "# Public reference data answers without a key; send yours in the headers tab:\n"
        '# {"Authorization": "Bearer <key>"}\n'
        "{ productOfferings { nodes { code name bandwidthsMbps } } }\n"
    )
    props = {
        "defaultQuery": query,
        "defaultHeaders": "{}",
        "headerEditorEnabled": True,
        "shouldPersistHeaders": True,
        "defaultEditorToolsVisibility": "headers",
    }
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphiQL · Lumen API platform</title>
<link rel="stylesheet" href="{STATIC}/graphiql/graphiql.min.css">
<style>body{{margin:0;height:100vh}}#graphiql{{height:100vh}}</style></head>
<body><div id="graphiql">Loading GraphiQL...</div>
<script src="{STATIC}/graphiql/react.production.min.js"></script>
<script src="{STATIC}/graphiql/react-dom.production.min.js"></script>
<script src="{STATIC}/graphiql/graphiql.min.js"></script>
<script>
// Send the key in the headers tab: {{"Authorization": "Bearer <key>"}}.
const fetcher = GraphiQL.createFetcher({{url: {json.dumps(endpoint)}}});
const props = Object.assign({{fetcher: fetcher}}, {json.dumps(props)});
ReactDOM.createRoot(document.getElementById("graphiql"))
  .render(React.createElement(GraphiQL, props));
</script></body></html>"""
