"""The operations dashboard in headless Chromium: it shows what the database holds, follows a new
order live without a reload, and turns away keys that are not operations keys."""

import base64
import sqlite3
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.core.events import DeliveryStatus
from app.core.inventory import IN_SERVICE
from app.core.tickets import OPEN_STATES
from tests.live_server import LiveServer

pytestmark = pytest.mark.once

WAIT_SECONDS = 30
PLACE_PORT = (
    'mutation { orderPort(input: {site: {address: "60 Hudson St, New York, NY 10013"}, '
    "speedMbps: 1000, termMonths: 12}) { order { id } userErrors { code } } }"
)
# What the page shows: each table's rows by their key, the revenue and the failed deliveries.
READ_PAGE = """() => {
  const rows = (id) => Object.fromEntries([...document.querySelectorAll(`#${id} tbody tr`)]
    .map(r => [r.dataset.key, Number(r.querySelector("td").dataset.value)])
    .filter(([, count]) => count > 0));
  return {
    state: rows("orders-by-state"),
    channel: rows("orders-by-channel"),
    severity: rows("tickets-by-severity"),
    mrr: document.querySelector("#mrr .figure")?.dataset.value ?? null,
    failed: Number(document.querySelector("#deliveries-failed .figure")?.dataset.value),
  };
}"""


def counted(live_server: LiveServer) -> dict[str, Any]:
    """The same figures, counted in the server's database."""
    assert live_server.database is not None
    with sqlite3.connect(f"file:{live_server.database}?mode=ro", uri=True) as db:

        def grouped(sql: str, *values: str) -> dict[str, int]:
            return {key.upper(): n for key, n in db.execute(sql, values)}

        open_states = sorted(OPEN_STATES)
        in_service = sorted(IN_SERVICE)
        (cents,) = db.execute(
            "SELECT coalesce(sum(monthly_cents), 0) FROM productinstance WHERE state IN "
            f"({','.join('?' * len(in_service))})",
            in_service,
        ).fetchone()
        return {
            "state": grouped("SELECT state, count(*) FROM productorder GROUP BY state"),
            "channel": grouped("SELECT channel, count(*) FROM productorder GROUP BY channel"),
            "severity": grouped(
                "SELECT severity, count(*) FROM ticket WHERE state IN "
                f"({','.join('?' * len(open_states))}) GROUP BY severity",
                *open_states,
            ),
            "mrr": Decimal(cents) / 100,
            "failed": db.execute(
                "SELECT count(*) FROM delivery WHERE status = ?", [DeliveryStatus.FAILED.value]
            ).fetchone()[0],
        }


def shown(page: Any) -> dict[str, Any]:
    """The figures on the page, in the form `counted` gives them."""
    figures: dict[str, Any] = page.evaluate(READ_PAGE)
    figures["mrr"] = None if figures["mrr"] is None else Decimal(figures["mrr"])
    return figures


def until_shown_as_counted(page: Any, live_server: LiveServer) -> dict[str, Any]:
    """The figures, once the page shows what the database holds (the server's own work may be
    moving orders along meanwhile)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        expected, on_page = counted(live_server), shown(page)
        if on_page == expected:
            return expected
        assert time.monotonic() < deadline, (on_page, expected)
        time.sleep(0.3)


def sign_in(page: Any, live_server: LiveServer, key: str) -> None:
    """Open the dashboard and enter a key in its box."""
    page.goto(f"{live_server.url}/dashboard")
    page.fill("#key", key)
    page.click("#auth button[type=submit]")


def test_the_dashboard_shows_the_database_and_follows_a_new_order_live(
    live_server: LiveServer, page: Any
) -> None:
    sign_in(page, live_server, live_server.keys["ops"])
    page.wait_for_selector("#live[data-state=live]")
    assert live_server.keys["ops"] not in page.url
    for chart in ("orders-by-state", "orders-by-channel", "tickets-by-severity", "cycle-time"):
        assert page.locator(f"#{chart} svg[role=img] rect").count() > 0, chart
    assert page.locator("#events li").count() > 0
    before = until_shown_as_counted(page, live_server)
    page.evaluate("() => { window.notReloaded = true; }")

    placed = httpx.post(
        f"{live_server.url}/graphql",
        json={"query": PLACE_PORT},
        headers={"Authorization": f"Bearer {live_server.keys['developer']}"},
        timeout=30,
    ).json()
    global_id = placed["data"]["orderPort"]["order"]["id"]
    order_id = base64.b64decode(global_id).decode().removeprefix("Order:")

    # Heard over the subscription (events that came with the figures are not marked `heard`).
    page.locator("#events li.heard", has_text=order_id).first.wait_for()
    after = until_shown_as_counted(page, live_server)
    assert after["channel"]["GRAPHQL"] == before["channel"]["GRAPHQL"] + 1
    assert sum(after["state"].values()) == sum(before["state"].values()) + 1
    assert page.evaluate("() => window.notReloaded") is True
    assert page.locator("#message").is_hidden()


@pytest.mark.parametrize(
    ("role", "said"),
    [
        ("developer", "This key is not an operations key"),
        ("carrier", "This key is not an operations key"),
        (None, "This key was not accepted"),
    ],
    ids=["developer", "carrier", "unknown"],
)
def test_a_key_that_is_not_an_operations_key_is_turned_away(
    live_server: LiveServer, page: Any, role: str | None, said: str
) -> None:
    sign_in(page, live_server, live_server.keys[role] if role else "lumen_0000_nokey")
    refusal = page.locator("#message")
    refusal.wait_for()
    assert said in refusal.inner_text()
    assert page.locator("#board").is_hidden()
    assert page.locator("#live").get_attribute("data-state") == "off"
