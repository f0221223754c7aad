"""Text no database keeps: a request with the NUL character (U+0000) in any string is refused.

PostgreSQL stores no NUL in text or jsonb; SQLite does. So that both answer alike, and
no write fails half-way, a document whose string literals, or variables whose strings or
object keys, hold one gets BAD_USER_INPUT before anything runs, naming where it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode, Visitor, visit
from graphql.language import DocumentNode
from strawberry.extensions import SchemaExtension

from mcgraph.domain.errors import ErrorCode

NUL = "\x00"
MESSAGE = "Text may not contain the NUL character (U+0000)"


def nul_in_variables(value: Any, path: str) -> str | None:
    """The path of the first string (or object key) in ``value`` that holds a NUL, if any."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = f"{path}.{key!r}" if NUL in str(key) else nul_in_variables(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_in_variables(item, f"{path}[{index}]")
            if found:
                return found
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if NUL in node.value:
            self.found.append(node)


def nul_errors(document: DocumentNode, variables: dict[str, Any] | None) -> list[GraphQLError]:
    literals = _Literals()
    visit(document, literals)
    errors = [GraphQLError(f"{MESSAGE}.", nodes=[node], extensions={"code": ErrorCode.BAD_USER_INPUT.value}) for node in literals.found]
    for name, value in (variables or {}).items():
        where = nul_in_variables(value, f"${name}")
        if where:
            errors.append(GraphQLError(f"{MESSAGE}: {where}.", extensions={"code": ErrorCode.BAD_USER_INPUT.value}))
    return errors


class NoNulExtension(SchemaExtension):
    """Refuses, once the document is valid, a request with a NUL in any string (see the module)."""

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        # runs after the limits' validation (listed after it): only a valid document is looked at
        if context.pre_execution_errors == [] and context.graphql_document is not None:
            context.pre_execution_errors = nul_errors(context.graphql_document, context.variables)
        yield
