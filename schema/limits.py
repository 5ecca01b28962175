"""Query depth, aliases and cost: measured from the document during validation, capped, reported.

Each fragment is measured once, after the fragments it spreads, so a document whose fragments
spread each other many times over costs no more to measure than to read; a fragment that spreads
itself, directly or not, is left to graphql-core's `NoFragmentCyclesRule` to refuse."""

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from weakref import WeakKeyDictionary

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    StringValueNode,
    TypeMetaFieldDef,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)
from graphql.validation import validation_context
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension, ValidationCache

from app.core.text import unstorable_character

DEFAULT_PAGE_SIZE = 20
PER_NODE = {"edges", "nodes"}
INTROSPECTION_ROOTS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
# Measures saturate here: a document that would cost more is refused all the same, and the
# numbers stay small however many times its fragments multiply.
CEILING = 10**12
# graphql-core's own bounds on validation work (field comparisons, fragment spreads), lowered so
# that validating any document the token limit lets through takes milliseconds, not a second.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 20_000
validation_context.MAX_FRAGMENT_WORK = 5_000


@dataclass(frozen=True)
class Measure:
    """What a selection set asks for.

    Its cost is `fixed + per_node * page size` inside a connection (`per_node` counts the
    `edges` and `nodes` fields, once per node of the page) and `fixed + per_node` elsewhere.
    The depth of introspection (`__schema`, `__type`) is measured apart: the standard
    introspection query nests deeper than any query of the data needs to."""

    fixed: int = 0
    per_node: int = 0
    depth: int = 0
    aliases: int = 0
    introspection_depth: int = 0
    # How many times `__schema` is selected, and the part of the cost that introspection makes.
    schemas: int = 0
    introspection: int = 0

    def __add__(self, other: "Measure") -> "Measure":
        return Measure(
            min(self.fixed + other.fixed, CEILING),
            min(self.per_node + other.per_node, CEILING),
            max(self.depth, other.depth),
            min(self.aliases + other.aliases, CEILING),
            max(self.introspection_depth, other.introspection_depth),
            min(self.schemas + other.schemas, CEILING),
            min(self.introspection + other.introspection, CEILING),
        )

    def cost(self, page_size: int | None) -> int:
        """The cost of the selection set inside a page of `page_size` nodes (or outside one)."""
        return min(self.fixed + self.per_node * (1 if page_size is None else page_size), CEILING)


_SIZES: "WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], Fraction]]" = WeakKeyDictionary()


def introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], Fraction]:
    """How many items each list field of the introspection types holds in `schema`, on average
    over the objects that have the field: (`__Type`, `fields`) is the number of fields of all
    types over the number of types, so that `types { fields }` costs every field once."""
    sizes = _SIZES.get(schema)
    if sizes is not None:
        return sizes
    types = list(schema.type_map.values())
    with_fields = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [f for t in with_fields for f in t.fields.values()]
    abstract = [t for t in types if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)]
    directives = list(schema.directives)

    def ratio(items: int, over: int) -> Fraction:
        return Fraction(items, max(over, 1))

    sizes = {
        ("__Schema", "types"): ratio(len(types), 1),
        ("__Schema", "directives"): ratio(len(directives), 1),
        ("__Type", "fields"): ratio(len(fields), len(types)),
        ("__Type", "interfaces"): ratio(sum(len(t.interfaces) for t in with_fields), len(types)),
        ("__Type", "possibleTypes"): ratio(
            sum(len(schema.get_possible_types(t)) for t in abstract), len(types)
        ),
        ("__Type", "enumValues"): ratio(
            sum(len(t.values) for t in types if isinstance(t, GraphQLEnumType)), len(types)
        ),
        ("__Type", "inputFields"): ratio(
            sum(len(t.fields) for t in types if isinstance(t, GraphQLInputObjectType)),
            len(types),
        ),
        ("__Field", "args"): ratio(sum(len(f.args) for f in fields), len(fields)),
        ("__Directive", "args"): ratio(sum(len(d.args) for d in directives), len(directives)),
    }
    _SIZES[schema] = sizes
    return sizes


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in {"first", "last"}:
            value = argument.value
            raw = (
                variables.get(value.name.value)
                if isinstance(value, VariableNode)
                else value_from_ast_untyped(value, variables)
            )
            if isinstance(raw, int) and not isinstance(raw, bool):
                return max(raw, 0)
    return DEFAULT_PAGE_SIZE


def _sized_by_variables(node: FieldNode) -> bool:
    """Whether the page size that a connection field asks for may come from the variables."""
    return any(
        argument.name.value in {"first", "last"}
        and isinstance(argument.value, VariableNode | ListValueNode | ObjectValueNode)
        for argument in node.arguments or ()
    )


