"""graphql-core's execution, with plain subtrees completed in place: a field whose whole
selection reads attributes or calls resolvers that need nothing but their object (and `info`)
is answered by a plan compiled once per document, without graphql-core's per-field machinery
(resolve info for fields that take none, completion of each wrapper, list item and object)."""

import asyncio
import functools
import itertools
from collections.abc import Callable, Coroutine
from datetime import date, datetime, time
from decimal import Decimal
from inspect import isawaitable, iscoroutine
from math import isfinite
from typing import Any
from uuid import UUID

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    OperationType,
    SelectionSetNode,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    collect_subfields,
    get_field_entry_key,
)
from graphql.language import FragmentSpreadNode, InlineFragmentNode
from graphql.pyutils import Path
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

# A compiled field: its completed value on `source`, under the path of `source`'s object
# (None where nothing below needs a path); raises where graphql-core must answer instead.
Run = Callable[[Any, Path | None, "LeanExecutionContext"], Any]
# A compiled completion: the completed value of a resolved value at the field's path.
Complete = Callable[[Any, Path | None, "LeanExecutionContext"], Any]


class _Unanswered(Exception):
    """What a plan leaves to graphql-core: an awaitable, a null where none may be, a value its
    type refuses."""


class _Plan:
    """How to complete one field: its runner, and whether it needs its object's path; `top`
    is how execution runs it as a field of its own, which may complete a long list of objects
    in chunks (an awaitable) rather than in one slice of the event loop."""

    __slots__ = ("needs_path", "run", "top")

    def __init__(self, run: Run, *, needs_path: bool, top: Run | None = None) -> None:
        self.run = run
        self.needs_path = needs_path
        self.top = top or run


# A list of more objects than this is completed this many at a time, with a turn of the event
# loop in between, when it is a field's whole value: a page of 100 orders is otherwise one
# slice of many milliseconds, which every other request (and a health probe) waits for.
LIST_CHUNK = 20


# Plans by (parent type, field nodes), for the documents in strawberry's parser cache; the
# value keeps the type and nodes alive, so that their ids are not reused while it is kept.
_MAX_PLANS = 4096
_plans: dict[tuple[int, ...], tuple[object, _Plan | None]] = {}


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Completes plain fields and plain subtrees in place; anything unusual about one takes
    graphql-core's own path from that field, which answers it as ever, errors included."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self.plain = not (manager and manager.middlewares)
        # Objects completed in this query, by completion and object: an object that a page
        # shares (an offering, a site) is completed once. A mutation's fields may change what
        # an object answers between two of its places, so it completes each place afresh.
        self.completed: dict[tuple[int, int], tuple[Any, Any]] | None = (
            {} if self.operation.operation is OperationType.QUERY else None
        )
        # The info each plan's resolver gets in this execution (see `_resolver_plan`).
        self.infos: dict[Run, Any] | None = {}

    def build_response(self, data: dict[str, Any] | None) -> Any:
        # graphql-core's execution is a reference cycle, which only the garbage collector
        # frees: what it holds past the answer (every completed object) waits for a pause of
        # the collector, which grows with the requests in flight.
        self.completed = self.infos = None
        response = super().build_response(data)
        if isinstance(response, ExecutionResult):
            # The answer is whole (nothing deferred follows): the helpers that resolvers were
            # given hold this execution's own methods, the cycle that kept it alive.
            self.async_helpers = None  # type: ignore[assignment]
        return response

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self.plain:
            plan = self.plan(parent_type, field_details_list)
            if plan is not None:
                try:
                    answer = plan.top(source, path.prev, self)
                except Exception:
                    # Resolvers are reads without side effects, so graphql-core may run the
                    # field again: it answers what the plan did not (an awaitable, a null where
                    # none may be, a value a type refuses, an error) with its own errors, paths
                    # and partial nulls.
                    pass
                else:
                    if not iscoroutine(answer):
                        return answer
                    fallback = functools.partial(
                        super().execute_field,
                        parent_type,
                        source,
                        field_details_list,
                        path,
                        position_context,
                    )
                    return self._settle(answer, fallback)
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    async def _settle(self, chunks: Coroutine[Any, Any, Any], fallback: Callable[[], Any]) -> Any:
        """A list completed in chunks; where a chunk fails, graphql-core's answer (`fallback`)."""
        try:
            return await chunks
        except Exception:
            pass  # as in `execute_field`
        answer = fallback()
        return await answer if self.is_awaitable(answer) else answer

    def plan(self, parent_type: GraphQLObjectType, details: FieldDetailsList) -> _Plan | None:
        """The plan of a field, compiled on first use of its document."""
        key = (id(parent_type), *[id(d.node) for d in details])
        known = _plans.get(key)
        if known is None:
            if len(_plans) >= _MAX_PLANS:
                _plans.clear()
            try:
                plan = _field_plan(self, parent_type, details)
            except RecursionError:
                plan = None  # a selection too deep to compile: graphql-core's path
            known = _plans[key] = ((parent_type, [d.node for d in details]), plan)
        return known[1]


