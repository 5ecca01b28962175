"""graphql-core's execution with a shortcut for plain fields: an attribute that is a scalar, an
enum or a list of them is read and serialized in place, without the per-field machinery
(resolve info, completion of each wrapper and list item) that a field with a resolver needs."""

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class _Plain:
    """How to serialize a plain field's value: its leaf type, and whether it is a list and
    which levels may be null."""

    __slots__ = ("leaf", "list_of", "nullable", "nullable_items")

    def __init__(self, leaf: GraphQLLeafType, *, nullable: bool, list_of: bool, items: bool):
        self.leaf = leaf
        self.nullable = nullable
        self.list_of = list_of
        self.nullable_items = items


def _plain(field: GraphQLField) -> _Plain | None:
    """The shape of a field that only reads an attribute and is a leaf or a list of leaves."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None  # a resolver of its own, or field extensions: the full path
    # Strawberry's resolver of a basic field reads the attribute and takes no info; any other
    # (one that handles exceptions, say) needs the full path.
    if getattr(field.resolve, "__name__", None) != "_get_basic_result" or field.args:
        return None
    kind: GraphQLOutputType = field.type
    nullable = not isinstance(kind, GraphQLNonNull)
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if is_leaf_type(kind):
        return _Plain(kind, nullable=nullable, list_of=False, items=False)
    if not isinstance(kind, GraphQLList):
        return None
    item: GraphQLOutputType = kind.of_type
    items = not isinstance(item, GraphQLNonNull)
    if isinstance(item, GraphQLNonNull):
        item = item.of_type
    if not is_leaf_type(item):
        return None
    return _Plain(item, nullable=nullable, list_of=True, items=items)


_MISSING = object()
# Shapes by field, found on first use; a schema has a fixed set of fields.
_shapes: dict[int, tuple[GraphQLField, _Plain | None]] = {}


def _shape(field: GraphQLField) -> _Plain | None:
    known = _shapes.get(id(field))
    if known is None or known[0] is not field:
        known = _shapes[id(field)] = (field, _plain(field))
    return known[1]


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Executes plain fields in place; anything unusual about one (a null where none may be, a
    value its type refuses, a directive) takes graphql-core's own path, which answers it as
    ever, errors included."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field = self.schema.get_field(parent_type, node.name.value)
        if (
            field is not None
            and not node.directives
            and not (self.middleware_manager and self.middleware_manager.middlewares)
        ):
            shape = _shape(field)
            if shape is not None:
                value = _serialized(shape, field, source, self.is_awaitable)
                if value is not _MISSING:
                    return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


def _serialized(
    shape: _Plain, field: GraphQLField, source: Any, is_awaitable: Callable[[Any], bool]
) -> Any:
    """The field's serialized value, or _MISSING when graphql-core must say what is wrong."""
    try:
        value = field.resolve(source, None)  # type: ignore[misc]
        if is_awaitable(value):
            return _MISSING
        if value is None:
            return None if shape.nullable else _MISSING
        if not shape.list_of:
            return _leaf(shape.leaf, value)
        if not isinstance(value, list | tuple):
            return _MISSING
        serialized: list[Any] = []
        for item in value:
            if item is None:
                if not shape.nullable_items:
                    return _MISSING
                serialized.append(None)
                continue
            one = _leaf(shape.leaf, item)
            if one is _MISSING:
                return _MISSING
            serialized.append(one)
        return serialized
    except Exception:
        return _MISSING


def _leaf(leaf: GraphQLLeafType, value: Any) -> Any:
    coerced = leaf.coerce_output_value(value)
    return _MISSING if coerced is None or coerced is Undefined else coerced
