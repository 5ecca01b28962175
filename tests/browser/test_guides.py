"""Every example of every guide runs as written against the platform as `make run` serves it."""

import json
import re

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from app.portal.pages import GUIDES
from tests.guides import examples, run_shell_examples
from tests.live_server import LiveServer

pytestmark = pytest.mark.once
DEMO_KEY = re.compile(r"(\w+)=(lumen_[0-9a-f]+_[0-9a-f]+)\s+# the demo (\w+) key")
PLACE_PORT = (
    'mutation { orderPort(input: {site: {address: "60 Hudson St, New York, NY 10013"}, '
    "speedMbps: 1000, termMonths: 12}) { order { id } userErrors { code } } }"
)


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_the_demo_keys_of_a_guide_are_those_make_run_prints(
    live_server: LiveServer, guide: str
) -> None:
    found = [m for e in examples(guide) for m in DEMO_KEY.finditer(e.text)]
    assert found, f"the {guide} guide names no demo key"
    for match in found:
        role = "ops" if match.group(3) == "operations" else match.group(3)
        assert live_server.keys[role] == match.group(2)


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_shell_example_of_a_guide_succeeds(live_server: LiveServer, guide: str) -> None:
    outputs = run_shell_examples(guide, live_server.url)
    printed = "".join(outputs)
    # Nothing the guides ask for is refused by the seller either.
    assert '"state":"rejected"' not in printed
    assert '"state":"terminatedWithError"' not in printed
    # Running a guide again (a reader trying twice) works as well.
    run_shell_examples(guide, live_server.url)


def test_the_graphql_examples_run(live_server: LiveServer) -> None:
    key = live_server.keys["developer"]
    blocks = [e.text for e in examples("developers") if e.language == "graphql"]
    assert any(b.lstrip().startswith("subscription") for b in blocks)
    for block in blocks:
        if block.lstrip().startswith("subscription"):
            _subscribe(live_server, key, block)
            continue
        answer = httpx.post(
            f"{live_server.url}/graphql",
            json={"query": block},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).json()
        assert "errors" not in answer, answer


def _subscribe(live_server: LiveServer, key: str, query: str) -> None:
    """The subscription is accepted, and an order placed meanwhile is heard of."""
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    with connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=30
    ) as socket:
        socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        assert json.loads(socket.recv(timeout=30))["type"] == "connection_ack"
        socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        placed = httpx.post(
            f"{live_server.url}/graphql",
            json={"query": PLACE_PORT},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).json()
        order_id = placed["data"]["orderPort"]["order"]["id"]
        while True:
            message = json.loads(socket.recv(timeout=60))
            assert message["type"] == "next", message
            if message["payload"]["data"]["orderUpdates"]["id"] == order_id:
                break
