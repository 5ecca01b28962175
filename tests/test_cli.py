"""The `lumen` command: migrate, seed and demo keys from a fresh database."""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlmodel import select

from app.cli import main
from app.core import billing, inventory, ordering, tickets
from app.core.db import Database
from app.core.errors import Unauthenticated
from app.core.parties import Party, Principal, authenticate
from app.settings import get_settings

ROLES = {
    "developer",
    "carrier",
    "enterprise",
    "ops",
    "other_developer",
    "other_carrier",
    "other_enterprise",
}


@pytest.fixture
def fresh_url(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_schema: str | None,
    database_url: str,
) -> str:
    """A database that the command migrates itself (a new SQLite file, or the test server)."""
    url = database_url if postgres_schema else f"sqlite:///{tmp_path / 'fresh' / 'lumen.db'}"
    monkeypatch.setenv("LUMEN_DATABASE_URL", url)
    monkeypatch.setenv("LUMEN_FULFILMENT_ACK_SECONDS", "5")
    get_settings.cache_clear()
    return url


def _keys(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["demo-keys", "--json"]) == 0
    keys: dict[str, str] = json.loads(capsys.readouterr().out)
    return keys


async def _principals(url: str, keys: dict[str, str]) -> dict[str, Principal]:
    database = Database.connect(url)
    try:
        async with database.session() as session:
            return {role: await authenticate(session, key) for role, key in keys.items()}
    finally:
        await database.dispose()


