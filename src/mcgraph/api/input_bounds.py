"""Bounds on the size of what a request hands the server: lists and strings in arguments.

One check for every query and mutation, before anything runs (no resolver, no query):
each argument is walked along its declared type, literals in the document and variables
alike, and

* a list holds at most ``MCGRAPH_MAX_LIST_ITEMS`` items (ids, steps, updates...), or
  fewer where :data:`LIST_BOUNDS` says so (``labels``: 100); a list written in the
  document itself is bounded by ``MCGRAPH_MAX_TOKENS`` already, and only by
  :data:`LIST_BOUNDS` here;
* a string has at most ``MCGRAPH_MAX_STRING_LENGTH`` characters (descriptions,
  instructions, comment bodies...), or fewer where :data:`STRING_BOUNDS` says so (names,
  titles, keys, e-mails: 1,000).

A request past a bound gets one BAD_USER_INPUT error naming the argument's path and the
limit (``extensions.field`` and ``extensions.limit``). These bounds are coarse caps against
abuse, set above the domain's own rules (a task title has at most 500 characters, a name
200...), which still answer their finer ``userErrors`` codes. JSON values (``payload``,
``params``...) are not walked here: their size is the request body's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    visit,
)
from graphql.utilities import type_from_ast
from strawberry.extensions import SchemaExtension

from mcgraph.domain.errors import ErrorCode

SHORT = 1_000
LIST_BOUNDS: Mapping[str, int] = {"labels": 100}
"""Lists with a smaller bound than ``MCGRAPH_MAX_LIST_ITEMS``, by argument or input field name."""
STRING_BOUNDS: Mapping[str, int] = {
    name: SHORT
    for name in ("title", "name", "key", "processKey", "email", "state", "stage", "label", "labels", "stepKey", "eventType", "types")
}
"""Strings with a smaller bound than ``MCGRAPH_MAX_STRING_LENGTH``, by argument or input field
name (the items of a list go by the list's name)."""


@dataclass(frozen=True, slots=True)
class Bounds:
    max_list_items: int = 1000
    max_string_length: int = 100_000

    @classmethod
    def of(cls, context: object) -> Bounds:
        settings = getattr(getattr(context, "runtime", None), "settings", None)
        if settings is None:
            return cls()
        return cls(settings.max_list_items, settings.max_string_length)

    def list_bound(self, name: str) -> int:
        return min(LIST_BOUNDS.get(name, self.max_list_items), self.max_list_items)

    def string_bound(self, name: str) -> int:
        return min(STRING_BOUNDS.get(name, self.max_string_length), self.max_string_length)


class TooLarge(Exception):
    def __init__(self, message: str, path: str, limit: int) -> None:
        super().__init__(message)
        self.path = path
        self.limit = limit


def check_value(value: Any, type_: Any, name: str, path: str, bounds: Bounds) -> None:
    """Raise :class:`TooLarge` for the first list or string in ``value`` (an AST value
    node or a variable's JSON value) past its bound; ``name`` is the argument or input
    field it is given as. Variables inside literals are checked from their definitions."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if value is None or isinstance(value, VariableNode):
        return
    if isinstance(type_, GraphQLList):
        literal = isinstance(value, ListValueNode)
        items = value.values if literal else value if isinstance(value, list) else [value]
        # a list written in the document is bounded by the token limit already; its own bound still applies
        limit = LIST_BOUNDS.get(name, len(items)) if literal else bounds.list_bound(name)
        if len(items) > limit:
            raise TooLarge(f"`{path}` has {len(items)} items, more than the limit of {limit}.", path, limit)
        for index, item in enumerate(items):
            check_value(item, type_.of_type, name, f"{path}[{index}]", bounds)
    elif isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, ObjectValueNode):
            pairs: Iterator[tuple[str, Any]] = ((f.name.value, f.value) for f in value.fields)
        elif isinstance(value, dict):
            pairs = iter(value.items())
        else:
            return  # not an object: validation or coercion reports it
        for key, item in pairs:
            field = type_.fields.get(key)
            if field is not None:
                check_value(item, field.type, key, f"{path}.{key}", bounds)
    elif isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
        text = value.value if isinstance(value, StringValueNode) else value
        limit = bounds.string_bound(name)
        if isinstance(text, str) and len(text) > limit:
            raise TooLarge(f"`{path}` has {len(text):,} characters, more than the limit of {limit:,}.", path, limit)


class _Arguments(Visitor):
    """Checks the literal arguments of every field of the document."""

    def __init__(self, type_info: TypeInfo, bounds: Bounds) -> None:
        super().__init__()
        self.type_info = type_info
        self.bounds = bounds
        self.field = ""

    def enter_field(self, node: Any, *_: Any) -> None:
        self.field = node.name.value  # the arguments of a field come before its selections

    def enter_argument(self, node: Any, *_: Any) -> None:
        argument = self.type_info.get_argument()
        if argument is not None:
            name = node.name.value
            check_value(node.value, argument.type, name, f"{self.field}({name})", self.bounds)


def bound_errors(schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None, bounds: Bounds) -> list[GraphQLError]:
    """One BAD_USER_INPUT error for the first argument past its bound, or none."""
    try:
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            for declared in definition.variable_definitions or ():
                name = declared.variable.name.value
                if variables and name in variables:
                    type_ = type_from_ast(schema, declared.type)  # type: ignore[arg-type]
                    check_value(variables[name], type_, name, f"${name}", bounds)  # ``$labels`` goes as ``labels``
        type_info = TypeInfo(schema)
        visit(document, TypeInfoVisitor(type_info, _Arguments(type_info, bounds)))
    except TooLarge as error:
        return [
            GraphQLError(
                f"{error} Send less at once (MCGRAPH_MAX_LIST_ITEMS, MCGRAPH_MAX_STRING_LENGTH).",
                extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": error.path, "limit": error.limit},
            )
        ]
    return []


class InputBoundsExtension(SchemaExtension):
    """Refuses, once the document is valid, a request with a list or string past its bound."""

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        # after the limits' validation (listed after it): only a valid document is walked
        if context.pre_execution_errors == [] and context.graphql_document is not None:
            errors = bound_errors(context.schema._schema, context.graphql_document, context.variables, Bounds.of(context.context))
            if errors:
                context.pre_execution_errors = errors
        yield
