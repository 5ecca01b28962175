"""The portal in headless Chromium: every page renders its content, and the interactive
documentation loads from the platform alone and makes real calls."""

from typing import Any

import pytest

from tests.live_server import LiveServer

pytestmark = pytest.mark.once

# Each page, and a text its rendered content must show.
PAGES = {
    "/": "Partner Interface Layer (PIL)",
    "/portal/guides/developers": "The one-call order, with an idempotency key",
    "/portal/guides/carriers": "Order against the quote (MEF 123)",
    "/portal/guides/enterprises": "TMF622: order a line",
    "/portal/apis": "TMF622 product ordering",
    "/portal/downloads": "urn:mef:lso:spec:sonata:access-eline-ovc:v5.0.0:all",
    "/portal/changelog": "Changelog",
    "/portal/versioning": "deprecation",
    "/mefApi/sonata/": "MEF 123 product ordering (Sonata)",
    "/mefApi/cantata/": "MEF 87 product offering qualification (Cantata)",
    "/tmf-api/": "TMF621 trouble ticket",
}


def test_every_portal_page_renders_its_content(live_server: LiveServer, page: Any) -> None:
    for path, text in PAGES.items():
        page.goto(live_server.url + path)
        assert text in page.inner_text("body"), path
        assert page.title().endswith("Lumen API platform"), path


def test_swagger_ui_authorizes_and_executes_a_call(live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.url}/portal/apis/tmf620-product-catalog")
    assert "TMF620 product catalog" in page.inner_text(".swagger-ui .info .title")
    page.click("button.authorize")
    page.fill(".auth-container input", live_server.keys["enterprise"])
    page.click(".auth-btn-wrapper button.authorize")
    page.click("button.btn-done")
    summary = page.locator(".opblock-summary-path", has_text="/productOffering")
    operation = page.locator(".opblock-get", has=summary).first
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table tbody .response-col_status").first
    assert answer.inner_text().strip() == "200"
    assert "ethernet-line" in operation.locator(".live-responses-table tbody").inner_text()


def test_graphiql_runs_a_query(live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.url}/graphql")
    page.wait_for_selector(".graphiql-container")
    page.click(".graphiql-execute-button")
    result = page.locator(".result-window")
    result.locator("text=ethernet-line").first.wait_for()
    assert '"errors"' not in result.inner_text()
