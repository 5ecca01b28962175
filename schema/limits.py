"""Query cost: computed from the document before execution, capped, and reported."""

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

DEFAULT_PAGE_SIZE = 20
PER_NODE = {"edges", "nodes"}


class QueryCost(SchemaExtension):
    """Each field costs 1; a connection's `edges` and `nodes` count once per node of its page.

    A query whose cost exceeds `max_cost` is refused before it runs; every answer reports its
    cost in `extensions.cost`. A `budget` is handed the request's context and the cost, and may
    refuse the query (the caller's rate limit) with an error of its own."""

    def __init__(
        self, *, max_cost: int, budget: Callable[[Any, int], GraphQLError | None] | None = None
    ) -> None:
        self.max_cost = max_cost
        self.budget = budget
        self.cost: int | None = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            self.cost = document_cost(
                context.schema._schema,
                document.definitions,
                context.operation_name,
                context.variables or {},
            )
            if self.cost > self.max_cost:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"the query costs {self.cost}, more than the {self.max_cost} allowed; "
                        "ask for smaller pages (first/last) or fewer nested lists",
                        extensions={
                            "code": "QUERY_TOO_EXPENSIVE",
                            "cost": self.cost,
                            "maxCost": self.max_cost,
                        },
                    )
                ]
            elif self.budget is not None:
                refusal = self.budget(context.context, self.cost)
                if refusal is not None:
                    context.pre_execution_errors = [refusal]
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "maximum": self.max_cost}}


def document_cost(
    schema: GraphQLSchema,
    definitions: Any,
    operation_name: str | None,
    variables: dict[str, Any],
) -> int:
    """The cost of the operation to be run."""
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name is not None and o.name.value == operation_name)
        ),
        None,
    )
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _selection_cost(schema, root, operation.selection_set, fragments, variables)


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in {"first", "last"}:
            value = argument.value
            raw = (
                variables.get(value.name.value)
                if isinstance(value, VariableNode)
                else value_from_ast_untyped(value, variables)
            )
            if isinstance(raw, int):
                return max(raw, 0)
    return DEFAULT_PAGE_SIZE


def _selection_cost(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    page_size: int | None = None,
) -> int:
    """Cost of a selection; inside a connection, `edges` and `nodes` count once per node."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            fields = getattr(parent, "fields", {})
            field = fields.get(name)
            child = get_named_type(field.type) if field is not None else parent
            size = _page_size(selection, variables) if child.name.endswith("Connection") else None
            cost = 1 + _selection_cost(
                schema, child, selection.selection_set, fragments, variables, size
            )
            total += cost * page_size if page_size is not None and name in PER_NODE else cost
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            total += _selection_cost(
                schema, target or parent, selection.selection_set, fragments, variables, page_size
            )
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                target = schema.get_type(fragment.type_condition.name.value)
                total += _selection_cost(
                    schema,
                    target or parent,
                    fragment.selection_set,
                    fragments,
                    variables,
                    page_size,
                )
    return total
