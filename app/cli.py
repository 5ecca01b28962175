"""The `lumen` command: serve the platform, run its background work, migrate and seed its
database, print demo keys."""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from app.core import demo
from app.core.db import Database
from app.core.migrate import upgrade
from app.logging import configure_logging
from app.settings import Settings, get_settings

WEB_PROCESS_HEALTHCHECK_SECONDS = 60


def _missing_demo_parties(settings: Settings) -> list[str]:
    """The roles of the demo parties that the database does not hold yet."""

    async def run() -> list[str]:
        database = Database.connect(settings.database_url)
        try:
            return await demo.missing_parties(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


SERVE_HELP = (
    "Upgrade the database schema (LUMEN_DATABASE_URL), create the reference data and, when "
    "LUMEN_SEED_DEMO is on (the default outside production), the demo parties; print their API "
    "keys and the portal's URL; then serve every API, the developer portal and the dashboard "
    "until stopped."
)
MIGRATE_HELP = (
    "Upgrade the database schema named by LUMEN_DATABASE_URL (a SQLite file or PostgreSQL) to "
    "the latest version; running it again changes nothing. serve and seed do this themselves."
)
SEED_HELP = (
    "Upgrade the schema, then create whatever reference data (address book, catalog) is "
    "missing, and the demo parties too when LUMEN_SEED_DEMO is on; prints the demo keys outside "
    "production. With --orders N it then adds N delivered orders (items, products, work orders, "
    "events) across --parties new parties in bulk, for sizing and benchmarks, and prints the API "
    "keys of a carrier, an enterprise and a developer among them."
)
DEMO_KEYS_HELP = (
    "Print the demo parties' API keys, one line per role (or a JSON object with --json). On a "
    "database without demo parties it says so on stderr and creates them first. In production it "
    "needs a LUMEN_DEMO_SECRET of your own."
)
EXPORT_SCHEMA_HELP = (
    "Write the GraphQL schema that /graphql serves, as SDL, to a file (schema.graphql by "
    "default). The repository keeps that file, and a test fails when it differs from the "
    "served schema: run this after changing the schema."
)

WORKER_HELP = (
    "Run the background work (fulfilment, event delivery, billing, partner orders) without "
    "serving HTTP, beside web processes started with LUMEN_RUN_WORKERS=false; as many as wanted, "
    "on any machine, on one PostgreSQL database. Stops cleanly on SIGTERM."
)
SNAPSHOT_HELP = (
    "Compare every served API (the GraphQL schema and each MEF and TMF OpenAPI document) with "
    "its snapshot in governance/; write the snapshots anew unless a breaking change is missing "
    "from CHANGELOG.md. With --check, only compare and exit 1 on a breaking change."
)


def _seed(settings: Settings, *, demo_parties: bool) -> dict[str, str]:
    """Create the reference data, and the demo parties if asked; the demo keys by role."""

    async def run() -> dict[str, str]:
        database = Database.connect(settings.database_url)
        try:
            if demo_parties:
                return await demo.seed(
                    database,
                    secret=settings.demo_secret,
                    as_partner=settings.as_partner,
                    partner_url=settings.demo_partner_url,
                )
            async with database.session() as session:
                await demo.seed_reference_data(session, as_partner=settings.as_partner)
            return {}
        finally:
            await database.dispose()

    return asyncio.run(run())


def _refuse(message: str) -> int:
    print(f"lumen: {message}", file=sys.stderr)
    return 2


def _print_keys(keys: dict[str, str]) -> None:
    width = max(len(role) for role in keys)
    for role, key in keys.items():
        print(f"  {role:<{width}}  {key}")


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """Upgrade the database schema."""
    upgrade(settings.database_url)
    print(f"database schema is up to date ({settings.database_url})")
    return 0


def _seed_orders(settings: Settings, *, orders: int, parties: int) -> int:
    """Add `orders` orders across `parties` new parties in bulk, with a progress bar."""
    from rich.progress import MofNCompleteColumn, Progress

    from app.core import bulk_seed

    async def run(progress: Progress) -> bulk_seed.Seeded:
        task = progress.add_task("orders", total=orders)
        database = Database.connect(settings.database_url)
        try:
            return await bulk_seed.seed_orders(
                database,
                orders=orders,
                parties=parties,
                secret=settings.demo_secret,
                progress=lambda done: progress.advance(task, done),
            )
        finally:
            await database.dispose()

    started = time.monotonic()
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn()) as progress:
        seeded = asyncio.run(run(progress))
    print(
        f"seeded {seeded.orders} orders across {seeded.parties} parties "
        f"in {time.monotonic() - started:.0f} s"
    )
    if settings.environment != "production":
        print("API keys of seeded parties (send as 'Authorization: Bearer <key>'):")
        _print_keys(
            {
                f"{audience} {seeded.party_ids[audience][0]}": key
                for audience, key in seeded.keys.items()
            }
        )
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade the schema, then create the reference data (and demo data, if wanted) that is
    missing; with --orders, add that many orders in bulk."""
    if settings.seeds_demo and (refusal := settings.demo_refusal()):
        return _refuse(refusal)
    if args.orders is not None and args.orders < 1:
        return _refuse("--orders must be at least 1")
    parties = args.parties
    if args.orders is not None and parties is None:
        from app.core.bulk_seed import default_parties

        parties = default_parties(args.orders)
    if args.orders is not None and parties is not None and not 1 <= parties <= args.orders:
        return _refuse("--parties must be between 1 and the number of orders")
    upgrade(settings.database_url)
    keys = _seed(settings, demo_parties=settings.seeds_demo)
    if not keys:
        print("seeded the address book and the catalog; no demo parties (LUMEN_SEED_DEMO is off)")
    elif settings.environment == "production":
        print(f"seeded {len(keys)} demo parties; `lumen demo-keys` prints their API keys")
    else:
        print(f"seeded {len(keys)} demo parties; their API keys:")
        _print_keys(keys)
    if args.orders is not None and parties is not None:
        return _seed_orders(settings, orders=args.orders, parties=parties)
    return 0


def cmd_demo_keys(settings: Settings, args: argparse.Namespace) -> int:
    """Print the demo parties' API keys (creating the demo parties if they are missing)."""
    if refusal := settings.demo_refusal():
        return _refuse(refusal)
    upgrade(settings.database_url)
    missing = _missing_demo_parties(settings)
    keys = _seed(settings, demo_parties=True)
    # Said on stderr, so that `--json` output stays one JSON document.
    if len(missing) == len(keys):
        print(
            f"lumen: the database had no demo parties; created all {len(keys)} now, "
            "with the keys below",
            file=sys.stderr,
        )
    elif missing:
        print(f"lumen: created the missing demo parties: {', '.join(missing)}", file=sys.stderr)
    if args.json:
        print(json.dumps(keys, indent=2))
    else:
        _print_keys(keys)
    return 0


