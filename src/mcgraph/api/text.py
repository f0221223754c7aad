"""Input values no database keeps, refused before anything runs.

* **Text.** PostgreSQL stores no NUL (U+0000) in text or jsonb, SQLite does; no database,
  UTF-8 encoder or JSON writer takes a lone surrogate (U+D800 to U+DFFF, which JSON can
  spell as ``"\\ud800"``). So that both databases answer alike and no write fails half-way,
  a document whose string literals, or variables whose strings or object keys, hold one
  gets BAD_USER_INPUT naming where it is. (JSON read by :mod:`mcgraph.api.http` already
  refuses lone surrogates; this check holds whatever the transport.)
* **Nesting.** A list or object value written in the document nested more than
  ``MCGRAPH_MAX_JSON_DEPTH`` deep gets BAD_USER_INPUT, as the same value sent as JSON is
  refused by the request's reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, ListValueNode, ObjectValueNode, StringValueNode, Visitor, visit
from graphql.language import DocumentNode
from strawberry.extensions import SchemaExtension

from mcgraph.domain.errors import ErrorCode

# NUL, and the surrogate code points, which are characters only in pairs inside UTF-16
FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text may not contain the NUL character (U+0000) or a lone surrogate (U+D800 to U+DFFF)"
DEFAULT_MAX_DEPTH = 64


def forbidden_text(text: str) -> bool:
    """Whether ``text`` holds a character no database keeps."""
    return FORBIDDEN.search(text) is not None


def bad_text_in_variables(value: Any, path: str) -> str | None:
    """The path of the first string (or object key) in ``value`` that holds a forbidden character, if any."""
    if isinstance(value, str):
        return path if forbidden_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = f"{path}.{key!r}" if forbidden_text(str(key)) else bad_text_in_variables(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = bad_text_in_variables(item, f"{path}[{index}]")
            if found:
                return found
    return None


class _Literals(Visitor):
    def __init__(self, max_depth: int) -> None:
        super().__init__()
        self.max_depth = max_depth
        self.bad_text: list[StringValueNode] = []
        self.too_deep: list[ListValueNode | ObjectValueNode] = []
        self._depth = 0

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if forbidden_text(node.value):
            self.bad_text.append(node)

    def enter_list_value(self, node: ListValueNode, *_: Any) -> Any:
        return self._enter(node)

    def enter_object_value(self, node: ObjectValueNode, *_: Any) -> Any:
        return self._enter(node)

    def leave_list_value(self, *_: Any) -> None:
        self._depth -= 1

    def leave_object_value(self, *_: Any) -> None:
        self._depth -= 1

    def _enter(self, node: ListValueNode | ObjectValueNode) -> Any:
        if self._depth == self.max_depth:
            self.too_deep.append(node)
            return self.SKIP  # nothing under it is looked at (its leave is not called either)
        self._depth += 1
        return None


def input_errors(document: DocumentNode, variables: dict[str, Any] | None, max_depth: int = DEFAULT_MAX_DEPTH) -> list[GraphQLError]:
    """BAD_USER_INPUT errors for the document's literals and the variables (see the module)."""
    literals = _Literals(max_depth)
    visit(document, literals)
    code = {"code": ErrorCode.BAD_USER_INPUT.value}
    errors = [GraphQLError(f"{MESSAGE}.", nodes=[node], extensions=code) for node in literals.bad_text]
    errors += [
        GraphQLError(f"Lists and objects may be nested at most {max_depth} deep (MCGRAPH_MAX_JSON_DEPTH).", nodes=[node], extensions=code)
        for node in literals.too_deep
    ]
    for name, value in (variables or {}).items():
        where = bad_text_in_variables(value, f"${name}")
        if where:
            errors.append(GraphQLError(f"{MESSAGE}: {where}.", extensions=code))
    return errors


class InputValuesExtension(SchemaExtension):
    """Refuses, once the document is valid, a request with a value no database keeps (see the module)."""

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        # runs after the limits' validation (listed after it): only a valid document is looked at
        if context.pre_execution_errors == [] and context.graphql_document is not None:
            settings = getattr(getattr(context.context, "runtime", None), "settings", None)
            max_depth = settings.max_json_depth if settings is not None else DEFAULT_MAX_DEPTH
            context.pre_execution_errors = input_errors(context.graphql_document, context.variables, max_depth)
        yield
