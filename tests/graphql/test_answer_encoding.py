"""A list's answer as a client reads it: UTF-8 JSON, text as it was given, and the offering
that a page's items share the same in every item."""

import json

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import Caller, make_order

LIST = """{ viewer { orders(first: 10) { nodes { description externalId
  items { product { id code name bandwidthsMbps } aEnd { id name } } } } } }"""


async def test_a_list_answers_its_text_as_given_in_utf8_json(
    client: httpx.AsyncClient, session: AsyncSession, developer: Caller
) -> None:
    said = 'Zürich "café" ☕ \\ line\nbreak'
    for n in range(3):
        await make_order(session, developer, description=said, external_id=f"réf-{n}")
    response = await client.post("/graphql", json={"query": LIST}, headers=developer.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = json.loads(response.content.decode("utf-8"))
    assert "errors" not in answer
    nodes = answer["data"]["viewer"]["orders"]["nodes"]
    assert sorted(node["externalId"] for node in nodes) == ["réf-0", "réf-1", "réf-2"]
    assert {node["description"] for node in nodes} == {said}
    # Every order is one Ethernet line of the same offering: each item shows it in full.
    products = [item["product"] for node in nodes for item in node["items"]]
    assert len(products) == 3
    assert products[0]["code"]
    assert products[0]["bandwidthsMbps"]
    assert all(product == products[0] for product in products)
