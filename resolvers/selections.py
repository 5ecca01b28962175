"""What a query selects below a field: lets a resolver read ahead what execution will ask for."""

from collections.abc import Collection, Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def fields_of(
    selections: Iterable[Selection], on: Collection[str] | None = None
) -> dict[str, list[SelectedField]]:
    """The selected fields by name, fragments flattened; with `on`, only fragments whose type
    condition is one of those names (or that have none)."""
    found: dict[str, list[SelectedField]] = {}
    pending = list(selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):
            found.setdefault(selection.name, []).append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment) and (
            on is None or selection.type_condition in (None, *on)
        ):
            pending.extend(selection.selections)
    return found


def below(fields: Iterable[Selection]) -> list[Selection]:
    """The selections under each of these (the occurrences of one field)."""
    return [selection for field in fields for selection in field.selections]


def connection_nodes(fields: Iterable[Selection]) -> list[Selection]:
    """What a connection field's selections ask of its nodes, through `nodes` and
    `edges { node }`."""
    connection = fields_of(below(fields))
    edges = fields_of(below(connection.get("edges", [])))
    return below(connection.get("nodes", [])) + below(edges.get("node", []))