def as_partner(settings: Settings) -> Settings:
    """Settings of the demo partner carrier: its own network, listeners on loopback, and
    (unless told otherwise) its own database and port."""
    update: dict[str, object] = {
        "as_partner": True,
        "partners_enabled": False,
        "webhook_allow_private": True,
    }
    if "LUMEN_DATABASE_URL" not in os.environ:
        update["database_url"] = "sqlite:///./lumen-partner.db"
    if "LUMEN_PORT" not in os.environ:
        update["port"] = 8001
    return settings.model_copy(update=update)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade, seed (unless told not to) and serve the platform."""
    import uvicorn

    from app.main import create_app, tune_garbage_collector

    if args.as_partner or settings.as_partner:
        settings = as_partner(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    if settings.seeds_demo and (refusal := settings.demo_refusal()):
        return _refuse(refusal)
    print("migrating the database...", flush=True)
    if args.workers < 1:
        return _refuse("--workers must be at least 1")
    if args.workers > 1 and (refusal := _single_process_refusal(settings, "--workers")):
        return _refuse(refusal)
    if args.workers > 1 and settings.as_partner:
        return _refuse("the demo partner carrier runs as one process: drop --workers")
    upgrade(settings.database_url)
    print("seeding reference data" + (" and demo parties..." if settings.seeds_demo else "..."))
    sys.stdout.flush()
    keys = _seed(settings, demo_parties=settings.seeds_demo)
    if keys and settings.environment == "production":
        print("demo parties are seeded; `lumen demo-keys` prints their API keys")
    elif keys:
        print("demo API keys (send as 'Authorization: Bearer <key>'):")
        _print_keys(keys)
    print(f"developer portal: {settings.base_url}/")
    print(f"GraphQL:          {settings.base_url}/graphql")
    sys.stdout.flush()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        # Rate limits count per client address: a forwarded one counts only from a named proxy.
        "proxy_headers": settings.forwarded_allow_ips is not None,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    if args.workers == 1:
        app = create_app(settings)
        tune_garbage_collector()
        uvicorn.run(app, **options)
        return 0
    # Each web process builds the app from the environment: it must name this host and port.
    os.environ["LUMEN_HOST"], os.environ["LUMEN_PORT"] = host, str(port)
    # The parent process only watches the web processes; its lines look like theirs.
    configure_logging(settings.log_level, json_lines=settings.environment == "production")
    uvicorn.run(
        "app.main:create_web_process_app",
        factory=True,
        workers=args.workers,
        # A process still loading its modules on a busy machine answers the supervisor late;
        # uvicorn's default of 5 s would restart it again and again.
        timeout_worker_healthcheck=WEB_PROCESS_HEALTHCHECK_SECONDS,
        **options,
    )
    return 0


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    """Run the background work (fulfilment, event delivery, billing) without serving HTTP."""
    from app.main import create_app
    from app.workers import run_until_signalled

    if refusal := _single_process_refusal(settings, "lumen worker"):
        return _refuse(refusal)
    app = create_app(settings, run_workers=False)
    runner = asyncio.Runner()
    if not runner.run(run_until_signalled(app.state.work, app.state.feed, app.state.release)):
        # The loop's own clean-up would wait for the stuck work for ever. What it claimed is
        # leased or row-locked, so another worker takes it over once this process is gone.
        logging.shutdown()
        os._exit(1)
    runner.close()
    return 0


def _single_process_refusal(settings: Settings, what: str) -> str | None:
    """Why `what` may not run beside other processes here, or None: SQLite has one writer."""
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        return None
    return (
        f"{what} needs PostgreSQL (LUMEN_DATABASE_URL): on SQLite one `lumen serve` process "
        "serves and runs the background work itself"
    )


def cmd_export_schema(_settings: Settings, args: argparse.Namespace) -> int:
    """Write the native GraphQL schema (SDL) to a file."""
    from schema.root import schema

    Path(args.output).write_text(str(schema) + "\n")
    print(f"wrote {args.output}")
    return 0


def cmd_snapshot(settings: Settings, args: argparse.Namespace) -> int:
    """Compare every served API with its snapshot (schema.graphql, governance/openapi/), then
    write the snapshots anew; a breaking change must first be named in CHANGELOG.md."""
    from app import governance
    from app.main import create_app

    snapshots = governance.Snapshots(Path(args.root))
    app = create_app(settings, run_workers=False)
    try:
        if args.check:
            changes = governance.compare(snapshots, app, governance.served_sdl())
            outcome = governance.Refresh(changes, [], [])
        else:
            outcome = governance.refresh(snapshots, app, governance.served_sdl())
    except governance.DiffToolMissing as error:
        return _refuse(str(error))
    for change in outcome.changes:
        print(f"{change.api}: {change.kind}: {change.description}")
    breaking = sorted({c.api for c in outcome.changes if c.kind is governance.ChangeKind.BREAKING})
    if args.check:
        print(f"breaking changes in: {', '.join(breaking)}" if breaking else "no breaking change")
        return 1 if breaking else 0
    if outcome.unlogged:
        return _refuse(
            f"breaking changes in {', '.join(outcome.unlogged)}: name each in the "
            "'## [Unreleased]' section of CHANGELOG.md, then run `lumen snapshot` again"
        )
    for path in outcome.written:
        print(f"wrote {path}")
    if not outcome.written:
        print("the snapshots are up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `lumen` console script."""
    parser = argparse.ArgumentParser(prog="lumen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    def command(name: str, run: Any, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=run.__doc__, description=description)
        sub.set_defaults(run=run)
        return sub

    serve = command("serve", cmd_serve, SERVE_HELP)
    serve.add_argument("--host", help="interface to listen on (LUMEN_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (LUMEN_PORT)")
    serve.add_argument(
        "--as-partner",
        action="store_true",
        help="serve as the demo partner carrier that sells us off-net access (LUMEN_AS_PARTNER)",
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="web processes (more than 1 on PostgreSQL)"
    )
    command("worker", cmd_worker, WORKER_HELP)
    command("migrate", cmd_migrate, MIGRATE_HELP)
    seed = command("seed", cmd_seed, SEED_HELP)
    seed.add_argument("--orders", type=int, help="add this many delivered orders in bulk")
    seed.add_argument(
        "--parties", type=int, help="across this many new parties (default: one per 1000 orders)"
    )
    keys = command("demo-keys", cmd_demo_keys, DEMO_KEYS_HELP)
    keys.add_argument("--json", action="store_true", help="print a JSON object by role")
    export = command("export-schema", cmd_export_schema, EXPORT_SCHEMA_HELP)
    export.add_argument("--output", default="schema.graphql", help="file to write")
    snapshot = command("snapshot", cmd_snapshot, SNAPSHOT_HELP)
    snapshot.add_argument("--root", default=".", help="the checkout that holds the snapshots")
    snapshot.add_argument(
        "--check", action="store_true", help="only compare; exit 1 on a breaking change"
    )
    args = parser.parse_args(argv)
    code: int = args.run(get_settings(), args)
    return code


if __name__ == "__main__":
    sys.exit(main())
