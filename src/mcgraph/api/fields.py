"""Field helpers every resolver uses: the permission a field needs, and mutations.

``@query(Action.X)`` and ``@mutation(Action.X)`` declare the action a field needs; the
check runs before the resolver, through :mod:`mcgraph.domain.permissions`. A mutation
that raises :class:`~mcgraph.domain.errors.UserError` answers with its payload type,
``userErrors`` filled and nothing written.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types.field import StrawberryField

from mcgraph.api.errors import UserErrorType
from mcgraph.domain.errors import UserError
from mcgraph.domain.permissions import Action


class Requires(FieldExtension):
    """Refuses the field unless the actor's role allows ``action``."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        info.context.require(self.action)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        info.context.require(self.action)
        result = next_(source, info, **kwargs)
        # a subscription's resolver returns its async generator without awaiting
        return await result if inspect.isawaitable(result) else result


class UserErrorsToPayload(FieldExtension):
    """Turns a ``UserError`` raised by a mutation into its payload with ``userErrors``."""

    def apply(self, field: StrawberryField) -> None:
        self.payload_type = field.type

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except UserError as error:
            return self.payload_type(
                user_errors=[
                    UserErrorType(field=list(p.field) if p.field else None, message=p.message, code=p.code)
                    for p in error.problems
                ]
            )


def query(action: Action, *, description: str, **options: Any) -> Any:
    return strawberry.field(description=description, extensions=[Requires(action)], **options)


def subscription(action: Action, *, description: str) -> Any:
    return strawberry.subscription(description=description, extensions=[Requires(action)])


def mutation(action: Action, *, description: str) -> Any:
    return strawberry.mutation(description=description, extensions=[Requires(action), UserErrorsToPayload()])


@strawberry.type
class Payload:
    """Base of every mutation payload: ``userErrors`` is empty when the mutation succeeded."""

    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description="What was wrong with the input; empty on success."
    )
