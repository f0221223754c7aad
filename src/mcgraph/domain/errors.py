"""The errors a domain service raises, each with a machine-readable code.

Two families:

* :class:`RequestError`: the request as a whole is refused (no token, not allowed,
  bad arguments to a query). The API answers with a top-level error whose
  ``extensions.code`` is the :class:`ErrorCode`.
* :class:`UserError`: a mutation's input is wrong in a way the user can fix. The API
  answers with the mutation's payload and its ``userErrors``; nothing is written.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ErrorCode(enum.StrEnum):
    """Codes of top-level GraphQL errors (``extensions.code``)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    TIMEOUT = "TIMEOUT"
    SLOW_SUBSCRIBER = "SLOW_SUBSCRIBER"
    EXPRESSION_TOO_COSTLY = "EXPRESSION_TOO_COSTLY"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    INTERNAL = "INTERNAL"


class UserErrorCode(enum.StrEnum):
    """Codes of mutation ``userErrors``."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    FORBIDDEN = "FORBIDDEN"
    LAST_OWNER = "LAST_OWNER"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    ALREADY_REVOKED = "ALREADY_REVOKED"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    DATE_RANGE = "DATE_RANGE"
    CYCLE = "CYCLE"
    UNKNOWN_STATE = "UNKNOWN_STATE"
    UNKNOWN_STAGE = "UNKNOWN_STAGE"
    UNKNOWN_METHODOLOGY = "UNKNOWN_METHODOLOGY"
    GATE_REFUSED = "GATE_REFUSED"
    TRANSITION_REFUSED = "TRANSITION_REFUSED"
    STATUS_TRANSITION = "STATUS_TRANSITION"
    BLOCKED_BY_DEPENDENCY = "BLOCKED_BY_DEPENDENCY"
    ARCHIVED = "ARCHIVED"
    PUBLISHED = "PUBLISHED"
    BAD_EXPRESSION = "BAD_EXPRESSION"
    EXPRESSION_TOO_COSTLY = "EXPRESSION_TOO_COSTLY"


class RequestError(Exception):
    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, code: ErrorCode | None = None, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions
        if code is not None:
            self.code = code


class Unauthenticated(RequestError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(RequestError):
    code = ErrorCode.FORBIDDEN


class SlowSubscriber(RequestError):
    """A subscriber fell too far behind and was dropped; ``resumeAfter`` says where to pick up."""

    code = ErrorCode.SLOW_SUBSCRIBER

    def __init__(self, resume_after: int | None) -> None:
        cursor = str(resume_after) if resume_after is not None else None
        where = f'with `events(after: "{cursor}")`' if cursor else "with `events`"
        super().__init__(f"You fell too far behind and were dropped; resume {where}.", resumeAfter=cursor)


class TooManySubscriptions(RequestError):
    """A socket asked for more operations at once than ``MCGRAPH_WS_MAX_SUBSCRIPTIONS``."""

    code = ErrorCode.TOO_MANY_SUBSCRIPTIONS

    def __init__(self, limit: int) -> None:
        super().__init__(f"The limit of {limit} operations at once on one connection is reached; complete one first.", limit=limit)


class NotFound(RequestError):
    code = ErrorCode.NOT_FOUND


class BadInput(RequestError):
    code = ErrorCode.BAD_USER_INPUT


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a mutation's input: the field path, a sentence and a code."""

    field: Sequence[str] | None
    message: str
    code: UserErrorCode


class Conflict(RequestError):
    code = ErrorCode.CONFLICT


class UserError(Exception):
    """A mutation's input is refused; carries every problem found, not only the first."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def one(cls, field: str | Sequence[str] | None, message: str, code: UserErrorCode) -> UserError:
        path = [field] if isinstance(field, str) else field
        return cls(Problem(path, message, code))


class Problems:
    """Collects every problem of an input, then raises them together."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, field: str | Sequence[str] | None, message: str, code: UserErrorCode) -> None:
        path = [field] if isinstance(field, str) else field
        self.found.append(Problem(path, message, code))

    def raise_any(self) -> None:
        if self.found:
            raise UserError(*self.found)
