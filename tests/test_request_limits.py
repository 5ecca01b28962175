"""Bounds on every request: body size, JSON nesting, string length and NUL characters, answered
quickly in each face's own error format, while the server keeps serving others."""

import asyncio
import gc
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel.ext.asyncio.session import AsyncSession

from app.main import create_app
from app.settings import Settings
from tests import live_server
from tests.factories import Caller, make_caller

MEF_VALIDATION = "/mefApi/sonata/geographicAddressManagement/v7/geographicAddressValidation"
CANTATA_VALIDATION = "/mefApi/cantata/geographicAddressManagement/v1/geographicAddressValidation"
TMF_VALIDATION = "/tmf-api/geographicAddressManagement/v4/geographicAddressValidation"
TMF_SITES = "/tmf-api/geographicSiteManagement/v4/geographicSite"
TMF_ADDRESSES = "/tmf-api/geographicAddressManagement/v4/geographicAddress"
MEF_ADDRESS = "/mefApi/sonata/geographicAddressManagement/v7/geographicAddress"
FACES = {"mef": MEF_VALIDATION, "tmf": TMF_SITES, "graphql": "/graphql"}
MiB = 1024 * 1024
# Generous for a shared CI machine; a stalled request takes seconds to minutes.
QUICK = 2.0
PRICE = """query($a: String) { price(input: {product: ETHERNET_LINE, aEnd: {address: $a},
    bandwidthMbps: 1000, termMonths: 12}) {
    price { monthlyRecurring } userErrors { field code } } }"""


@pytest.fixture
async def carrier(session: AsyncSession) -> Caller:
    """A carrier with an API key: it may use Sonata and the TM Forum APIs."""
    return await make_caller(session, "carrier", name="Relay Carrier")


def assert_face_error(face: str, response: httpx.Response, status: int) -> Any:
    """The response is the face's own error body with `status`; returns the body."""
    assert response.status_code == status, response.text
    body = response.json()
    if face == "mef":
        problems = body if isinstance(body, list) else [body]
        assert all({"code", "reason"} <= set(p) for p in problems), body
    elif face == "tmf":
        assert body["@type"] == "Error"
        assert body["status"] == str(status)
    else:
        assert body["errors"][0]["message"]
    return body


async def timed(request: Any) -> httpx.Response:
    """Await a request and check that answering it cost little CPU."""
    # The app runs in this process: its CPU time is what a stall burns, and unlike the wall
    # clock it does not grow when other processes load the machine. A full collection of the
    # suite's garbage is not the request's cost: do it first.
    gc.collect()
    started = time.process_time()
    response: httpx.Response = await request
    assert time.process_time() - started < QUICK
    return response


@pytest.mark.parametrize("face", sorted(FACES))
@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"query": "{ __typename }", "variables": {"v": ' + "[" * 65 + "]" * 65 + "}}",
    ],
    ids=["arrays", "objects", "just-too-deep"],
)
async def test_deeply_nested_json_is_a_bad_request(
    client: httpx.AsyncClient, carrier: Caller, face: str, body: str
) -> None:
    response = await timed(
        client.post(
            FACES[face],
            content=body,
            headers={**carrier.headers, "content-type": "application/json"},
        )
    )
    refused = json.dumps(assert_face_error(face, response, 400))
    # A hundred thousand levels are also more arrays and objects than a body may hold.
    assert "deeper than 64" in refused or "more than 10000 arrays and objects" in refused


async def test_a_body_of_many_small_arrays_is_refused_before_it_is_parsed(
    client: httpx.AsyncClient,
) -> None:
    many = "[" + ",".join(["[]"] * 10_001) + "]"
    response = await timed(
        client.post(TMF_SITES, content=many, headers={"content-type": "application/json"})
    )
    assert "more than 10000 arrays" in assert_face_error("tmf", response, 400)["reason"]


async def test_json_nested_within_the_limit_is_read(client: httpx.AsyncClient) -> None:
    variables = {"v": json.loads("[" * 60 + "]" * 60)}
    response = await client.post(
        "/graphql", json={"query": "{ __typename }", "variables": variables}
    )
    assert response.json()["data"] == {"__typename": "Query"}


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 65536 + 1):
        yield b" " * 65536


@pytest.mark.parametrize("face", sorted(FACES))
async def test_bodies_over_the_limit_are_refused_with_or_without_a_length(
    client: httpx.AsyncClient, carrier: Caller, face: str
) -> None:
    declared = await timed(
        client.post(FACES[face], content=b" " * (MiB + 1), headers=carrier.headers)
    )
    assert_face_error(face, declared, 413)
    # Chunked: no Content-Length, so the limit is applied while the body streams in.
    streamed = await timed(
        client.post(FACES[face], content=_chunks(2 * MiB), headers=carrier.headers)
    )
    assert "content-length" not in streamed.request.headers
    assert_face_error(face, streamed, 413)


