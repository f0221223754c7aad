"""Root query fields of the tenancy area, and ``node``/``nodes``."""

from __future__ import annotations

import strawberry

from mcgraph.api.fields import query
from mcgraph.api.ids import MODEL_OF_TYPE, Node, decode_id
from mcgraph.api.tenancy.types import Viewer
from mcgraph.domain.errors import BadInput
from mcgraph.domain.permissions import Action

MAX_NODES = 100


@strawberry.type
class TenancyQuery:
    @query(Action.ORG_READ, description="Who is asking: the token's user, organisation and role.")
    def viewer(self, info: strawberry.Info) -> Viewer:
        actor = info.context.actor
        return Viewer(role=actor.role, _actor_user_id=actor.user_id, _organization_id=actor.organization_id)

    @query(Action.ORG_READ, description="Any object by its global id; null when it does not exist or is not yours.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return (await _load(info, [id]))[0]

    @query(Action.ORG_READ, description=f"Objects by their global ids, in order (at most {MAX_NODES}).")
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadInput(f"`ids` holds at most {MAX_NODES} ids; got {len(ids)}.")
        return await _load(info, ids)


async def _load(info: strawberry.Info, ids: list[strawberry.ID]) -> list[object | None]:
    results: list[object | None] = []
    for global_id in ids:
        decoded = decode_id(global_id)
        if decoded is None:
            results.append(None)
            continue
        type_name, pk = decoded
        results.append(info.context.loaders.node(MODEL_OF_TYPE[type_name]).load(pk))
    return [await r if r is not None else None for r in results]  # type: ignore[misc]