def _field_plan(
    context: LeanExecutionContext, parent_type: GraphQLObjectType, details: FieldDetailsList
) -> _Plan | None:
    """The plan of a plain field and its selection, or None where graphql-core must run it."""
    schema = context.schema
    if parent_type is schema.mutation_type or parent_type is schema.subscription_type:
        return None  # a root mutation is no read; a subscription's root is a stream
    nodes = [d.node for d in details]
    if any(d.defer_usage or d.fragment_variable_values for d in details) or any(
        node.directives for node in nodes
    ):
        return None
    name = nodes[0].name.value
    key = get_field_entry_key(nodes[0])
    if name == "__typename":
        typename = parent_type.name
        return _Plan(lambda _source, _path, _context: typename, needs_path=False)
    field = schema.get_field(parent_type, name)
    if field is None or name.startswith("__") or field.args:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        or definition.extensions
        or type(definition).get_result is not StrawberryField.get_result
    ):
        return None  # field extensions (permissions among them) need strawberry's path
    if definition.is_basic_field:
        # Strawberry's resolver of a basic field reads the attribute and takes no info; any
        # other (one that handles exceptions, say) needs the full path.
        if getattr(field.resolve, "__name__", None) != "_get_basic_result":
            return None
        nullable = not isinstance(field.type, GraphQLNonNull)
        named = field.type if nullable else field.type.of_type  # type: ignore[union-attr]
        if definition.default_resolver is getattr and is_leaf_type(named):
            return _leaf_attribute_plan(definition, named, nullable=nullable)
    relay_id = _relay_id_plan(parent_type, field, definition)
    if relay_id is not None:
        return relay_id
    complete, complete_needs_path = _completer(context, field.type, details)
    if complete is None:
        return None
    # As a field of its own, a list of objects may be completed in chunks.
    top = complete.in_chunks if isinstance(complete, _ObjectList) else None

    def plan_with(completion: Complete) -> _Plan | None:
        if definition.is_basic_field:
            return _attribute_plan(
                definition, completion, key, parent_type.name, complete_needs_path
            )
        return _resolver_plan(
            context, parent_type, field, definition, nodes, completion, complete_needs_path
        )

    plan = plan_with(complete)
    chunked = plan_with(top) if top is not None and plan is not None else None
    if plan is not None and chunked is not None:
        plan.top = chunked.run
    return plan


def _relay_id_plan(
    parent_type: GraphQLObjectType, field: GraphQLField, definition: StrawberryField
) -> _Plan | None:
    """A relay node's `id` as strawberry's own resolver answers it (its type's name and its
    `NodeID` attribute, in base64), where the node's class resolves both the default way."""
    resolver = definition.base_resolver
    wrapped = getattr(resolver, "wrapped_func", None)
    origin = getattr(
        (parent_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF), "origin", None
    )
    if (
        getattr(wrapped, "__func__", None) is not _NODE_ID_RESOLVER
        or getattr(field.resolve, "__name__", None) != "_resolver"
        or not isinstance(field.type, GraphQLNonNull)
        or field.type.of_type is not GraphQLID
        or not isinstance(origin, type)
        or not issubclass(origin, relay.Node)
        or getattr(origin.resolve_id, "__func__", None) is not _NODE_RESOLVE_ID
        or getattr(origin.resolve_typename, "__func__", None) is not _NODE_RESOLVE_TYPENAME
    ):
        return None
    attribute = origin.resolve_id_attr()
    typename = parent_type.name

    def run(source: Any, _path: Path | None, _context: LeanExecutionContext) -> Any:
        if type(source) is not origin:
            raise _Unanswered
        node_id = getattr(source, attribute)
        if node_id is None or isawaitable(node_id):
            raise _Unanswered
        return to_base64(typename, str(node_id))

    return _Plan(run, needs_path=False)


# Strawberry's own resolvers of a relay node's id, which `_relay_id_plan` answers in place.
_NODE_ID_RESOLVER: Any = vars(relay.Node)["_id"].__func__
_NODE_RESOLVE_ID: Any = vars(relay.Node)["resolve_id"].__func__
_NODE_RESOLVE_TYPENAME: Any = vars(relay.Node)["resolve_typename"].__func__


