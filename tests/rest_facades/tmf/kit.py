"""What a TM Forum conformance kit (CTK) checks of one resource, run through the ASGI app.

The kits create a resource with the conformance profile's mandatory attributes, read it back by
id, list it, filter the list by each attribute the resource came back with, select each attribute
with `fields=`, patch it and, where the API defines it, delete it. Beyond the kits, every attribute
(at any dotted path) filters in SQL: a value no row shows counts none (`X-Total-Count: 0`) or is
refused, unless the API documents the attribute as filtered after the page is read.
"""

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from rest_facades.common.tmf630 import ALWAYS_KEPT
from rest_facades.tmf.router import APIS
from tests.factories import Caller
from tests.rest_facades.tmf.conformance import check_response

MERGE = {"Content-Type": "application/merge-patch+json"}


@dataclass
class Kit:
    """One resource of one API, as a kit exercises it."""

    client: httpx.AsyncClient
    caller: Caller
    spec: str
    base: str
    resource: str
    # Attributes that every answer must carry (the conformance profile's mandatory ones).
    mandatory: tuple[str, ...] = ()
    # Attributes whose value changes between two reads (nothing of ours yet).
    volatile: set[str] = field(default_factory=set)
    # Dotted paths that the API documents as filtered after the page is read (by default, the
    # `AFTER_PAGE` of the API mounted at `base`).
    after_page: frozenset[str] | None = None

    async def call(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request, its status and its body checked against the official file."""
        template = f"/{self.resource}" + ("/{id}" if path != f"/{self.resource}" else "")
        response = await self.client.request(
            method,
            f"{self.base}{path}",
            headers=self.caller.headers | (headers or {}),
            params=params,
            json=body,
        )
        assert response.status_code == status, f"{method} {path} {params}: {response.text}"
        if status != 204:
            check_response(self.spec, template, method, status, response.json())
        return response

    def _has_mandatory(self, instance: dict[str, Any]) -> None:
        missing = [name for name in self.mandatory if name not in instance]
        assert not missing, f"{self.resource} lacks {missing}"

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST, then the same resource by id and in the list."""
        made = await self.call("POST", f"/{self.resource}", 201, body=body)
        created: dict[str, Any] = made.json()
        assert made.headers["location"] == created["href"]
        self._has_mandatory(created)
        got = await self.existing(created["id"])
        assert {k: v for k, v in got.items() if k not in self.volatile} == {
            k: v for k, v in created.items() if k not in self.volatile
        }
        return got

    async def existing(self, instance_id: str) -> dict[str, Any]:
        """A resource by id and in the list: what the kits of resources that the API does not
        create (products, bills) start from."""
        got: dict[str, Any] = (
            await self.call("GET", f"/{self.resource}/{instance_id}", 200)
        ).json()
        self._has_mandatory(got)
        listed = await self.call("GET", f"/{self.resource}", 200)
        assert int(listed.headers["x-total-count"]) >= 1
        assert instance_id in [i["id"] for i in listed.json()]
        for instance in listed.json():
            self._has_mandatory(instance)
        return got

    async def filters_and_fields(self, instance: dict[str, Any]) -> None:
        """Filter the list by each scalar attribute of `instance`, and select each attribute."""
        for name, value in instance.items():
            if isinstance(value, bool):
                wanted = str(value).lower()
            elif isinstance(value, str | int | float):
                wanted = str(value)
            else:
                continue
            # A comma separates values that a filter takes (TMF630): such a value is no filter.
            if "," in wanted:
                continue
            found = (await self.call("GET", f"/{self.resource}", 200, params={name: wanted})).json()
            assert instance["id"] in [i["id"] for i in found], f"filter {name}={wanted}"
            assert all(i.get(name) == value for i in found), f"filter {name}={wanted}"
        for name in instance:
            listed = await self.call("GET", f"/{self.resource}", 200, params={"fields": name})
            for item in listed.json():
                assert set(item) <= {name, *ALWAYS_KEPT, *self.mandatory}, f"fields={name}"
            one = await self.call(
                "GET", f"/{self.resource}/{instance['id']}", 200, params={"fields": name}
            )
            assert one.json()[name] == instance[name]
        await self.filters_in_sql(instance)

    async def filters_in_sql(self, instance: dict[str, Any]) -> None:
        """Filter the list by each scalar at any dotted path of `instance`: its value finds it,
        and a value that no row shows counts none, unless the path is filtered after the page."""
        after_page = self.after_page
        if after_page is None:
            after_page = AFTER_PAGE[self.base]
        for path, value in sorted(set(scalars(instance))):
            if path in after_page:
                continue
            none = await self.client.get(
                f"{self.base}/{self.resource}",
                headers=self.caller.headers,
                params={path: NO_SUCH_VALUE, "limit": "1"},
            )
            assert none.status_code == 400 or none.headers["x-total-count"] == "0", (
                f"{self.resource}: {path} is not filtered in SQL ({none.status_code})"
            )
            # A comma separates values that a filter takes; an empty value takes none.
            if value and "," not in value:
                found = await self.call(
                    "GET", f"/{self.resource}", 200, params={path: value, "limit": "1000"}
                )
                ids = [i["id"] for i in found.json()]
                assert instance["id"] in ids, f"{self.resource}: filter {path}={value}"
                assert found.headers["x-total-count"] == str(len(ids)), f"{path}={value}"

    async def patch(self, instance: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        """A merge patch, whose attributes the answer (and a later read) then carries."""
        path = f"/{self.resource}/{instance['id']}"
        patched: dict[str, Any] = (
            await self.call("PATCH", path, 200, body=patch, headers=MERGE)
        ).json()
        self._has_mandatory(patched)
        got: dict[str, Any] = (await self.call("GET", path, 200)).json()
        for name, value in patch.items():
            assert _contains(patched.get(name), value), f"PATCH {name}: {patched.get(name)}"
            assert _contains(got.get(name), value), f"PATCH {name} read back: {got.get(name)}"
        return got

    async def delete(
        self, instance: dict[str, Any], then: Callable[[str], Awaitable[None]] | None = None
    ) -> None:
        """DELETE; by default the resource is gone afterwards."""
        path = f"/{self.resource}/{instance['id']}"
        await self.call("DELETE", path, 204)
        if then is None:
            await self.call("GET", path, 404)
        else:
            await then(path)

    async def unknown_is_404(self) -> None:
        """An id that was never created answers 404 with a TMF Error."""
        refused = await self.call("GET", f"/{self.resource}/f42b01d2-dba6-4442-a0fa", 404)
        assert refused.json()["code"]


NO_SUCH_VALUE = "zz-no-such-value"
# What each API (by its base path) documents as filtered after the page is read.
AFTER_PAGE: dict[str, frozenset[str]] = {api.BASE: api.AFTER_PAGE for api in APIS}


def scalars(item: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every scalar of a resource with its dotted path (arrays add no step), as a filter value."""
    if isinstance(item, dict):
        for key, value in item.items():
            yield from scalars(value, (*path, key))
    elif isinstance(item, list):
        for element in item:
            yield from scalars(element, path)
    elif item is not None and path:
        yield ".".join(path), str(item).lower() if isinstance(item, bool) else str(item)


def _contains(actual: Any, sent: Any) -> bool:
    """Whether what came back carries what was sent (objects: each key; lists: each element)."""
    if isinstance(sent, dict):
        return isinstance(actual, dict) and all(
            _contains(actual.get(k), v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return isinstance(actual, list) and all(any(_contains(a, s) for a in actual) for s in sent)
    if isinstance(sent, str) and isinstance(actual, str) and sent.endswith("Z"):
        # Moments compare as moments: `...:00Z`, `...:00.000Z` and `...:00.000000Z` are one.
        try:
            return datetime.fromisoformat(actual) == datetime.fromisoformat(sent)
        except ValueError:
            return actual == sent
    return bool(actual == sent)
