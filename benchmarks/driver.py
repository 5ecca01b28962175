"""A bounded load on a running platform: a fixed number of clients, each sending one scenario's
request again and again over its own keep-alive connection for a fixed time."""

import asyncio
import contextlib
import json
import os
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.core.catalog import ProductKind
from benchmarks.seed import CHICAGO, NEW_YORK, Seeded
from benchmarks.server import FLOOR_PATH, HELLO_PATH
from rest_facades.mef.products import SONATA_TYPES
from tests.rest_facades.mef.configurations import minimal_configuration

SONATA = "/mefApi/sonata/productOrderingManagement/v10/productOrder"
CANTATA = "/mefApi/cantata/productOrderingManagement/v5/productOrder"
TMF622 = "/tmf-api/productOrderingManagement/v4/productOrder"
GRAPHQL = "/graphql"
# What a GraphQL client shows of an order, in `node` and in a list.
ORDER_FIELDS = """id state externalId createdAt price { monthlyRecurring oneTime currency }
  items { state product { code bandwidthsMbps } aEnd { name } zEnd { name } }"""
NODE = f"query Order($id: ID!) {{ node(id: $id) {{ ... on Order {{ {ORDER_FIELDS} }} }} }}"
ORDERS = f"query Orders {{ viewer {{ orders(first: 100) {{ nodes {{ {ORDER_FIELDS} }} }} }} }}"
FIRST_ORDER = "query First { viewer { orders(first: 1) { nodes { id } } } }"
ORDER_CONNECTION = """mutation Buy($input: OrderConnectionInput!) { orderConnection(input: $input) {
  order { id state } userErrors { code message } } }"""
PRICE = """query Price { price(input: {product: ETHERNET_LINE, aEnd: {address: "%s"},
  zEnd: {address: "%s"}, bandwidthMbps: 1000, termMonths: 12}) {
  price { monthlyRecurring oneTime currency } confidence leadTimeDays userErrors { code } } }"""


@dataclass(frozen=True)
class Scenario:
    """One request that the clients send over and over."""

    name: str
    group: str
    # The floor scenario it is compared with; None for a floor itself.
    floor: str | None
    method: str
    path: str
    body: bytes | None = None
    key: str | None = None
    expect: int = 200

    def headers(self) -> dict[str, str]:
        """The request's headers: its key and the type of its body."""
        headers = {"content-type": "application/json"} if self.body is not None else {}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        return headers


@dataclass
class Result:
    """What one scenario measured."""

    name: str
    group: str
    floor: str | None
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    # The driver's own CPU use over the run: near 100% means the driver, not the server, bound it.
    driver_cpu: float
    # The slowest `/healthz` answer during the run.
    healthz_max_ms: float
    # The server process's CPU time per request: unlike requests per second, it hardly changes
    # when other work shares the machine.
    server_cpu_ms: float | None = None
    # Requests per second as a share of the floor's.
    ratio: float | None = None
    # The floor's CPU per request over this one's: the share of the floor's rate this scenario
    # would reach with a core of its own.
    cpu_ratio: float | None = None
    first_error: str | None = field(default=None, repr=False)