def _leaf_attribute_plan(
    definition: StrawberryField, leaf: GraphQLLeafType, *, nullable: bool
) -> _Plan:
    """The most common field of all: an attribute that is a scalar or an enum."""
    attribute = definition.python_name
    serialize = _serializer(leaf)

    def run(source: Any, _path: Path | None, _context: LeanExecutionContext) -> Any:
        value = getattr(source, attribute)
        if value is None:
            if nullable:
                return None
            raise _Unanswered
        return serialize(value)

    return _Plan(run, needs_path=False)


def _attribute_plan(
    definition: StrawberryField,
    complete: Complete,
    key: str,
    parent_name: str,
    needs_path: bool,
) -> _Plan:
    attribute = definition.python_name
    read = definition.default_resolver
    if not needs_path and read is getattr:

        def run(source: Any, _path: Path | None, context: LeanExecutionContext) -> Any:
            return complete(getattr(source, attribute), None, context)

        return _Plan(run, needs_path=False)

    def run_at(source: Any, path: Path | None, context: LeanExecutionContext) -> Any:
        here = Path(path, key, parent_name) if needs_path else None
        return complete(read(source, attribute), here, context)

    return _Plan(run_at, needs_path=needs_path)


def _resolver_plan(
    context: LeanExecutionContext,
    parent_type: GraphQLObjectType,
    field: GraphQLField,
    definition: StrawberryField,
    nodes: list[Any],
    complete: Complete,
    complete_needs_path: bool,
) -> _Plan | None:
    """A resolver that takes no arguments, only its object and perhaps `info`, called with
    what strawberry's own wrapper would give it."""
    resolver = definition.base_resolver
    strawberry_schema = getattr(context.schema, "_strawberry_schema", None)
    if (
        resolver is None
        or definition.is_async
        or definition.arguments
        or getattr(field.resolve, "__name__", None) != "_resolver"
        or strawberry_schema is None
        or strawberry_schema.exception_handlers
    ):
        return None
    info_class = strawberry_schema.config.info_class
    takes_self = resolver.self_parameter is not None
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    get_result = definition.get_result
    # What strawberry's wrapper calls in the end, unless a subclass changed how.
    wrapped = resolver.wrapped_func
    call: Callable[..., Any] | None = (
        wrapped
        if callable(wrapped) and type(resolver).__call__ is StrawberryResolver.__call__
        else None
    )
    key = get_field_entry_key(nodes[0])
    parent_name = parent_type.name
    needs_path = complete_needs_path or info_name is not None

    def run(source: Any, path: Path | None, context: LeanExecutionContext) -> Any:
        here = Path(path, key, parent_name) if needs_path else None
        kwargs = dict.fromkeys(sources, source) if sources else {}
        info = None
        if info_name is not None:
            # One info a plan and execution, its path set for each call: a resolver called
            # in place runs to its end before the next call (one that returns an awaitable is
            # called again by graphql-core, with an info of its own).
            infos = context.infos
            info = infos.get(run) if infos is not None else None
            if info is None:
                raw = _ResolveInfo(context, field, nodes, parent_type, here)
                info = info_class(_raw_info=raw, _field=definition)
                if infos is not None:
                    infos[run] = info
            else:
                info._raw_info.moved_to(here)
            kwargs[info_name] = info
        if call is None:
            value = get_result(source, info, [source] if takes_self else [], kwargs)
        elif takes_self:
            value = call(source, **kwargs)
        else:
            value = call(**kwargs)
        if context.is_awaitable(value):
            if iscoroutine(value):
                value.close()  # graphql-core calls the resolver again and awaits its own
            raise _Unanswered
        return complete(value, here, context)

    return _Plan(run, needs_path=needs_path)


class _ResolveInfo:
    """A field's resolve info as a plan gives it to a resolver: what resolvers read most (the
    context, the operation, the path) at once, the rest built as graphql-core's on first use."""

    __slots__ = (
        "_execution",
        "_field",
        "_full",
        "_nodes",
        "_parent",
        "context",
        "operation",
        "path",
    )

    def __init__(
        self,
        execution: "LeanExecutionContext",
        field: GraphQLField,
        nodes: list[Any],
        parent: GraphQLObjectType,
        path: Path | None,
    ) -> None:
        self._execution, self._field, self._nodes, self._parent = execution, field, nodes, parent
        self.context = execution.context_value
        self.operation = execution.operation
        self.path = path
        self._full: GraphQLResolveInfo[Any] | None = None

    def moved_to(self, path: Path | None) -> None:
        """The same field's info at another place."""
        self.path = path
        self._full = None

    def __getattr__(self, name: str) -> Any:
        # Reached only for what is not set above: the rest, built as graphql-core's, once.
        if name in _ResolveInfo.__slots__:
            raise AttributeError(name)
        full = self._full
        if full is None:
            full = self._full = self._execution.build_resolve_info(
                self._field,
                self._nodes,
                self._parent,
                self.path,  # type: ignore[arg-type]
            )
        return getattr(full, name)


