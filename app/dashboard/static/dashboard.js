// The operations dashboard: figures from the GraphQL `ops` field, redrawn when the `opsEvents`
// subscription (graphql-transport-ws) reports a change and every POLL_MS besides.
"use strict";

const OPERATIONS = JSON.parse(document.getElementById("dashboard-operations").textContent);
const POLL_MS = 15000;
// Events often come in bursts (an order, its items, its product): one redraw after the burst,
// and at most one per GAP_MS, so that a busy network does not spend the key's rate limit (each
// read costs a few units of it).
const SETTLE_MS = 400;
const GAP_MS = 5000;
const FEED_SIZE = 40;
const KEY_STORE = "lumenOpsKey";
const SVG = "http://www.w3.org/2000/svg";

const CHANNELS = {GRAPHQL: "GraphQL", SONATA: "MEF Sonata", CANTATA: "MEF Cantata", TMF: "TM Forum",
  INTERNAL: "Internal"};
const STATE_COLOURS = {COMPLETED: "#2e7d32", FAILED: "#c62828", REJECTED: "#c62828",
  CANCELLED: "#78909c", PARTIAL: "#ef6c00"};
const SEVERITY_COLOURS = {MINOR: "#90a4ae", MODERATE: "#fbc02d", SIGNIFICANT: "#ef6c00",
  EXTENSIVE: "#c62828"};

const keyInput = document.getElementById("key");
const board = document.getElementById("board");
const message = document.getElementById("message");
const liveBadge = document.getElementById("live");
const updated = document.getElementById("updated");

let key = "";
let feed = [];  // newest first
let heardLive = new Set();
let socket = null;
let reconnectDelay = 1000;
let reconnectTimer = null;
let feedWasOpen = false;
let pollTimer = null;
let settleTimer = null;
let lastRead = 0;
// Each sign-in starts a new session: answers of an earlier key are dropped.
let session = 0;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function words(name) {
  const text = String(name).toLowerCase().replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function number(value, digits) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", {maximumFractionDigits: digits ?? 0});
}

