"""The platform as `make run` serves it: `lumen serve` in its own process on a free loopback port,
with a database of its own and the demo parties."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 180


@dataclass(frozen=True)
class LiveServer:
    """A running platform: its URL, the demo keys by role and its SQLite database file."""

    url: str
    keys: dict[str, str]
    database: Path | None = None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(folder: Path) -> Iterator[LiveServer]:
    """Run `lumen serve` with a fresh SQLite database in `folder` until the block ends."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LUMEN_")} | {
        "LUMEN_DATABASE_URL": f"sqlite:///{folder / 'lumen.db'}",
        "LUMEN_ENVIRONMENT": "development",
        "LUMEN_SEED_DEMO": "true",
        # Pages and their assets load many files at once; the budgets are tested elsewhere.
        "LUMEN_RATE_LIMIT_PER_KEY": "100000/minute",
        "LUMEN_RATE_LIMIT_ANONYMOUS": "100000/minute",
    }
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, (folder / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.3)
        keys = {}
        for line in (folder / "serve.log").read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith("lumen_"):
                keys[parts[0]] = parts[1]
        yield LiveServer(url=url, keys=keys, database=folder / "lumen.db")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