def _spreads(selection_set: SelectionSetNode | None) -> Iterator[str]:
    """Names of the fragments a selection set spreads, at any nesting."""
    pending = [selection_set] if selection_set is not None else []
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)


def _acyclic_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Fragments each after those it spreads; fragments on a cycle, or that reach one, are left
    out (and unknown spreads ignored): validation refuses such documents anyway."""
    ordered: list[str] = []
    state: dict[str, str] = {}  # "open" while its spreads are being visited, then "done"/"bad"
    for start in fragments:
        if start in state:
            continue
        stack = [(start, iter(sorted(set(_spreads(fragments[start].selection_set)))))]
        state[start] = "open"
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if state[name] == "open":
                    state[name] = "done"
                    ordered.append(name)
                continue
            if child not in fragments:
                continue
            if state.get(child) == "open" or state.get(child) == "bad":
                for open_name, _ in stack:
                    state[open_name] = "bad"
            elif child not in state:
                state[child] = "open"
                stack.append((child, iter(sorted(set(_spreads(fragments[child].selection_set))))))
    return ordered


class Measurer:
    """Measures the selection sets of one document, each fragment once."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.variables = variables
        # Whether a page size came from the variables: only a measure that read none of them
        # holds for every request with the same document.
        self.paged = False
        self.sizes = introspection_sizes(schema)
        self.fragments: dict[str, Measure] = {}
        for name in _acyclic_order(fragments):
            fragment = fragments[name]
            target = schema.get_type(fragment.type_condition.name.value)
            self.fragments[name] = self.measure(target, fragment.selection_set)

    def measure(self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode) -> Measure:
        """The measure of a selection set on `parent` (None when the type is unknown)."""
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.measure(target, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragments.get(selection.name.value, Measure())
        return total

    def _field(self, parent: GraphQLNamedType | None, node: FieldNode) -> Measure:
        name = node.name.value
        aliases = 1 if node.alias is not None else 0
        if name == "__typename":
            return Measure(aliases=aliases)
        if name in INTROSPECTION_ROOTS:
            return self._introspection_root(node, aliases)
        field = getattr(parent, "fields", {}).get(name)
        child = get_named_type(field.type) if field is not None else None
        inner = Measure()
        if node.selection_set is not None:
            inner = self.measure(child, node.selection_set)
        if parent is not None and parent.name.startswith("__"):
            cost = self._introspection_cost(parent.name, name, child, inner)
        else:
            page_size = None
            if child is not None and child.name.endswith("Connection"):
                self.paged = self.paged or _sized_by_variables(node)
                page_size = _page_size(node, self.variables)
            cost = min(1 + inner.cost(page_size), CEILING)
        per_node = name in PER_NODE
        return Measure(
            fixed=0 if per_node else cost,
            per_node=cost if per_node else 0,
            depth=inner.depth + 1 if node.selection_set is not None else 0,
            aliases=min(aliases + inner.aliases, CEILING),
            introspection_depth=inner.introspection_depth,
            schemas=inner.schemas,
            introspection=inner.introspection,
        )

    def _introspection_root(self, node: FieldNode, aliases: int) -> Measure:
        # `__schema` and `__type` cost as any field; their depth counts towards a bound of its own.
        target = INTROSPECTION_ROOTS[node.name.value].type
        inner = Measure()
        if node.selection_set is not None:
            inner = self.measure(get_named_type(target), node.selection_set)
        cost = min(1 + inner.cost(None), CEILING)
        return Measure(
            fixed=cost,
            aliases=min(aliases + inner.aliases, CEILING),
            introspection_depth=max(inner.depth, inner.introspection_depth) + 1,
            schemas=min(inner.schemas + (node.name.value == "__schema"), CEILING),
            introspection=cost,
        )

    def _introspection_cost(
        self, parent: str, name: str, child: GraphQLNamedType | None, inner: Measure
    ) -> int:
        # Names and descriptions are read from the schema in memory: free. Each object costs 1,
        # and a list holds as many objects as the schema really has (`types`: every type).
        if child is None or is_leaf_type(child):
            return 0
        size = self.sizes.get((parent, name))
        if size is None:
            return min(1 + inner.cost(None), CEILING)
        return min(1 + math.ceil(size * (1 + inner.cost(None))), CEILING)


def _operation(
    definitions: Any, operation_name: str | None
) -> tuple[OperationDefinitionNode | None, dict[str, FragmentDefinitionNode]]:
    fragments: dict[str, FragmentDefinitionNode] = {}
    operation = None
    for definition in definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
        elif isinstance(definition, OperationDefinitionNode) and operation is None:
            name = definition.name.value if definition.name else None
            if operation_name is None or name == operation_name:
                operation = definition
    return operation, fragments


# Measures that hold whatever the variables, by document: clients send the same few documents
# over and over (the parser cache hands out the same document object for the same text).
_MEASURED: LRUCache[tuple[int, int, str | None], tuple[GraphQLSchema, DocumentNode, Measure]] = (
    LRUCache(maxsize=256)
)


def measure_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any],
) -> tuple[Measure, int]:
    """The measure and the cost of the operation to be run; kept for the next request with
    the same document when it reads no page size."""
    key = (id(schema), id(document), operation_name)
    kept = _MEASURED.get(key)
    if kept is not None and kept[0] is schema and kept[1] is document:
        return kept[2], kept[2].cost(None)
    operation, fragments = _operation(document.definitions, operation_name)
    if operation is None:
        return Measure(), 0
    measurer = Measurer(schema, fragments, variables)
    measure = measurer.measure(schema.get_root_type(operation.operation), operation.selection_set)
    if not measurer.paged:
        # The document is kept with its measure: its id cannot name another one meanwhile.
        _MEASURED[key] = (schema, document, measure)
    return measure, measure.cost(None)


