"""How errors reach the client: every top-level error carries ``extensions.code``.

* a :class:`~mcgraph.domain.errors.RequestError` keeps its message and code;
* a :class:`~mcgraph.domain.errors.UserError` outside a mutation's payload (a query's
  argument refused) becomes NOT_FOUND or BAD_USER_INPUT with its messages;
* a document that does not parse or validate gets GRAPHQL_PARSE_FAILED or
  GRAPHQL_VALIDATION_FAILED, a bad variable value BAD_USER_INPUT;
* anything else is an internal error: logged with the request id and its trace, and
  answered with a fixed message, code INTERNAL and the same request id, never the trace;
* an error a limit rule raised keeps its own code (QUERY_TOO_DEEP, ...; see
  :mod:`mcgraph.api.limits`), a document past the token limit gets DOCUMENT_TOO_LARGE;
* in production, "Did you mean ...?" suggestions are cut from messages;
* at most ``MCGRAPH_MAX_ERRORS`` errors are returned: the last one (TOO_MANY_ERRORS) says
  how many more were left out.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from mcgraph.domain.errors import ErrorCode, RequestError, UserError, UserErrorCode
from mcgraph.logs import get_logger

log = get_logger("mcgraph.api")

INTERNAL_MESSAGE = "Internal server error. Quote the request id when reporting it."
SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)
TOO_LARGE = re.compile(r"^Syntax Error: (?:Document|Source) contains more than \d+ ")

strawberry.enum(UserErrorCode, name="UserErrorCode", description="Why a mutation refused its input.")


@strawberry.type(name="UserError", description="One problem with a mutation's input.")
class UserErrorType:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault, if any.")
    message: str
    code: UserErrorCode


def shape_error(error: GraphQLError, request_id: str, *, production: bool = False) -> GraphQLError:
    original = error.original_error
    if isinstance(original, RequestError):
        return _with_code(error, original.message, original.code.value, **original.extensions)
    if isinstance(original, UserError):
        # A query's argument refused the way a mutation's input is (a wrong id, say): the
        # client's mistake, reported as a request error since there is no payload to carry it.
        codes = {problem.code for problem in original.problems}
        code = ErrorCode.NOT_FOUND if codes == {UserErrorCode.NOT_FOUND} else ErrorCode.BAD_USER_INPUT
        return _with_code(error, " ".join(problem.message for problem in original.problems), code.value)
    # Before execution (path None) every error is the document's or its values' fault,
    # including a scalar that refused a value (its ValueError is the original error).
    if original is None or isinstance(original, GraphQLError) or error.path is None:
        message = SUGGESTION.sub("", error.message) if production else error.message
        own_code = (error.extensions or {}).get("code")
        if error.path is None and isinstance(own_code, str):
            code = own_code  # a limit rule's (QUERY_TOO_DEEP, ...)
        elif TOO_LARGE.match(message):
            code = "DOCUMENT_TOO_LARGE"
        elif message.startswith("Syntax Error"):
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
            context = self.execution_context.context
            settings = getattr(getattr(context, "runtime", None), "settings", None)
            production = bool(settings and settings.is_production)
            shaped = [shape_error(e, context.request_id, production=production) for e in errors]
            result.errors = cut_errors(shaped, settings.max_errors if settings else 20)  # type: ignore[attr-defined]


def cut_errors(errors: list[GraphQLError], limit: int) -> list[GraphQLError]:
    """At most ``limit`` errors: past it, the first ``limit - 1`` and one saying how many were left out."""
    if len(errors) <= limit:
        return errors
    left_out = len(errors) - (limit - 1)
    # validation stops (with an error of its own) past the limit: more may have been found
    aborted = errors[-1].message.startswith("Too many validation errors")
    return [
        *errors[: limit - 1],
        GraphQLError(
            f"{'At least ' if aborted else ''}{left_out} more errors were left out: at most {limit} are returned (MCGRAPH_MAX_ERRORS).",
            extensions={"code": "TOO_MANY_ERRORS", "leftOut": left_out},
        ),
    ]
