"""Request budgets: per API key, per client address for anonymous calls, and a slowdown for an
address that keeps sending bad keys. One middleware spends them for every face."""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.deps import bearer_token, client_address

# Health probes and pages stay reachable; the faces are what the budgets protect.
LIMITED_PREFIXES = ("/graphql", "/mefApi/", "/tmf-api/")
# Where the middleware leaves the budget that a request spent from, for the faces to spend more.
BUDGET_STATE = "rate_limit_budget"


@dataclass(frozen=True)
class Budget:
    """One budget: its limit and whose it is (a key's hash or a client address)."""

    limit: RateLimitItem
    owner: str


class RateLimiter:
    """Moving-window budgets kept in this process's memory; each process counts on its own."""

    def __init__(self, *, per_key: str, anonymous: str, auth_failures: str) -> None:
        self._windows = MovingWindowRateLimiter(MemoryStorage())
        self.per_key = parse(per_key) if per_key else None
        self.anonymous = parse(anonymous) if anonymous else None
        self.auth_failures = parse(auth_failures) if auth_failures else None

    def budget(self, key: str | None, address: str) -> Budget | None:
        """The budget a request spends: its key's, or its address's when it sends none."""
        if key is not None:
            # Keyed by a hash: the store never holds a key, and every key has its own budget.
            digest = hashlib.sha256(key.encode()).hexdigest()[:32]
            return Budget(self.per_key, f"key:{digest}") if self.per_key else None
        return Budget(self.anonymous, f"address:{address}") if self.anonymous else None

    def spend(self, budget: Budget, units: int = 1) -> int | None:
        """Take `units` from a budget; the seconds to wait if it has not that many left."""
        # A request that costs more than a whole window takes the whole window, not forever.
        units = max(1, min(units, budget.limit.amount))
        if self._windows.hit(budget.limit, budget.owner, cost=units):
            return None
        return self._retry_after(budget.limit, budget.owner)

    def locked_out(self, address: str) -> int | None:
        """The seconds to wait if this address has failed to authenticate too often."""
        if self.auth_failures is None or self._windows.test(self.auth_failures, address):
            return None
        return self._retry_after(self.auth_failures, address)

    def note_failure(self, address: str) -> None:
        """Count a request from this address whose API key was refused."""
        if self.auth_failures is not None:
            self._windows.hit(self.auth_failures, address)

    def _retry_after(self, limit: RateLimitItem, owner: str) -> int:
        reset_at = self._windows.get_window_stats(limit, owner).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def spend_more(connection: HTTPConnection, units: int) -> int | None:
    """Spend further units from the budget this request already spent from (GraphQL cost);
    the seconds to wait if it has not that many left."""
    limiter: RateLimiter | None = getattr(connection.app.state, "rate_limiter", None)
    budget: Budget | None = connection.scope.get("state", {}).get(BUDGET_STATE)
    if limiter is None or budget is None:
        return None
    # With the unit the request took on arrival, one operation takes at most the whole window,
    # so the costliest query allowed is never refused on a fresh budget.
    units = min(units, budget.limit.amount - 1)
    return limiter.spend(budget, units) if units > 0 else None


# Renders a 429 in the error format of the face a path belongs to.
Refusal = Callable[[str, int, str], Response]


class RateLimitMiddleware:
    """Refuses requests over their budget with 429 and `Retry-After`, before any work is done."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, refuse: Refusal) -> None:
        self.app = app
        self.limiter = limiter
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        address = client_address(connection)
        key = bearer_token(connection.headers.get("authorization"))
        wait = self.limiter.locked_out(address) if key is not None else None
        if wait is not None:
            message = "too many requests with a bad API key from this address; retry later"
            await self.refuse(scope["path"], wait, message)(scope, receive, send)
            return
        budget = self.limiter.budget(key, address)
        if budget is not None:
            wait = self.limiter.spend(budget)
            if wait is not None:
                message = f"over the budget of {budget.limit}; retry in {wait} s"
                await self.refuse(scope["path"], wait, message)(scope, receive, send)
                return
            scope.setdefault("state", {})[BUDGET_STATE] = budget
        await self.app(scope, receive, send)
