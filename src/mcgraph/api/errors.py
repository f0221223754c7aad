"""How errors reach the client: every top-level error carries ``extensions.code``.

* a :class:`~mcgraph.domain.errors.RequestError` keeps its message and code;
* a document that does not parse or validate gets GRAPHQL_PARSE_FAILED or
  GRAPHQL_VALIDATION_FAILED, a bad variable value BAD_USER_INPUT;
* anything else is an internal error: logged with the request id and its trace, and
  answered with a fixed message, code INTERNAL and the same request id, never the trace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from mcgraph.domain.errors import ErrorCode, RequestError, UserErrorCode
from mcgraph.logs import get_logger

log = get_logger("mcgraph.api")

INTERNAL_MESSAGE = "Internal server error. Quote the request id when reporting it."

strawberry.enum(UserErrorCode, name="UserErrorCode", description="Why a mutation refused its input.")


@strawberry.type(name="UserError", description="One problem with a mutation's input.")
class UserErrorType:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault, if any.")
    message: str
    code: UserErrorCode


def shape_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, RequestError):
        return _with_code(error, original.message, original.code.value, **original.extensions)
    # Before execution (path None) every error is the document's or its values' fault,
    # including a scalar that refused a value (its ValueError is the original error).
    if original is None or isinstance(original, GraphQLError) or error.path is None:
        message = error.message
        if message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        elif error.path is None and not message.startswith(("Variable '", "Expected value of type")):
            code = "GRAPHQL_VALIDATION_FAILED"
        else:
            code = ErrorCode.BAD_USER_INPUT.value
        return _with_code(error, message, code)
    return internal_error(original, request_id, error)


def internal_error(original: BaseException, request_id: str, error: GraphQLError | None = None) -> GraphQLError:
    """The masked form of an unexpected failure; logged here with its trace and the request id."""
    path = error.path if error is not None else None
    log.error("internal error", request_id=request_id, path=".".join(str(p) for p in path or ()), exc_info=original)
    return GraphQLError(
        INTERNAL_MESSAGE,
        nodes=error.nodes if error is not None else None,
        path=path,
        extensions={"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


def _with_code(error: GraphQLError, message: str, code: str, **extensions: object) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, **extensions},
    )


class ErrorPolicyExtension(SchemaExtension):
    """Applies :func:`shape_error` to every error of an operation's result.

    Over HTTP the result is shaped when the operation ends. Over WebSocket each result
    is sent while the operation is still running, so it is shaped as it is streamed
    (and not a second time when the operation ends).
    """

    _streamed = False

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        if not self._streamed:
            self._shape(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:  # type: ignore[override]
        self._streamed = True
        self._shape(result)
        yield

    def _shape(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            request_id = self.execution_context.context.request_id
            result.errors = [shape_error(e, request_id) for e in errors]  # type: ignore[attr-defined]
