"""Plain fields and plain subtrees completed in place answer exactly as graphql-core's own
execution, errors and their paths too."""

import asyncio
import enum
from typing import Any

import pytest
import strawberry
from strawberry import relay
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import execution
from schema.execution import LeanExecutionContext

pytestmark = pytest.mark.once


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Nobody(BasePermission):
    message = "Nobody may read this."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Part:
    name: str
    weight: float | None

    @strawberry.field
    def broken(self) -> str:
        raise ValueError(f"{self.name} is broken")

    @strawberry.field
    def where(self, info: strawberry.Info) -> list[str]:
        return [str(key) for key in info.path.as_list()] + [info.path.typename or ""]

    @strawberry.field
    async def later(self) -> int:
        return len(self.name)

    @strawberry.field
    def about(self, info: strawberry.Info) -> str:
        # What a resolver may read of its info beyond the context, the operation and the path.
        raw = info._raw_info
        asked = [getattr(f, "name", "") for f in info.selected_fields]
        where = f"{raw.parent_type.name} {raw.return_type}"
        return f"{info.field_name} {where} {asked} {raw.variable_values}"

    secret: str | None = strawberry.field(default="hidden", permission_classes=[Nobody])

    @strawberry.field
    def counted(self) -> str:
        COUNTED.append(self.name)
        return self.name


COUNTED: list[str] = []


@strawberry.type
class Thing:
    name: str
    nickname: str | None
    colour: Colour
    sizes: list[int]
    maybe_sizes: list[int | None] | None
    weight: float
    parts: list[Part]
    spare: Part | None
    maybe_parts: list[Part | None] | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _part(name: Any = "bolt", weight: Any = 0.5) -> Part:
    return Part(name=name, weight=weight)


def _thing(**changes: Any) -> Thing:
    values: dict[str, Any] = {
        "name": "box",
        "nickname": None,
        "colour": Colour.RED,
        "sizes": [1, 2, 3],
        "maybe_sizes": [4, None],
        "weight": 1.5,
        "parts": [_part(), _part("nut", None)],
        "spare": None,
        "maybe_parts": [None, _part("pin")],
    }
    return Thing(**(values | changes))


# Values a type refuses: a null where none may be, a string for an Int, a bad enum value; in
# leaves, in lists and in objects nested in lists.
BAD_THINGS = [
    _thing(),
    _thing(name=None),
    _thing(sizes=[1, None]),
    _thing(sizes=[1, "two"]),
    _thing(maybe_sizes=None, nickname="b"),
    _thing(colour="green"),
    _thing(weight="heavy"),
    _thing(sizes=(5, 6)),
    _thing(parts=[_part(), _part(name=None)]),
    _thing(parts=[_part(weight="light")]),
    _thing(spare=_part(name=None)),
    _thing(spare="not a part"),
    _thing(maybe_parts=[_part(name=None), None]),
    _thing(parts=None),
    _thing(parts=[None]),
]
GOOD_THINGS = [_thing(), _thing(spare=_part("washer"), maybe_parts=None), _thing(parts=[])]


@strawberry.type
class Gadget(relay.Node):
    code: relay.NodeID[str]
    name: str


@strawberry.type
class Widget(relay.Node):
    code: relay.NodeID[str]

    @classmethod
    def resolve_id(cls, root: "Widget", *, info: strawberry.Info) -> str:
        return f"widget-{root.code}"


class SpecialGadget(Gadget):
    @classmethod
    def resolve_id(cls, root: Gadget, *, info: strawberry.Info) -> str:
        return f"special-{root.code}"


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return list(BAD_THINGS)

    @strawberry.field
    def good_things(self) -> list[Thing]:
        return list(GOOD_THINGS)

    @strawberry.field
    def thing(self) -> Thing:
        return _thing(spare=_part(name=None))

    @strawberry.field
    def gadgets(self) -> list[Gadget]:
        # A subclass that resolves its id its own way is answered as strawberry answers it.
        return [Gadget(code="g1", name="one"), SpecialGadget(code="g2", name="two")]

    @strawberry.field
    def widgets(self) -> list[Widget]:
        return [Widget(code="w1")]

    @strawberry.field
    def repeated(self) -> list[Part]:
        # One object at several places, as a page's items share an offering.
        return [SHARED_PART, _part("nut"), SHARED_PART, SHARED_PART]


SHARED_PART = _part("shared")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def repeat(self) -> list[Part]:
        return [SHARED_PART, SHARED_PART]


PARTS = "name weight where __typename"
EVERY = f"""name nickname colour sizes maybeSizes weight shout __typename again: sizes
  ... on Thing {{ name }} parts {{ {PARTS} }} spare {{ {PARTS} }} maybeParts {{ {PARTS} }}"""