def _completer(
    context: LeanExecutionContext, kind: GraphQLOutputType, details: FieldDetailsList
) -> tuple[Complete | None, bool]:
    """How to complete a value of `kind` (a leaf, a concrete object, or a list of either),
    and whether that needs the field's path."""
    nullable = not isinstance(kind, GraphQLNonNull)
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, GraphQLList):
        return _list_completer(context, kind.of_type, details, nullable=nullable)
    if is_leaf_type(kind):
        serialize = _serializer(kind)

        def complete_leaf(value: Any, _path: Path | None, _context: LeanExecutionContext) -> Any:
            if value is None:
                if nullable:
                    return None
                raise _Unanswered
            return serialize(value)

        return complete_leaf, False
    return _object_completer(context, kind, details, nullable=nullable)


def _list_completer(
    context: LeanExecutionContext,
    item: GraphQLOutputType,
    details: FieldDetailsList,
    *,
    nullable: bool,
) -> tuple[Complete | None, bool]:
    """How to complete a list of leaves or of concrete objects."""
    nullable_items = not isinstance(item, GraphQLNonNull)
    if isinstance(item, GraphQLNonNull):
        item = item.of_type
    if isinstance(item, GraphQLList):
        return None, False
    if is_leaf_type(item):
        serialize = _serializer(item)

        def complete_leaves(value: Any, _path: Path | None, _context: LeanExecutionContext) -> Any:
            if value is None:
                if nullable:
                    return None
                raise _Unanswered
            if type(value) is not list and type(value) is not tuple:
                raise _Unanswered  # an iterable of another kind, or an awaitable
            completed: list[Any] = []
            append = completed.append
            for one in value:
                if one is None:
                    if not nullable_items:
                        raise _Unanswered
                    append(None)
                else:
                    append(serialize(one))
            return completed

        return complete_leaves, False
    each, needs_path = _object_completer(context, item, details, nullable=False)
    if each is None:
        return None, False
    return _ObjectList(
        each, nullable=nullable, nullable_items=nullable_items, needs_path=needs_path
    ), needs_path


class _ObjectList:
    """The completion of a list of objects: at once, or (`in_chunks`) a long list a chunk at a
    time with a turn of the event loop in between."""

    __slots__ = ("each", "needs_path", "nullable", "nullable_items")

    def __init__(
        self, each: Complete, *, nullable: bool, nullable_items: bool, needs_path: bool
    ) -> None:
        self.each = each
        self.nullable = nullable
        self.nullable_items = nullable_items
        self.needs_path = needs_path

    def __call__(self, value: Any, path: Path | None, context: "LeanExecutionContext") -> Any:
        if value is None:
            if self.nullable:
                return None
            raise _Unanswered
        if type(value) is not list and type(value) is not tuple:
            raise _Unanswered
        completed: list[Any] = []
        self._complete(value, 0, len(value), path, context, completed)
        return completed

    def in_chunks(self, value: Any, path: Path | None, context: "LeanExecutionContext") -> Any:
        """As a call, but a list longer than `LIST_CHUNK` is completed by a coroutine."""
        if value is None or type(value) not in (list, tuple) or len(value) <= LIST_CHUNK:
            return self(value, path, context)
        return self._chunks(value, path, context)

    async def _chunks(self, value: Any, path: Path | None, context: "LeanExecutionContext") -> Any:
        completed: list[Any] = []
        for start in range(0, len(value), LIST_CHUNK):
            if start:
                await asyncio.sleep(0)
            self._complete(
                value, start, min(start + LIST_CHUNK, len(value)), path, context, completed
            )
        return completed

    def _complete(
        self,
        value: Any,
        start: int,
        stop: int,
        path: Path | None,
        context: "LeanExecutionContext",
        completed: list[Any],
    ) -> None:
        each, needs_path, append = self.each, self.needs_path, completed.append
        for index in range(start, stop):
            one = value[index]
            if one is None:
                if not self.nullable_items:
                    raise _Unanswered
                append(None)
            else:
                append(each(one, Path(path, index, None) if needs_path else None, context))


