"""The developer portal's landing page: which API suits which use, and where it lives."""

from dataclasses import dataclass
from html import escape

from app.settings import Settings


@dataclass(frozen=True)
class Face:
    """One API face of the platform."""

    name: str
    audience: str
    base_path: str
    standard: str
    use: str


FACES = [
    Face(
        "Native GraphQL API",
        "developers and DevOps teams",
        "/graphql",
        "Relay conventions",
        "One call from two addresses to a working connection; dashboards across every channel.",
    ),
    Face(
        "MEF LSO Sonata",
        "carrier partners",
        "/mefApi/sonata/",
        "MEF 121/122/87/115/123/116/124",
        "Wholesale access: address validation, qualification, quotes, orders, inventory, tickets.",
    ),
    Face(
        "MEF LSO Cantata",
        "enterprise network teams",
        "/mefApi/cantata/",
        "MEF 121/122/87/115/123/116/124",
        "The same lifecycle as Sonata for subscriber Ethernet and Internet access.",
    ),
    Face(
        "TM Forum Open APIs",
        "enterprise business operations",
        "/tmf-api/",
        "TMF620 622 679 645 648 621 678 637 673 674 632 666",
        "Catalog, ordering, quotes, trouble tickets, bills, inventory, parties and accounts.",
    ),
]


def render_portal(settings: Settings) -> str:
    """The portal page as HTML."""
    rows = "\n".join(
        f"<tr><td>{escape(f.name)}</td><td>{escape(f.audience)}</td>"
        f"<td><code>{escape(settings.base_url + f.base_path)}</code></td>"
        f"<td>{escape(f.standard)}</td><td>{escape(f.use)}</td></tr>"
        for f in FACES
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lumen API platform</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}}
</style></head><body>
<h1>Lumen API platform</h1>
<p>One capability core, several API faces. Pick the one that suits your use.
Every call takes <code>Authorization: Bearer &lt;key&gt;</code>; run
<code>lumen demo-keys</code> for the demo keys.</p>
<table><tr><th>API</th><th>for</th><th>base URL</th><th>standard</th><th>use it for</th></tr>
{rows}
</table>
<p>OpenAPI description of the platform endpoints: <a href="/docs">/docs</a>.
Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p>
</body></html>"""