QUERIES = [
    f"{{ things {{ {EVERY} }} }}",
    f"{{ goodThings {{ {EVERY} }} }}",
    "{ goodThings { parts { name broken } } }",
    "{ goodThings { parts { name later } spare { later } } }",
    "{ goodThings { parts { name secret } } }",
    "{ thing { name spare { name } } }",
    "{ thing { spare { weight } ...F } } fragment F on Thing { parts { ...P } } "
    "fragment P on Part { n: name, w: weight, name }",
    "query Q($yes: Boolean!) { goodThings { name @include(if: $yes) "
    "parts @skip(if: $yes) { name } spare { name @include(if: $yes) } } }",
    "query Q($yes: Boolean!) { goodThings { parts { about name } spare { about } } }",
    "{ gadgets { id name } widgets { id __typename } }",
    "{ repeated { name weight counted } again: repeated { name } }",
    "{ repeated { name where } }",
]


async def _answers(query: str) -> list[tuple[Any, list[Any]]]:
    answers = []
    for context in (StrawberryGraphQLCoreExecutionContext, LeanExecutionContext):
        schema = strawberry.Schema(query=Query, execution_context_class=context)
        for yes in (True, False):
            result = await schema.execute(query, variable_values={"yes": yes})
            errors = [(e.message, e.path, e.locations) for e in result.errors or []]
            answers.append((result.data, errors))
    return answers


DEFAULT_CHUNK = execution.LIST_CHUNK


@pytest.mark.parametrize("chunk", [DEFAULT_CHUNK, 2, 1])
@pytest.mark.parametrize("query", QUERIES)
async def test_plain_subtrees_answer_as_graphql_core_does(
    query: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long lists are completed in chunks: with small ones, the lists here are long.
    monkeypatch.setattr(execution, "LIST_CHUNK", chunk)
    stock, stock_no, lean, lean_no = await _answers(query)
    if chunk == DEFAULT_CHUNK:
        assert lean == stock
        assert lean_no == stock_no
    else:
        # A list completed in chunks finishes after its siblings: the same errors, in the
        # order the fields finished.
        assert _in_any_order(lean) == _in_any_order(stock)
        assert _in_any_order(lean_no) == _in_any_order(stock_no)


def _in_any_order(answer: tuple[Any, list[Any]]) -> tuple[Any, list[str]]:
    data, errors = answer
    return data, sorted(map(repr, errors))


async def test_refused_values_are_refused_at_their_place() -> None:
    [(data, errors), *_] = await _answers(QUERIES[0])
    assert data is not None
    assert data["things"][0]["sizes"] == [1, 2, 3]
    assert data["things"][0]["parts"][0]["where"] == ["things", "0", "parts", "0", "where", "Part"]
    paths = [path for _message, path, _locations in errors]
    assert ["things", 1, "name"] in paths
    assert ["things", 2, "sizes", 1] in paths
    assert ["things", 8, "parts", 1, "name"] in paths
    assert ["things", 11, "spare", "name"] in paths
    # A null inside a list of non-null parts nulls the whole thing; one in a nullable spot
    # only that spot.
    assert data["things"][8] is None
    assert data["things"][12]["maybeParts"] == [None, None]


async def test_plain_subtrees_skip_graphql_core_completion(completions: list[str]) -> None:
    completed = completions
    schema = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    result = await schema.execute(QUERIES[1])
    assert result.errors is None
    assert result.data is not None
    assert len(result.data["goodThings"]) == 3
    assert completed == []
    # A field that is not plain (an async resolver) is completed by graphql-core, with the
    # objects above it; the plain fields beside it are still answered in place.
    result = await schema.execute(QUERIES[3])
    assert result.errors is None
    assert "Int!" in completed
    assert "String!" not in completed


async def test_a_long_list_is_completed_in_chunks_with_turns_of_the_loop_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)

    async def turns_while_answering() -> tuple[int, Any]:
        turns, answering = 0, True

        async def count() -> None:
            nonlocal turns
            while answering:
                await asyncio.sleep(0)
                turns += 1

        counter = asyncio.create_task(count())
        await asyncio.sleep(0)
        result = await schema.execute(QUERIES[1])
        answering = False
        await counter
        return turns, result

    whole, at_once = await turns_while_answering()
    monkeypatch.setattr(execution, "LIST_CHUNK", 1)
    chunked, in_chunks = await turns_while_answering()
    assert in_chunks.errors is None
    assert in_chunks.data == at_once.data
    # Three things a chunk each: two more turns of the loop, in which other requests run.
    assert chunked >= whole + 2


async def test_an_object_at_several_places_of_a_query_is_completed_once() -> None:
    schema = strawberry.Schema(
        query=Query, mutation=Mutation, execution_context_class=LeanExecutionContext
    )
    COUNTED.clear()
    result = await schema.execute("{ repeated { name counted } }")
    assert result.errors is None
    assert result.data is not None
    assert [p["counted"] for p in result.data["repeated"]] == ["shared", "nut", "shared", "shared"]
    assert sorted(COUNTED) == ["nut", "shared"]
    # A mutation may change an object between two of its places: each is completed afresh.
    COUNTED.clear()
    result = await schema.execute("mutation { repeat { counted } }")
    assert result.errors is None
    assert COUNTED == ["shared", "shared"]
