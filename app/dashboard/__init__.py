"""The operations dashboard page: a thin client of the GraphQL `ops` field and of the
`opsEvents` subscription, with its script and styles shipped in the package."""

import json
from html import escape
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = "/dashboard/static"
RECENT_EVENTS = 20
FAILED_DELIVERIES = 10

DASHBOARD_QUERY = f"""
query Dashboard {{
  ops {{
    ordersByState {{ state count }}
    ordersByChannel {{ channel count }}
    orderCycleTime {{ sampleSize p50Hours p90Hours p99Hours }}
    openTicketsBySeverity {{ severity count }}
    monthlyRecurringRevenue {{ amount currency }}
    failedDeliveries(first: {FAILED_DELIVERIES}) {{
      totalCount
      nodes {{ id receiver attempts lastError lastAttemptAt }}
    }}
    recentEvents(first: {RECENT_EVENTS}) {{
      nodes {{ id occurredAt entityKind entityId kind state previousState channel }}
    }}
    partners {{
      name enabled ordersWaiting
      health {{ calls failures successRate meanLatencyMs breakerState }}
    }}
  }}
}}
"""

FEED_SUBSCRIPTION = """
subscription DashboardFeed {
  opsEvents { id occurredAt entityKind entityId kind state previousState channel }
}
"""

DASHBOARD_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Operations dashboard · Lumen API platform</title>
<link rel="stylesheet" href="__STATIC__/dashboard.css">
<script id="dashboard-operations" type="application/json">__OPERATIONS__</script>
<script src="__STATIC__/dashboard.js" defer></script>
</head><body>
<header><strong><a href="/">Lumen API platform</a></strong>
<span>Operations dashboard</span></header>
<main>
<h1>Operations dashboard</h1>
<p>Orders, tickets, revenue, deliveries and partner carriers of every party, live. For operations
staff: enter an operations API key (<code>lumen demo-keys</code> prints the demo one). The key
stays in this browser tab.</p>
<form id="auth" autocomplete="off">
<label for="key">Operations API key</label>
<input id="key" name="key" type="password" size="70" placeholder="lumen_..." spellcheck="false"
 autocomplete="off">
<button type="submit">Show</button>
<button type="button" id="forget">Forget the key</button>
</form>
<p id="message" role="alert" hidden></p>
<p id="status" aria-live="polite"><span id="live" data-state="off">Not connected</span>
<span id="updated"></span></p>
<div id="board" hidden></div>
<noscript><p>The dashboard draws its figures with a script: enable JavaScript.</p></noscript>
</main></body></html>"""


def render_dashboard() -> str:
    """The dashboard page, with the GraphQL operations its script sends."""
    operations = json.dumps({"query": DASHBOARD_QUERY, "feed": FEED_SUBSCRIPTION})
    # Inside a <script> element only "</" could end it early.
    operations = operations.replace("</", "<\\/")
    return DASHBOARD_HTML.replace("__STATIC__", escape(STATIC)).replace(
        "__OPERATIONS__", operations
    )


def include_dashboard(app: FastAPI) -> None:
    """Serve the dashboard page and its script and styles."""

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard() -> str:
        return render_dashboard()

    assets = resources.files("app.dashboard").joinpath("static")
    app.mount(STATIC, StaticFiles(directory=str(assets)), name="dashboard-static")