def _object_completer(
    context: LeanExecutionContext,
    kind: GraphQLOutputType,
    details: FieldDetailsList,
    *,
    nullable: bool,
) -> tuple[Complete | None, bool]:
    """How to complete a value of a concrete object type: its selection, field by field."""
    if not isinstance(kind, GraphQLObjectType):
        return None, False  # an interface or a union: graphql-core resolves the type
    is_type_of = kind.is_type_of
    if is_type_of is not None and "GraphQLCoreConverter" not in is_type_of.__qualname__:
        return None, False  # only strawberry's own check is known to ignore `info`
    if _has_directives(context, details):
        return None, False
    collected = collect_subfields(
        context.schema,
        context.fragments,
        context.variable_values,
        context.operation,
        kind,
        details,
        context.hide_suggestions,
    )
    if collected.new_defer_usages or collected.forbidden_directive_instances:
        return None, False
    entries: list[tuple[str, Run]] = []
    needs_path = False
    for key, below in collected.grouped_field_set.items():
        plan = _field_plan(context, kind, below)
        if plan is None:
            return None, False
        entries.append((key, plan.run))
        needs_path = needs_path or plan.needs_path
    # An instance of the type's own class is neither an error nor an awaitable: graphql-core
    # would complete it as it is.
    definition = (kind.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if (
        not isinstance(origin, type)
        or issubclass(origin, Exception)
        or hasattr(origin, "__await__")
    ):
        origin = None

    def complete_object(value: Any, path: Path | None, context: LeanExecutionContext) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Unanswered
        if is_type_of is not None:
            if not is_type_of(value, None):  # type: ignore[arg-type]  # it ignores info
                raise _Unanswered
        elif type(value) is not origin and (
            isinstance(value, Exception) or context.is_awaitable(value)
        ):
            raise _Unanswered
        return {key: run(value, path, context) for key, run in entries}

    if needs_path:
        return complete_object, needs_path
    slot = next(_completions)

    def complete_once(value: Any, path: Path | None, context: LeanExecutionContext) -> Any:
        completed = context.completed
        if completed is None or value is None:
            return complete_object(value, path, context)
        key = (slot, id(value))
        known = completed.get(key)
        # The object is kept with its answer: an id is only unique among objects alive at once.
        if known is not None and known[0] is value:
            return known[1]
        answer = complete_object(value, path, context)
        completed[key] = (value, answer)
        return answer

    return complete_once, needs_path


# Numbers the object completions, for `LeanExecutionContext.completed`.
_completions = itertools.count()


def _has_directives(context: LeanExecutionContext, details: FieldDetailsList) -> bool:
    """Whether the selections below these fields, through fragments, carry a directive (which
    may depend on variables, or defer)."""
    pending: list[SelectionSetNode] = [
        d.node.selection_set for d in details if d.node.selection_set
    ]
    while pending:
        for selection in pending.pop().selections:
            if selection.directives:
                return True
            if isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = context.fragments.get(selection.name.value)
                if fragment is None or fragment.definition.directives:
                    return True
                pending.append(fragment.definition.selection_set)
    return False


def _serializer(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    """The leaf type's serialization of a value, not null; the common Python types of the
    built-in scalars and strawberry's enum members are answered without the type's checks,
    with the very value the type would give."""
    coerce = leaf.coerce_output_value

    def checked(value: Any) -> Any:
        if isinstance(value, Exception) or isawaitable(value):
            raise _Unanswered
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Unanswered
        return coerced

    if leaf is GraphQLString or leaf is GraphQLID:
        return lambda value: value if type(value) is str else checked(value)
    if leaf is GraphQLInt:
        return lambda value: (
            value
            if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
            else checked(value)
        )
    if leaf is GraphQLBoolean:
        return lambda value: value if type(value) is bool else checked(value)
    if leaf is GraphQLFloat:
        return lambda value: value if type(value) is float and isfinite(value) else checked(value)
    if isinstance(leaf, CustomGraphQLEnumType):
        members = leaf.wrapped_cls
        names: dict[Any, Any] = {}

        def enum_name(value: Any) -> Any:
            if type(value) is not members:
                return checked(value)
            name = names.get(value)
            if name is None:
                name = names[value] = checked(value)
            return name

        return enum_name

    def plain(value: Any) -> Any:
        # A value of a plain type is neither an error nor an awaitable.
        if type(value) not in _PLAIN_TYPES:
            return checked(value)
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Unanswered
        return coerced

    return plain


# The exact types of the values that custom scalars (dates, decimals, JSON) commonly serialize.
_PLAIN_TYPES = frozenset({str, int, float, bool, Decimal, datetime, date, time, UUID, dict, list})