async def test_the_body_limit_is_a_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMEN_MAX_BODY_BYTES", "100")
    app = create_app(Settings(), run_workers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        small = await client.post("/graphql", json={"query": "{ __typename }"})
        assert small.status_code == 200
        large = await client.post("/graphql", json={"query": "{ __typename }" + " " * 100})
        assert large.status_code == 413
    await app.state.database.dispose()


@pytest.mark.parametrize("body", ["null", "true", '"x"', "1", "[]", "[{}]"])
async def test_a_graphql_body_must_be_one_object(client: httpx.AsyncClient, body: str) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "one JSON object" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("size", [100_000, MiB - 1000], ids=["100KB", "1MB"])
async def test_huge_addresses_in_the_anonymous_price_query_are_refused(
    client: httpx.AsyncClient, size: int
) -> None:
    as_variable = await timed(
        client.post("/graphql", json={"query": PRICE, "variables": {"a": "9" * size}})
    )
    assert_face_error("graphql", as_variable, 400)
    assert "/variables/a" in as_variable.json()["errors"][0]["message"]
    inline = PRICE.replace("($a: String)", "").replace("$a", json.dumps("9" * size))
    in_document = await timed(client.post("/graphql", json={"query": inline}))
    assert_face_error("graphql", in_document, 400)
    assert "/query" in in_document.json()["errors"][0]["message"]


async def test_a_string_in_a_graphql_document_has_a_bounded_length(
    client: httpx.AsyncClient,
) -> None:
    inline = PRICE.replace("($a: String)", "").replace("$a", json.dumps("9" * 10_001))
    answer = await timed(client.post("/graphql", json={"query": inline}))
    assert answer.json()["data"] is None
    assert "longer than 10000 characters" in answer.json()["errors"][0]["message"]


async def test_long_addresses_are_user_errors_before_any_matching(
    client: httpx.AsyncClient,
) -> None:
    answer = await timed(
        client.post("/graphql", json={"query": PRICE, "variables": {"a": "9 Main St " * 900}})
    )
    payload = answer.json()["data"]["price"]
    assert payload["price"] is None
    assert payload["userErrors"] == [{"field": "aEnd", "code": "TEXT_TOO_LONG"}]


@pytest.mark.parametrize("size", [100_000, MiB - 1000], ids=["100KB", "1MB"])
@pytest.mark.parametrize("path", [MEF_VALIDATION, CANTATA_VALIDATION])
async def test_huge_cities_in_mef_address_validation_are_refused(
    client: httpx.AsyncClient, carrier: Caller, size: int, path: str
) -> None:
    body = {
        "provideAlternative": True,
        "submittedGeographicAddress": {
            "@type": "FieldedAddress",
            "streetNr": "350",
            "streetName": "E Cermak Rd",
            "city": "C" * size,
            "country": "US",
        },
    }
    response = await timed(client.post(path, json=body, headers=carrier.headers))
    problems = assert_face_error("mef", response, 422)
    assert problems[0]["propertyPath"] == "/submittedGeographicAddress/city"


async def test_a_city_longer_than_any_known_is_a_mef_422_on_its_property(
    client: httpx.AsyncClient, carrier: Caller
) -> None:
    body = {
        "provideAlternative": True,
        "submittedGeographicAddress": {
            "@type": "FieldedAddress",
            "streetNr": "350",
            "streetName": "E Cermak Rd",
            "city": "Chicago" * 20,
            "country": "US",
        },
    }
    response = await timed(client.post(MEF_VALIDATION, json=body, headers=carrier.headers))
    problems = assert_face_error("mef", response, 422)
    assert problems[0]["propertyPath"] == "/submittedGeographicAddress/city"


@pytest.mark.parametrize("size", [150, 100_000, MiB - 1000], ids=["150", "100KB", "1MB"])
async def test_huge_cities_in_tmf_posts_are_refused(
    client: httpx.AsyncClient, carrier: Caller, size: int
) -> None:
    place = {"streetNr": "350", "streetName": "E Cermak Rd", "city": "C" * size}
    site = await timed(
        client.post(TMF_SITES, json={"name": "POP", "place": [place]}, headers=carrier.headers)
    )
    assert "city" in assert_face_error("tmf", site, 400)["reason"]
    validation = await timed(
        client.post(
            TMF_VALIDATION,
            json={"provideAlternative": True, "submittedGeographicAddress": place},
            headers=carrier.headers,
        )
    )
    assert "city" in assert_face_error("tmf", validation, 400)["reason"]


async def test_names_longer_than_their_column_are_refused_before_the_database(
    client: httpx.AsyncClient, carrier: Caller
) -> None:
    place = {"streetNr": "350", "streetName": "E Cermak Rd", "city": "Chicago"}
    site = await timed(
        client.post(TMF_SITES, json={"name": "N" * 201, "place": [place]}, headers=carrier.headers)
    )
    refused = assert_face_error("tmf", site, 400)
    assert refused["code"] == "TEXT_TOO_LONG"
    assert "name" in refused["reason"]
    fits = await client.post(
        TMF_SITES, json={"name": "N" * 200, "place": [place]}, headers=carrier.headers
    )
    assert fits.status_code == 201, fits.text


async def test_nul_characters_are_refused_in_each_face(
    client: httpx.AsyncClient, carrier: Caller
) -> None:
    mef = await client.post(
        MEF_VALIDATION,
        json={
            "provideAlternative": True,
            "submittedGeographicAddress": {
                "@type": "FieldedAddress",
                "streetName": "E Cermak\x00 Rd",
                "city": "Chicago",
            },
        },
        headers=carrier.headers,
    )
    problems = assert_face_error("mef", mef, 422)
    assert problems[0]["propertyPath"] == "/submittedGeographicAddress/streetName"
    # Where the MEF API documents no Error422 (a PATCH of an order), an Error400 `invalidBody`.
    patch = await client.patch(
        "/mefApi/sonata/productOrderingManagement/v10/productOrder/ord_1",
        json={"externalId": "PO\x00"},
        headers=carrier.headers,
    )
    assert assert_face_error("mef", patch, 400)["code"] == "invalidBody"
    tmf = await client.post(
        TMF_SITES,
        json={"name": "POP\x00", "place": [{"city": "Chicago"}]},
        headers=carrier.headers,
    )
    assert "/name" in assert_face_error("tmf", tmf, 400)["reason"]
    variable = await client.post("/graphql", json={"query": PRICE, "variables": {"a": "\x00"}})
    assert_face_error("graphql", variable, 400)
    literal = await client.post(
        "/graphql", json={"query": PRICE.replace("($a: String)", "").replace("$a", '"a\\u0000b"')}
    )
    assert literal.status_code == 200
    assert "NUL" in literal.json()["errors"][0]["message"]
    for face, url in (("mef", MEF_ADDRESS), ("tmf", TMF_ADDRESSES)):
        query = await client.get(url, params={"city": "Chi\x00cago"}, headers=carrier.headers)
        assert_face_error(face, query, 400)
        path = await client.get(f"{url}/loc%00x", headers=carrier.headers)
        assert_face_error(face, path, 404)


def post_escaped(
    client: httpx.AsyncClient, url: str, body: Any, caller: Caller | None = None
) -> Any:
    """POST `body` as JSON with its escapes: a lone surrogate has no UTF-8 form, so it
    travels as the escape `\\ud800`, as any JSON encoder writes it."""
    headers = {**(caller.headers if caller else {}), "Content-Type": "application/json"}
    return client.post(url, content=json.dumps(body), headers=headers)


async def test_lone_surrogates_are_refused_in_each_face(
    client: httpx.AsyncClient, carrier: Caller, developer: Caller
) -> None:
    place = {"streetNr": "350", "streetName": "E Cermak Rd", "city": "Chicago"}
    site_body = {"name": "POP", "description": "a\ud800", "place": [place]}
    site = await timed(post_escaped(client, TMF_SITES, site_body, carrier))
    refused = assert_face_error("tmf", site, 400)
    assert (refused["code"], "/description" in refused["reason"]) == ("INVALID_VALUE", True)
    # Not UTF-8 at all (a surrogate's bytes): read as lone surrogates, refused by the core.
    invalid = b'{"name": "POP \xed\xa0\x80", "place": [' + json.dumps(place).encode() + b"]}"
    headers = {**carrier.headers, "Content-Type": "application/json"}
    unread = await timed(client.post(TMF_SITES, content=invalid, headers=headers))
    assert assert_face_error("tmf", unread, 400)["code"] == "INVALID_CHARACTER"
    ticket_body = {"name": "Down", "description": "\udfff", "severity": "Minor"}
    ticket = await timed(
        post_escaped(client, "/tmf-api/troubleTicket/v4/troubleTicket", ticket_body, carrier)
    )
    assert assert_face_error("tmf", ticket, 400)["code"] == "INVALID_VALUE"
    order_body = {"externalId": "PO-\ud800", "productOrderItem": []}
    order = await timed(
        post_escaped(
            client, "/mefApi/sonata/productOrderingManagement/v10/productOrder", order_body, carrier
        )
    )
    problems = assert_face_error("mef", order, 422)
    assert (problems[0]["code"], problems[0]["propertyPath"]) == ("invalidValue", "/externalId")
    open_ticket = """mutation($t: String!) { openTicket(input: {summary: $t, description: "x"})
        { ticket { id } userErrors { code } } }"""
    operation = {"query": open_ticket, "variables": {"t": "\ud800"}}
    graphql = await timed(post_escaped(client, "/graphql", operation, developer))
    errors = assert_face_error("graphql", graphql, 400)["errors"]
    assert errors[0]["extensions"]["code"] == "INVALID_VALUE"
    # A character outside the basic plane, escaped as a pair, is ordinary text.
    emoji = {"query": PRICE, "variables": {"a": "\U0001f600"}}
    assert (await post_escaped(client, "/graphql", emoji)).status_code == 200


async def test_urls_longer_than_16_kib_are_refused(
    client: httpx.AsyncClient, carrier: Caller
) -> None:
    filters = "&".join(f"name{i}=x" for i in range(2_000))
    for face, url in (("mef", MEF_ADDRESS), ("tmf", TMF_ADDRESSES)):
        refused = await timed(client.get(f"{url}?{filters}", headers=carrier.headers))
        assert_face_error(face, refused, 414)


@pytest.fixture
def free_port() -> int:
    """A free TCP port on the loopback interface."""
    return live_server.free_port()


@pytest.fixture
def server(settings: Settings, carrier: Caller, free_port: int) -> Iterator[str]:
    """The platform served by uvicorn on a loopback port, in a thread of its own."""
    app = create_app(settings, run_workers=False)
    # No log_config: the process-wide logging set up by the app stays as the other tests expect.
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port, log_config=None)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert running.started
    yield f"http://127.0.0.1:{free_port}"
    running.should_exit = True
    thread.join(timeout=10)