def _unfit_variable(variables: dict[str, Any], max_chars: int) -> str | None:
    """Why a string among the variables is not accepted (too long, or with a character no
    database stores), if one is.

    HTTP bodies are checked before they reach the schema; this covers subscriptions too."""
    pending: list[tuple[str, Any]] = [(f"${name}", value) for name, value in variables.items()]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            if len(value) > max_chars:
                return f"variable {where}: a string longer than {max_chars} characters"
            character = unstorable_character(value)
            if character is not None:
                return f"variable {where}: a string holding {character}"
        elif isinstance(value, dict):
            pending.extend((f"{where}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
    return None


def _fragment_usage(document: DocumentNode) -> tuple[int, int]:
    """How many fragments a document defines, and how many times it spreads one."""
    defined = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
    spread = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            spread += sum(1 for _ in _spreads(definition.selection_set))
    return defined, spread


@functools.cache
def string_rule(max_chars: int) -> type[ValidationRule]:
    """The validation rule that refuses unfit string literals; one class per bound, so that a
    validation cache keyed by the rules finds it again."""

    class StringLiteralRule(ValidationRule):
        def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
            # Text the database cannot store, or too long to be anything a field accepts.
            problem = None
            if len(node.value) > max_chars:
                problem = f"longer than {max_chars} characters"
            elif (character := unstorable_character(node.value)) is not None:
                problem = f"holding {character}"
            if problem is not None:
                self.report_error(
                    GraphQLError(
                        f"a string {problem} is not accepted",
                        node,
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                )

    return StringLiteralRule


class QueryLimits(SchemaExtension):
    """The safety limits of the native schema, all checked before anything runs.

    Refused: a document longer than `max_query_chars`; one that defines more than
    `max_fragments` fragments or spreads them more than `max_spreads` times; an operation deeper
    than `max_depth` fields, with more than `max_aliases` aliases or costing more than
    `max_cost`; introspection nested deeper than `max_introspection_depth`, or `__schema`
    selected more than once; a string (literal or variable) longer than `max_string_chars` or
    holding a character no database stores (NUL, a lone surrogate).
    Each field costs 1; a connection's `edges` and `nodes` count once per node of its page;
    each introspection object costs 1, and its lists as many as the schema holds.
    Every answer reports the cost in `extensions.cost`. A `budget` is handed the request's
    context and the cost of an operation within the limits, introspection excepted, and may
    refuse it (the caller's rate limit) with an error of its own."""

    def __init__(
        self,
        *,
        max_depth: int,
        max_aliases: int,
        max_cost: int,
        max_fragments: int,
        max_spreads: int,
        max_query_chars: int,
        max_string_chars: int,
        max_introspection_depth: int | None = None,
        budget: Callable[[Any, int], GraphQLError | None] | None = None,
    ) -> None:
        self.max_depth = max_depth
        self.max_introspection_depth = (
            max_depth if max_introspection_depth is None else max_introspection_depth
        )
        self.max_aliases = max_aliases
        self.max_cost = max_cost
        self.max_fragments = max_fragments
        self.max_spreads = max_spreads
        self.max_query_chars = max_query_chars
        self.max_string_chars = max_string_chars
        self.budget = budget
        self.cost: int | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, string_rule(self.max_string_chars))
        yield

    def on_parse(self) -> Iterator[None]:
        # Reading a document costs time in proportion to its length, even when it is one string.
        query = self.execution_context.query
        if query is not None and len(query) > self.max_query_chars:
            raise GraphQLError(
                f"the document is {len(query)} characters long. Allowed: {self.max_query_chars}",
                extensions={"code": "QUERY_TOO_LONG"},
            )
        yield

    def on_validate(self) -> Iterator[None]:
        # Validation compares fragments pairwise and follows every spread: the number of both
        # is bounded before it starts (counting them is cheap and recurses over nothing).
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            defined, spread = _fragment_usage(document)
            refusals = []
            if defined > self.max_fragments:
                refusals.append(f"{defined} fragments defined. Allowed: {self.max_fragments}")
            if spread > self.max_spreads:
                refusals.append(f"{spread} fragment spreads found. Allowed: {self.max_spreads}")
            if refusals:
                context.pre_execution_errors = [
                    GraphQLError(message, extensions={"code": "TOO_MANY_FRAGMENTS"})
                    for message in refusals
                ]
            else:
                # Depth, aliases and cost are known before validation, whose pairwise comparison
                # of same-named fields would take longest on the very documents refused here.
                refused = self.check(context.schema._schema, document)
                if refused:
                    context.pre_execution_errors = refused
        yield
        # graphql-core gives up on a document that needs too much work with a bare "Validation
        # aborted."; the list is the one strawberry answers with, so it is reworded in place.
        errors = context.pre_execution_errors or []
        for index, error in enumerate(errors):
            if isinstance(error, ValidationAbortedError):
                errors[index] = GraphQLError(
                    "the document is too complex to validate: select fewer fields of the same "
                    "name in one place, or use fewer fragments",
                    extensions={"code": "QUERY_TOO_COMPLEX"},
                )

    def check(self, schema: GraphQLSchema, document: Any) -> list[GraphQLError]:
        """The refusals that the operation to be run earns."""
        context = self.execution_context
        name = context.operation_name
        measure, self.cost = measure_document(schema, document, name, context.variables or {})
        errors = []
        unfit = _unfit_variable(context.variables or {}, self.max_string_chars)
        if unfit is not None:
            errors.append(GraphQLError(unfit, extensions={"code": "BAD_USER_INPUT"}))
        if measure.depth > self.max_depth:
            errors.append(
                GraphQLError(
                    f"'{name or 'anonymous'}' exceeds maximum operation depth of {self.max_depth}"
                )
            )
        if measure.introspection_depth > self.max_introspection_depth:
            errors.append(
                GraphQLError(
                    f"'{name or 'anonymous'}' exceeds maximum introspection depth of "
                    f"{self.max_introspection_depth}"
                )
            )
        if measure.aliases > self.max_aliases:
            errors.append(
                GraphQLError(f"{measure.aliases} aliases found. Allowed: {self.max_aliases}")
            )
        if self.cost > self.max_cost:
            errors.append(
                GraphQLError(
                    f"the query costs {self.cost}, more than the {self.max_cost} allowed; "
                    "ask for smaller pages (first/last) or fewer nested lists",
                    extensions={
                        "code": "QUERY_TOO_EXPENSIVE",
                        "cost": self.cost,
                        "maxCost": self.max_cost,
                    },
                )
            )
        if measure.schemas > 1:
            errors.append(
                GraphQLError(
                    f"__schema is selected {measure.schemas} times; an operation may select it "
                    "once",
                    extensions={"code": "QUERY_TOO_EXPENSIVE"},
                )
            )
        if not errors and self.budget is not None:
            # Introspection is answered from memory and bounded by the limits above: the
            # caller's budget pays for the data alone, so that GraphiQL can load the schema.
            refusal = self.budget(context.context, max(self.cost - measure.introspection, 0))
            if refusal is not None:
                errors.append(refusal)
        return errors

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "maximum": self.max_cost}}


# Validation answers by document, schema and rules, each kept with the document and schema it
# is for (see `CheckedValidationCache`).
_validated: LRUCache[tuple[int, int, tuple[Any, ...]], tuple[Any, Any, list[GraphQLError]]] = (
    LRUCache(maxsize=1024)
)


class CheckedValidationCache(ValidationCache):
    """strawberry's validation cache, consulted only for documents that the checks before it
    (refused keys, the limits) let through, so that it never answers over their refusals.

    The parser cache answers a query text with the same document object each time, so a
    document is known here by its identity first: the validation cache's own key hashes the
    whole tree, node by node, on every request. An answer is kept with its document, whose id
    is then not reused by another while it is kept."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None:
            schema, document = context.schema._schema, context.graphql_document
            rules = context.validation_rules
            key = (id(document), id(schema), rules)
            known = _validated.get(key)
            if known is not None and known[0] is document and known[1] is schema:
                errors = known[2]
            else:
                errors = self.cached_validate_document(schema, document, rules)
                _validated[key] = (document, schema, errors)
            # The cached list serves every request with this document; each gets its own copy.
            context.pre_execution_errors = list(errors)
        yield