def test_demo_keys_work_and_stay_the_same(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = _keys(capsys)
    assert set(keys) == ROLES
    assert _keys(capsys) == keys  # a second run re-seeds nothing and prints the same keys
    principals = asyncio.run(_principals(fresh_url, keys))
    assert principals["ops"].is_ops
    assert principals["carrier"].audience == "carrier"
    assert len({p.party_id for p in principals.values()}) == len(ROLES)


def test_seeded_parties_have_orders_products_tickets_and_bills(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed"]) == 0
    assert "enterprise" in capsys.readouterr().out
    keys = _keys(capsys)

    async def look(role: str) -> tuple[int, int, int, int, int]:
        principal = (await _principals(fresh_url, {role: keys[role]}))[role]
        database = Database.connect(fresh_url)
        try:
            async with database.session() as s:
                orders = await ordering.list_orders(s, principal=principal)
                products = await inventory.list_products(
                    s, principal=principal, states={inventory.ProductState.ACTIVE}
                )
                ticket_list = await tickets.list_tickets(s, principal=principal)
                bills = await billing.list_bills(s, principal=principal)
                rates = await billing.list_applied_rates(s, principal=principal)
                assert sum(b.total_cents for b in bills) == sum(r.amount_cents for r in rates)
                return len(orders), len(products), len(ticket_list), len(bills), len(rates)
        finally:
            await database.dispose()

    for role in ("enterprise", "other_enterprise", "carrier", "developer"):
        orders, products, ticket_count, bills, rates = asyncio.run(look(role))
        assert (orders, products, ticket_count) == (4, 3, 1)
        assert (bills, rates) == (1, 3)
    # Ops sees every party's orders.
    ops_orders, *_ = asyncio.run(look("ops"))
    assert ops_orders == 4 * (len(ROLES) - 1)


def test_migrate_is_idempotent(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_readme_quickstart_uses_the_demo_developer_key(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    shown = re.findall(r"Bearer (lumen_\w+)", readme)
    assert shown
    assert set(shown) == {_keys(capsys)["developer"]}


async def _party_count(url: str) -> int:
    database = Database.connect(url)
    try:
        async with database.session() as session:
            return len((await session.exec(select(Party))).all())
    finally:
        await database.dispose()


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("LUMEN_ENVIRONMENT", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_production_refuses_demo_keys_made_from_the_default_secret(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: pytest.fail("must not serve"))
    _production(monkeypatch, LUMEN_SEED_DEMO="true")
    for command in (["seed"], ["demo-keys"], ["serve"]):
        assert main(command) == 2
        printed = capsys.readouterr()
        assert "LUMEN_DEMO_SECRET" in printed.err
        assert "lumen_" not in printed.out + printed.err
    _production(monkeypatch, LUMEN_SEED_DEMO="false")
    assert main(["demo-keys"]) == 2  # asked for by name, still refused


def test_production_seeds_no_demo_parties_unless_asked(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _production(monkeypatch)
    assert main(["seed"]) == 0
    assert "no demo parties" in capsys.readouterr().out
    assert asyncio.run(_party_count(fresh_url)) == 0


def test_production_with_its_own_secret_seeds_demo_data_but_prints_no_keys(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_k: served.append(app))
    _production(monkeypatch, LUMEN_SEED_DEMO="true", LUMEN_DEMO_SECRET="a-secret-of-our-own")
    assert main(["seed"]) == 0
    assert main(["serve"]) == 0
    assert served
    printed = capsys.readouterr().out
    assert "lumen_" not in printed
    assert "lumen demo-keys" in printed
    keys = _keys(capsys)  # the operator asks for them by name
    assert set(keys) == ROLES
    principals = asyncio.run(_principals(fresh_url, keys))
    assert principals["ops"].is_ops
    monkeypatch.setenv("LUMEN_DEMO_SECRET", "lumen-demo-secret")
    monkeypatch.setenv("LUMEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    assert _keys(capsys)["ops"] != keys["ops"]  # another secret, other keys


def test_development_serves_with_demo_keys_printed(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: None)
    assert main(["serve"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"developer\s+lumen_\w+", printed)


def test_a_production_server_revokes_the_demo_keys_a_laptop_made(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    laptop_keys = _keys(capsys)  # development, the published default secret
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_k: served.append(app))
    _production(monkeypatch)
    assert main(["serve"]) == 0

    async def start_and_authenticate() -> list[str]:
        app = served[0]
        async with app.router.lifespan_context(app):
            pass
        refused = []
        database = Database.connect(fresh_url)
        try:
            async with database.session() as session:
                for role, key in laptop_keys.items():
                    with pytest.raises(Unauthenticated):
                        await authenticate(session, key)
                    refused.append(role)
        finally:
            await database.dispose()
        return refused

    assert set(asyncio.run(start_and_authenticate())) == ROLES


@pytest.mark.parametrize(
    ("allowed", "proxy_headers"), [(None, False), ("10.0.0.5", True), ("*", True)]
)
def test_forwarded_client_addresses_count_only_from_named_proxies(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, allowed: str | None, proxy_headers: bool
) -> None:
    options: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kw: options.update(kw))
    if allowed is not None:
        monkeypatch.setenv("LUMEN_FORWARDED_ALLOW_IPS", allowed)
    get_settings.cache_clear()
    assert main(["serve"]) == 0
    assert options["proxy_headers"] is proxy_headers
    assert options["forwarded_allow_ips"] == allowed


def test_demo_keys_on_an_empty_database_say_so(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-keys", "--json"]) == 0
    empty = capsys.readouterr()
    assert "the database had no demo parties; created all 7 now" in empty.err
    first = json.loads(empty.out)  # stdout stays one JSON document
    assert main(["demo-keys", "--json"]) == 0
    again = capsys.readouterr()
    assert json.loads(again.out) == first
    assert again.err == ""


@pytest.mark.parametrize(
    "command", ["serve", "worker", "migrate", "seed", "demo-keys", "export-schema", "snapshot"]
)
def test_each_command_says_what_it_does(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    # More than the usage line: a description of what the command does.
    assert len(text.split(f"usage: lumen {command}", 1)[1]) > 100
    assert "LUMEN_" in text or "schema" in text


@pytest.mark.parametrize("command", [["worker"], ["serve", "--workers", "2"]])
def test_several_processes_on_sqlite_are_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.setenv("LUMEN_DATABASE_URL", f"sqlite:///{tmp_path / 'lumen.db'}")
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: pytest.fail("must not serve"))
    get_settings.cache_clear()
    assert main(command) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err
    assert not (tmp_path / "lumen.db").exists()


def test_several_web_processes_each_build_the_app_on_the_same_address(
    fresh_url: str, postgres_schema: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not postgres_schema:
        pytest.skip("several web processes need PostgreSQL")
    served: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    monkeypatch.setenv("LUMEN_HOST", "127.0.0.1")
    monkeypatch.setenv("LUMEN_PORT", "8000")
    get_settings.cache_clear()
    assert main(["serve", "--workers", "3", "--port", "8115"]) == 0
    [(app, options)] = served
    assert (app, options["factory"], options["workers"]) == (
        "app.main:create_web_process_app",
        True,
        3,
    )
    assert (options["host"], options["port"]) == ("127.0.0.1", 8115)
    # Each web process reads its settings from the environment: links name the served port.
    get_settings.cache_clear()
    assert get_settings().base_url == "http://127.0.0.1:8115"


def test_seed_adds_orders_in_bulk_with_keys_that_read_them(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LUMEN_SEED_DEMO", "false")
    get_settings.cache_clear()
    assert main(["seed", "--orders", "40", "--parties", "4"]) == 0
    out = capsys.readouterr().out
    assert "seeded 40 orders across 4 parties" in out
    keys = dict(re.findall(r"^  (\w+) pty_\w+\s+(lumen_\w+)$", out, re.MULTILINE))
    assert set(keys) == {"carrier", "enterprise", "developer"}

    async def orders_of(key: str) -> int:
        database = Database.connect(fresh_url)
        try:
            async with database.session() as session:
                principal = await authenticate(session, key)
                listed = await ordering.list_orders(session, principal=principal, limit=100)
                return len(listed)
        finally:
            await database.dispose()

    # The carrier is parties 0 and 3: 10 orders of its own.
    assert asyncio.run(orders_of(keys["carrier"])) == 10


@pytest.mark.parametrize("args", [["--orders", "0"], ["--orders", "5", "--parties", "6"]])
def test_seed_refuses_an_impossible_bulk_seed(
    fresh_url: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed", *args]) == 2
    assert "lumen:" in capsys.readouterr().err