function when(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

// A horizontal bar chart of rows {key, label, value}; the numbers also go in a table beside it.
function barChart(title, rows, {unit = "", digits = 0, colours = {}} = {}) {
  const width = 420, labelWidth = 130, valueWidth = 70, rowHeight = 26;
  const top = Math.max(0, ...rows.map(r => r.value || 0));
  const room = width - labelWidth - valueWidth;
  const chart = svg("svg", {viewBox: `0 0 ${width} ${rows.length * rowHeight + 4}`,
    role: "img", "aria-label": `${title}: ` + rows.map(r =>
      `${r.label} ${number(r.value, digits)}${unit}`).join(", "), class: "chart"});
  chart.append(svg("title", {}, title));
  rows.forEach((row, index) => {
    const y = index * rowHeight + 2;
    const length = top ? Math.max((row.value || 0) / top * room, row.value ? 2 : 0) : 0;
    chart.append(
      svg("text", {x: labelWidth - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end"}, row.label),
      svg("rect", {x: labelWidth, y: y + 3, width: length.toFixed(1), height: rowHeight - 8,
        rx: 3, fill: colours[row.key] || "#1e88e5", "data-key": row.key}),
      svg("text", {x: labelWidth + length + 6, y: y + rowHeight / 2 + 4, class: "value"},
        number(row.value, digits) + unit));
  });
  return chart;
}

function figureTable(caption, rows, {heading = "Kind", counted = "Count", unit = "", digits = 0}) {
  return el("table", {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, el("th", {scope: "col"}, heading),
      el("th", {scope: "col"}, counted))),
    el("tbody", {}, rows.map(row => el("tr", {"data-key": row.key},
      el("th", {scope: "row"}, row.label),
      el("td", {"data-value": row.value ?? ""}, number(row.value, digits) + (row.value == null
        ? "" : unit))))));
}

function card(id, title, ...content) {
  return el("section", {id, class: "card", "aria-labelledby": `${id}-title`},
    el("h2", {id: `${id}-title`}, title), ...content);
}

function charted(id, title, rows, options = {}) {
  if (!rows.length) return card(id, title, el("p", {class: "empty"}, options.empty || "None."));
  return card(id, title, barChart(title, rows, options),
    figureTable(title, rows, options));
}

function headline(id, label, value, raw, note) {
  return el("div", {class: "headline", id},
    el("span", {class: "label"}, label),
    el("span", {class: "figure", "data-value": raw}, value),
    note ? el("span", {class: "note"}, note) : null);
}

function render(ops) {
  const byState = ops.ordersByState.filter(r => r.count)
    .map(r => ({key: r.state, label: words(r.state), value: r.count}));
  const byChannel = ops.ordersByChannel
    .filter(r => r.count || r.channel !== "INTERNAL")
    .map(r => ({key: r.channel, label: CHANNELS[r.channel] || words(r.channel), value: r.count}));
  const tickets = ops.openTicketsBySeverity
    .map(r => ({key: r.severity, label: words(r.severity), value: r.count}));
  const cycle = ops.orderCycleTime;
  const percentiles = [["P50", "Median (p50)", cycle.p50Hours], ["P90", "p90", cycle.p90Hours],
    ["P99", "p99", cycle.p99Hours]].map(([k, label, value]) => ({key: k, label, value}));
  const mrr = ops.monthlyRecurringRevenue;
  const orders = ops.ordersByState.reduce((sum, r) => sum + r.count, 0);
  const open = ops.openTicketsBySeverity.reduce((sum, r) => sum + r.count, 0);
  const failed = ops.failedDeliveries;
  const money = Number(mrr.amount).toLocaleString("en-US", {style: "currency",
    currency: mrr.currency});

  const sections = [
    el("section", {class: "headlines", "aria-label": "Key figures"},
      headline("mrr", "Monthly recurring revenue", money, mrr.amount, "services in service"),
      headline("orders-total", "Orders", number(orders), orders, "every party, every channel"),
      headline("tickets-open", "Open tickets", number(open), open),
      headline("deliveries-failed", "Failed deliveries", number(failed.totalCount),
        failed.totalCount, "parked after their last attempt"),
      headline("cycle-median", "Median cycle time", cycle.p50Hours == null ? "–"
        : number(cycle.p50Hours, 1) + " h", cycle.p50Hours ?? "",
        `over ${number(cycle.sampleSize)} completed orders`)),
    charted("orders-by-state", "Orders by state", byState,
      {heading: "State", counted: "Orders", colours: STATE_COLOURS, empty: "No orders yet."}),
    charted("orders-by-channel", "Orders by channel", byChannel,
      {heading: "Channel", counted: "Orders"}),
    charted("tickets-by-severity", "Open tickets by severity", tickets,
      {heading: "Severity", counted: "Open tickets", colours: SEVERITY_COLOURS}),
    charted("cycle-time", `Order cycle time (hours, ${number(cycle.sampleSize)} completed)`,
      cycle.sampleSize ? percentiles : [],
      {heading: "Percentile", counted: "Hours", unit: " h", digits: 1,
        empty: "No completed orders yet."}),
    card("failed-deliveries", "Event delivery failures",
      failed.nodes.length ? el("table", {},
        el("caption", {}, `The ${failed.nodes.length} most recent of ${failed.totalCount}; ` +
          "replayDelivery queues one again"),
        el("thead", {}, el("tr", {}, ["Receiver", "Attempts", "Last error", "Last attempt"]
          .map(h => el("th", {scope: "col"}, h)))),
        el("tbody", {}, failed.nodes.map(d => el("tr", {"data-key": d.id},
          el("td", {}, d.receiver), el("td", {}, d.attempts), el("td", {}, d.lastError || ""),
          el("td", {}, when(d.lastAttemptAt))))))
        : el("p", {class: "empty"}, "No failed deliveries.")),
  ];
  if (ops.partners.length) {
    sections.push(card("partners", "Partner carriers", el("table", {},
      el("caption", {}, "Health of each partner's Sonata API, as this process sees it"),
      el("thead", {}, el("tr", {}, ["Partner", "Enabled", "Orders waiting", "Calls",
        "Success rate", "Mean latency", "Breaker"].map(h => el("th", {scope: "col"}, h)))),
      el("tbody", {}, ops.partners.map(p => el("tr", {"data-key": p.name},
        el("th", {scope: "row"}, p.name), el("td", {}, p.enabled ? "yes" : "no"),
        el("td", {}, p.ordersWaiting), el("td", {}, p.health ? p.health.calls : "–"),
        el("td", {}, p.health?.successRate == null ? "–"
          : number(p.health.successRate * 100, 1) + " %"),
        el("td", {}, p.health?.meanLatencyMs == null ? "–"
          : number(p.health.meanLatencyMs) + " ms"),
        el("td", {class: `breaker-${p.health?.breakerState || "none"}`},
          p.health?.breakerState || "–")))))));
  }
  sections.push(card("feed", "Live feed of recent events",
    el("ol", {id: "events", "aria-live": "polite"})));

  board.replaceChildren(...sections);
  board.hidden = false;
  mergeFeed(ops.recentEvents.nodes, false);
}

function state(name) {
  return String(name).replaceAll("_", " ");
}

// An event heard over the live feed is marked as such; the others came with the figures.
function eventItem(event, heard) {
  const change = event.kind === "STATE_CHANGED" && event.previousState
    ? `${state(event.previousState)} → ${state(event.state)}`
    : words(event.kind) + (event.state ? ` (${state(event.state)})` : "");
  return el("li", {"data-id": event.id, class: heard ? "heard" : null},
    el("time", {datetime: event.occurredAt}, when(event.occurredAt)),
    el("span", {class: "entity"}, words(event.entityKind)),
    el("code", {}, event.entityId),
    el("span", {class: "change"}, change),
    event.channel ? el("span", {class: "channel"}, CHANNELS[event.channel.toUpperCase()]
      || event.channel) : null);
}

function mergeFeed(events, live) {
  const known = new Set(feed.map(e => e.id));
  for (const event of events) {
    if (known.has(event.id)) continue;
    known.add(event.id);
    feed.push(event);
    if (live) heardLive.add(event.id);
  }
  // ISO timestamps of one format sort as text; the newest first.
  feed.sort((a, b) => (a.occurredAt < b.occurredAt) - (a.occurredAt > b.occurredAt));
  feed = feed.slice(0, FEED_SIZE);
  heardLive = new Set(feed.filter(e => heardLive.has(e.id)).map(e => e.id));
  const list = board.querySelector("#events");
  if (!list) return;
  list.replaceChildren(...feed.map(e => eventItem(e, heardLive.has(e.id))));
  if (!feed.length) list.append(el("li", {class: "empty"}, "No events yet."));
}

function say(text) {
  message.textContent = text;
  message.hidden = !text;
}

function setLive(state, text) {
  liveBadge.dataset.state = state;
  liveBadge.textContent = text;
}

function refusal(error) {
  const code = error.extensions?.code;
  const said = error.message ? ` (the platform said: ${error.message})` : "";
  if (code === "NOT_AUTHORIZED") {
    return "This key is not an operations key. The dashboard shows every party's figures and " +
      "is for operations staff only: enter an operations API key" + said + ".";
  }
  if (code === "UNAUTHENTICATED") {
    return "This key was not accepted: check that it was pasted whole (it starts with " +
      "lumen_) and has not been revoked" + said + ".";
  }
  if (code === "RATE_LIMITED") {
    return `Too many requests for this key: the figures refresh again in ` +
      `${error.extensions.retryAfter} s.`;
  }
  return "The dashboard could not read the figures" + said + ".";
}

// Stop showing anything: a refused key must not leave another key's figures on the page.
function stop(text) {
  session += 1;
  closeFeed();
  clearTimeout(pollTimer);
  clearTimeout(settleTimer);
  settleTimer = null;
  board.hidden = true;
  board.replaceChildren();
  feed = [];
  heardLive = new Set();
  feedWasOpen = false;
  setLive("off", "Not connected");
  updated.textContent = "";
  say(text);
}

async function refresh() {
  const mine = session;
  clearTimeout(pollTimer);
  clearTimeout(settleTimer);
  settleTimer = null;
  lastRead = Date.now();
  let answer;
  try {
    const response = await fetch("/graphql", {method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key},
      body: JSON.stringify({query: OPERATIONS.query})});
    answer = await response.json();
  } catch (failure) {
    if (mine !== session) return;
    say(`The platform did not answer (${failure.message}); trying again in ` +
      `${POLL_MS / 1000} s.`);
    pollTimer = setTimeout(refresh, POLL_MS);
    return;
  }
  if (mine !== session) return;
  if (answer.errors || !answer.data?.ops) {
    const error = (answer.errors || [{}])[0];
    if (["NOT_AUTHORIZED", "UNAUTHENTICATED"].includes(error.extensions?.code)) {
      stop(refusal(error));
      return;
    }
    say(refusal(error));
  } else {
    say("");
    render(answer.data.ops);
    // The feed opens once the key has proved to be an operations key.
    if (!socket && !reconnectTimer) openFeed();
    updated.textContent = "· figures of " + new Date().toLocaleTimeString("en-GB");
    updated.dataset.at = String(Date.now());
  }
  pollTimer = setTimeout(refresh, POLL_MS);
}

function refreshSoon() {
  if (settleTimer) return;
  const wait = Math.max(SETTLE_MS, lastRead + GAP_MS - Date.now());
  settleTimer = setTimeout(refresh, wait);
}

function closeFeed() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (socket) {
    socket.onclose = null;
    socket.close(1000);
    socket = null;
  }
}