def _gql(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def _sonata_order(seeded: Seeded) -> bytes:
    item = {
        "id": "1",
        "action": "add",
        "product": {
            "productOffering": {"id": "ethernet-line"},
            "productConfiguration": minimal_configuration(SONATA_TYPES[ProductKind.ETHERNET_LINE]),
            "place": [
                {"@type": "GeographicAddressRef", "role": "A_END", "id": seeded.chicago_id},
                {"@type": "GeographicAddressRef", "role": "Z_END", "id": seeded.new_york_id},
            ],
        },
        "requestedItemTerm": {
            "name": "contract",
            "endOfTermAction": "roll",
            "duration": {"amount": 12, "units": "calendarMonths"},
        },
    }
    contact = {
        "role": "buyerContactInformation",
        "name": "Bench",
        "emailAddress": "bench@example.com",
        "number": "+1 555 0100",
    }
    body = {"externalId": "BENCH", "relatedContactInformation": [contact]}
    return json.dumps(body | {"productOrderItem": [item]}).encode()


def _tmf_order(seeded: Seeded) -> bytes:
    places = [
        {"id": seeded.chicago_id, "@referredType": "GeographicAddress", "role": "A-End"},
        {"id": seeded.new_york_id, "@referredType": "GeographicAddress", "role": "Z-End"},
    ]
    characteristics = [{"name": "bandwidth", "value": 1000}, {"name": "termMonths", "value": 12}]
    item = {
        "id": "1",
        "action": "add",
        "productOffering": {"id": "ethernet-line"},
        "product": {"productCharacteristic": characteristics, "place": places},
    }
    return json.dumps({"externalId": "BENCH", "productOrderItem": [item]}).encode()


def scenarios(seeded: Seeded, node_id: str) -> list[Scenario]:
    """Every scenario, floors first and creates last (their orders then wait for fulfilment)."""
    carrier, enterprise, developer = (
        seeded.keys[r] for r in ("carrier", "enterprise", "developer")
    )
    orders = seeded.order_ids
    buy: dict[str, Any] = {"aEnd": {"address": CHICAGO}, "zEnd": {"address": NEW_YORK}}
    buy |= {"bandwidthMbps": 1000, "termMonths": 12}
    return [
        Scenario("floor: bare Starlette route", "floor", None, "GET", FLOOR_PATH),
        Scenario(
            "floor: strawberry hello (cached)",
            "floor",
            None,
            "POST",
            HELLO_PATH,
            _gql("query Hello { hello }"),
        ),
        Scenario(
            "get order: Sonata",
            "get",
            "floor: bare Starlette route",
            "GET",
            f"{SONATA}/{orders['carrier']}",
            key=carrier,
        ),
        Scenario(
            "get order: Cantata",
            "get",
            "floor: bare Starlette route",
            "GET",
            f"{CANTATA}/{orders['enterprise']}",
            key=enterprise,
        ),
        Scenario(
            "get order: TMF622",
            "get",
            "floor: bare Starlette route",
            "GET",
            f"{TMF622}/{orders['carrier']}",
            key=carrier,
        ),
        Scenario(
            "get order: GraphQL node",
            "get",
            "floor: strawberry hello (cached)",
            "POST",
            GRAPHQL,
            _gql(NODE, {"id": node_id}),
            key=developer,
        ),
        Scenario(
            "list 100 orders: Sonata",
            "list",
            "floor: bare Starlette route",
            "GET",
            f"{SONATA}?limit=100",
            key=carrier,
        ),
        Scenario(
            "list 100 orders: TMF622",
            "list",
            "floor: bare Starlette route",
            "GET",
            f"{TMF622}?limit=100",
            key=carrier,
        ),
        Scenario(
            "list 100 orders: GraphQL",
            "list",
            "floor: strawberry hello (cached)",
            "POST",
            GRAPHQL,
            _gql(ORDERS),
            key=developer,
        ),
        Scenario(
            "price: GraphQL anonymous",
            "price",
            "floor: strawberry hello (cached)",
            "POST",
            GRAPHQL,
            _gql(PRICE % (CHICAGO, NEW_YORK)),
        ),
        Scenario(
            "create order: Sonata",
            "create",
            "floor: bare Starlette route",
            "POST",
            SONATA,
            _sonata_order(seeded),
            key=carrier,
            expect=201,
        ),
        Scenario(
            "create order: TMF622",
            "create",
            "floor: bare Starlette route",
            "POST",
            TMF622,
            _tmf_order(seeded),
            key=carrier,
            expect=201,
        ),
        Scenario(
            "create order: GraphQL orderConnection",
            "create",
            "floor: strawberry hello (cached)",
            "POST",
            GRAPHQL,
            _gql(ORDER_CONNECTION, {"input": buy}),
            key=developer,
        ),
    ]


def failure(scenario: Scenario, response: httpx.Response) -> str | None:
    """Why an answer is not the one the scenario expects, if it is not."""
    if response.status_code != scenario.expect:
        return f"{response.status_code}: {response.text[:300]}"
    # A GraphQL answer with errors is a failure, as is a mutation's user error.
    content = response.content
    if scenario.path != FLOOR_PATH and (b'"errors"' in content or b'"userErrors":[{' in content):
        return content[:300].decode(errors="replace")
    return None


async def prepare(client: httpx.AsyncClient, seeded: Seeded) -> str:
    """Give the bare route the bytes of the order the faces read; the order's GraphQL id."""
    sonata = await client.get(
        f"{SONATA}/{seeded.order_ids['carrier']}",
        headers={"authorization": f"Bearer {seeded.keys['carrier']}"},
    )
    sonata.raise_for_status()
    (await client.put(FLOOR_PATH, content=sonata.content)).raise_for_status()
    first = await client.post(
        GRAPHQL,
        content=_gql(FIRST_ORDER),
        headers={
            "authorization": f"Bearer {seeded.keys['developer']}",
            "content-type": "application/json",
        },
    )
    first.raise_for_status()
    node_id: str = first.json()["data"]["viewer"]["orders"]["nodes"][0]["id"]
    return node_id


@contextlib.contextmanager
def watching_health(base_url: str) -> Iterator[list[float]]:
    """Time `/healthz` every 100 ms on a connection of its own while the block runs. The probe
    runs in a thread of its own: in the driver's event loop it would wait for the loop's turns
    among the clients' requests and time the driver as much as the server."""
    timings: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while not stop.is_set():
                started = time.perf_counter()
                response = client.get("/healthz")
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
                stop.wait(0.1)

    watcher = threading.Thread(target=watch, name="healthz-probe")
    watcher.start()
    try:
        yield timings
    finally:
        stop.set()
        watcher.join()


def process_cpu_seconds(pid: int) -> float | None:
    """The CPU time a process has used so far (Linux), or None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime: the 12th and 13th fields after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(
    base_url: str, scenario: Scenario, *, clients: int, seconds: float, server_pid: int | None
) -> Result:
    """Send the scenario's request from `clients` clients for `seconds`, after a short warm-up."""
    latencies: list[float] = []
    errors: list[str] = []
    # Idle connections are dropped before uvicorn's keep-alive of 5 s closes them: a request
    # sent on a connection as the server closes it fails with a `ReadError`.
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=4.0
    )
    headers = scenario.headers()
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def one() -> None:
            started = time.perf_counter()
            try:
                response = await client.request(
                    scenario.method, scenario.path, content=scenario.body, headers=headers
                )
                problem = failure(scenario, response)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            latencies.append(time.perf_counter() - started)
            if problem is not None:
                errors.append(problem)

        async def client_loop(until: float) -> None:
            while time.perf_counter() < until:
                await one()

        warm_until = time.perf_counter() + min(1.0, seconds / 4)
        await asyncio.gather(*(client_loop(warm_until) for _ in range(clients)))
        latencies.clear()
        errors.clear()
        with watching_health(base_url) as health:
            server_before = process_cpu_seconds(server_pid) if server_pid else None
            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client_loop(started + seconds) for _ in range(clients)))
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            server_after = process_cpu_seconds(server_pid) if server_pid else None
    ordered = sorted(latencies)
    return Result(
        name=scenario.name,
        group=scenario.group,
        floor=scenario.floor,
        requests=len(ordered),
        errors=len(errors),
        seconds=round(elapsed, 2),
        rps=round(len(ordered) / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        driver_cpu=round(cpu / elapsed, 2),
        healthz_max_ms=round(max(health, default=0.0) * 1000, 1),
        server_cpu_ms=(
            round((server_after - server_before) / len(ordered) * 1000, 2)
            if server_before is not None and server_after is not None and ordered
            else None
        ),
        first_error=errors[0] if errors else None,
    )


async def disconnect_storm(
    base_url: str, seeded: Seeded, *, clients: int, seconds: float = 1.5
) -> int:
    """Load the heaviest read, then drop every connection with its request in flight, as a
    load test that ends does; how many requests were cut off."""
    body = _gql(ORDERS)
    headers = {
        "authorization": f"Bearer {seeded.keys['developer']}",
        "content-type": "application/json",
    }
    in_flight = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def client_loop() -> None:
            nonlocal in_flight
            while True:
                in_flight += 1
                await client.post(GRAPHQL, content=body, headers=headers)
                in_flight -= 1

        tasks = [asyncio.create_task(client_loop()) for _ in range(clients)]
        await asyncio.sleep(seconds)
        cut_off = in_flight
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return cut_off


async def health_after_load(base_url: str, seconds: float = 2.0) -> float:
    """The slowest `/healthz` answer, in ms, over the seconds right after a load ends."""
    with watching_health(base_url) as timings:
        await asyncio.sleep(seconds)
    return round(max(timings, default=0.0) * 1000, 1)


def as_dict(result: Result) -> dict[str, Any]:
    """A result as JSON-ready data."""
    return asdict(result)
