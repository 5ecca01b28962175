"""The operations dashboard page: a thin client of the GraphQL `ops` field."""

import json

DASHBOARD_QUERY = """
query Dashboard {
  ops {
    ordersByState { state count }
    ordersByChannel { channel count }
    orderCycleTime { sampleSize p50Hours p90Hours p99Hours }
    openTicketsBySeverity { severity count }
    monthlyRecurringRevenue { amount currency }
    recentEvents(first: 15) { nodes { occurredAt entityKind entityId kind state channel } }
    partners {
      name enabled ordersWaiting
      health { successRate meanLatencyMs breakerState }
    }
  }
}
"""

DASHBOARD_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lumen operations dashboard</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}
section{display:inline-block;vertical-align:top;margin:0 2rem 2rem 0}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
#error{color:#b00}
</style></head><body>
<h1>Operations dashboard</h1>
<p>Every party, every channel. Needs an operations API key
(<code>lumen demo-keys</code> prints the demo one).</p>
<form id="auth"><input id="key" size="70" placeholder="lumen_..." autocomplete="off">
<button>Show</button></form>
<p id="error"></p>
<div id="board"></div>
<script>
const QUERY = __QUERY__;
const keyInput = document.getElementById("key");
keyInput.value = localStorage.getItem("lumenOpsKey") || "";
function table(rows, columns) {
  const head = "<tr>" + columns.map(c => "<th>" + c + "</th>").join("") + "</tr>";
  const body = rows.map(r => "<tr>" + columns.map(c => "<td>" + (r[c] ?? "") + "</td>")
    .join("") + "</tr>").join("");
  return "<table>" + head + body + "</table>";
}
async function load() {
  localStorage.setItem("lumenOpsKey", keyInput.value);
  const response = await fetch("/graphql", {method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer " + keyInput.value},
    body: JSON.stringify({query: QUERY})});
  const answer = await response.json();
  const error = document.getElementById("error");
  if (answer.errors) { error.textContent = answer.errors[0].message; return; }
  error.textContent = "";
  const ops = answer.data.ops;
  const mrr = ops.monthlyRecurringRevenue;
  const cycle = ops.orderCycleTime;
  document.getElementById("board").innerHTML =
    "<section><h2>Monthly recurring revenue</h2><p>" + mrr.amount + " " + mrr.currency +
    "</p><h2>Order cycle time (hours)</h2>" + table([cycle],
      ["sampleSize", "p50Hours", "p90Hours", "p99Hours"]) + "</section>" +
    "<section><h2>Orders by state</h2>" + table(ops.ordersByState.filter(r => r.count),
      ["state", "count"]) + "</section>" +
    "<section><h2>Orders by channel</h2>" + table(ops.ordersByChannel, ["channel", "count"]) +
    "<h2>Open tickets</h2>" + table(ops.openTicketsBySeverity, ["severity", "count"]) +
    "</section><section><h2>Partners (off-net)</h2>" + table(ops.partners.map(p => ({
      partner: p.name, enabled: p.enabled, ordersWaiting: p.ordersWaiting,
      successRate: p.health?.successRate, latencyMs: p.health?.meanLatencyMs,
      breaker: p.health?.breakerState})),
      ["partner", "enabled", "ordersWaiting", "successRate", "latencyMs", "breaker"]) +
    "</section><section><h2>Recent events</h2>" + table(ops.recentEvents.nodes,
      ["occurredAt", "entityKind", "entityId", "kind", "state", "channel"]) + "</section>";
}
document.getElementById("auth").addEventListener("submit", e => { e.preventDefault(); load(); });
if (keyInput.value) { load(); setInterval(load, 5000); }
</script></body></html>"""


def render_dashboard() -> str:
    """The dashboard page, with its GraphQL query embedded."""
    return DASHBOARD_HTML.replace("__QUERY__", json.dumps(DASHBOARD_QUERY))