function openFeed() {
  const mine = session;
  closeFeed();
  setLive("connecting", "Connecting the live feed…");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/graphql`, "graphql-transport-ws");
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({type: "connection_init",
    payload: {Authorization: "Bearer " + key}}));
  ws.onmessage = (received) => {
    if (mine !== session) return;
    const data = JSON.parse(received.data);
    if (data.type === "connection_ack") {
      ws.send(JSON.stringify({id: "feed", type: "subscribe",
        payload: {query: OPERATIONS.feed}}));
      reconnectDelay = 1000;
      setLive("live", "Live");
      // What happened while the feed was away shows in the figures and recent events.
      if (feedWasOpen) refreshSoon();
      feedWasOpen = true;
    } else if (data.type === "ping") {
      ws.send(JSON.stringify({type: "pong"}));
    } else if (data.type === "next" && data.payload.errors) {
      stop(refusal(data.payload.errors[0]));
    } else if (data.type === "next") {
      mergeFeed([data.payload.data.opsEvents], true);
      refreshSoon();
    } else if (data.type === "error") {
      stop(refusal(data.payload[0] || {}));
    }
  };
  ws.onclose = (closed) => {
    if (mine !== session || socket !== ws) return;
    socket = null;
    if (closed.code === 4403) {
      stop(refusal({extensions: {code: "UNAUTHENTICATED"}, message: closed.reason}));
      return;
    }
    const seconds = Math.round(reconnectDelay / 1000);
    setLive("reconnecting", `Live feed lost; reconnecting in ${seconds} s (figures still ` +
      `refresh every ${POLL_MS / 1000} s)`);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      openFeed();
    }, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
  };
}

function start() {
  key = keyInput.value.trim();
  stop("");
  if (!key) {
    say("Enter an operations API key first.");
    return;
  }
  sessionStorage.setItem(KEY_STORE, key);
  refresh();
}

document.getElementById("auth").addEventListener("submit", (event) => {
  event.preventDefault();
  start();
});
document.getElementById("forget").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORE);
  keyInput.value = "";
  key = "";
  stop("The key is forgotten.");
});
keyInput.value = sessionStorage.getItem(KEY_STORE) || "";
if (keyInput.value) start();