def _doubling_fragments(levels: int) -> str:
    fragments = " ".join(
        f"fragment F{i} on ProductOffering {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return (
        "{ productOfferings { nodes { ...F0 } } } "
        f"{fragments} fragment F{levels} on ProductOffering {{ name }}"
    )


HOSTILE: dict[str, tuple[str, dict[str, Any]]] = {
    "doubling fragments": ("/graphql", {"json": {"query": _doubling_fragments(30)}}),
    "fragment cycle": (
        "/graphql",
        {
            "json": {
                "query": "{ productOfferings { nodes { ...A } } } "
                "fragment A on ProductOffering { ...B } fragment B on ProductOffering { ...A }"
            }
        },
    ),
    "100 KB price address": (
        "/graphql",
        {"json": {"query": PRICE, "variables": {"a": "9 Main St " * 10_000}}},
    ),
    "40 KB price address": (
        "/graphql",
        {"json": {"query": PRICE, "variables": {"a": "9 Main St " * 4_000}}},
    ),
    "long price address": (
        "/graphql",
        {"json": {"query": PRICE, "variables": {"a": "9 Main St " * 999}}},
    ),
    "1 MB site city": (
        TMF_SITES,
        {"json": {"name": "POP", "place": [{"city": "C" * (MiB - 100)}]}},
    ),
    "nested JSON": (
        MEF_VALIDATION,
        {"content": "[" * 100_000 + "]" * 100_000, "headers": {"content-type": "application/json"}},
    ),
    "oversized body": (TMF_SITES, {"content": b" " * (2 * MiB)}),
    "a megabyte of tiny arrays": (
        TMF_SITES,
        {
            "content": "[" + ",".join(["[]"] * 340_000) + "]",
            "headers": {"content-type": "application/json"},
        },
    ),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
async def test_hostile_requests_do_not_stall_other_callers(
    server: str, carrier: Caller, attack: str
) -> None:
    path, template = HOSTILE[attack]
    request = dict(template)
    headers = {**carrier.headers, **request.pop("headers", {})}
    async with (
        httpx.AsyncClient(base_url=server, timeout=30) as hostile,
        httpx.AsyncClient(base_url=server, timeout=30) as bystander,
    ):
        # What a probe costs on this machine right now, without an attack: a loaded machine
        # is slow for everyone, a stall is slow for the bystander alone.
        calm: list[float] = []
        for _ in range(3):
            before = time.perf_counter()
            assert (await bystander.get("/healthz")).status_code == 200
            calm.append(time.perf_counter() - before)
        started = time.perf_counter()
        attack_task = asyncio.create_task(hostile.post(path, headers=headers, **request))
        latencies: list[float] = []
        while not attack_task.done() or not latencies:
            before = time.perf_counter()
            assert (await bystander.get("/healthz")).status_code == 200
            latencies.append(time.perf_counter() - before)
            # Polled, not hammered: the server, this client and the attack share one process.
            await asyncio.sleep(0.05)
        answer = await attack_task
        took = time.perf_counter() - started
    # Refused, as a 4xx or as GraphQL errors: never a server error.
    assert answer.status_code < 500, answer.text
    assert took < QUICK, f"{attack} took {took:.2f}s"
    assert max(latencies) < 0.5 + 3 * max(calm), (
        f"/healthz took {max(latencies):.2f}s during {attack} ({max(calm):.2f}s before it)"
    )
