"""Plain fields executed in place answer exactly as graphql-core's own execution, errors too."""

import enum
from typing import Any

import pytest
import strawberry

from schema.execution import LeanExecutionContext

pytestmark = pytest.mark.once


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Thing:
    name: str
    nickname: str | None
    colour: Colour
    sizes: list[int]
    maybe_sizes: list[int | None] | None
    weight: float

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _thing(**changes: Any) -> Thing:
    values: dict[str, Any] = {
        "name": "box",
        "nickname": None,
        "colour": Colour.RED,
        "sizes": [1, 2, 3],
        "maybe_sizes": [4, None],
        "weight": 1.5,
    }
    return Thing(**(values | changes))


# Values a type refuses: a null where none may be, a string for an Int, a bad enum value.
THINGS = [
    _thing(),
    _thing(name=None),
    _thing(sizes=[1, None]),
    _thing(sizes=[1, "two"]),
    _thing(maybe_sizes=None, nickname="b"),
    _thing(colour="green"),
    _thing(weight="heavy"),
    _thing(sizes=(5, 6)),
]


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return list(THINGS)


QUERY = """{ things { name nickname colour sizes maybeSizes weight shout __typename
  again: sizes ... on Thing { name } } }"""


async def test_plain_fields_answer_as_graphql_core_does() -> None:
    lean = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    plain = strawberry.Schema(query=Query)
    expected, got = await plain.execute(QUERY), await lean.execute(QUERY)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []
    ]
    # The bad values really were refused, each at its own place.
    assert expected.data is not None
    assert expected.data["things"][0]["sizes"] == [1, 2, 3]
    assert [e.path for e in expected.errors or []] == [
        ["things", 1, "name"],
        ["things", 2, "sizes", 1],
        ["things", 3, "sizes", 1],
        ["things", 5, "colour"],
        ["things", 6, "weight"],
    ]
