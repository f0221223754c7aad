"""Every way into the data declares its permission: walked over the whole schema, plugins'
fields included, so a new field without one fails here before it ships."""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType

from mcgraph.api.fields import Requires
from mcgraph.api.schema import build_schema
from mcgraph.db.models import Role
from mcgraph.domain.permissions import MATRIX
from mcgraph.plugins.manager import Plugins, create_plugin_manager

# Mutations a viewer may make, each for a reason: their own tokens, and a PRINCE2 board
# member's approval (board membership, not the organisation role, is the check there).
VIEWER_MUTATIONS = {"createApiToken", "revokeApiToken", "approveStageBoundary"}

SCHEMA = build_schema(Plugins(create_plugin_manager()))._schema
ROOTS = {SCHEMA.query_type.name, SCHEMA.mutation_type.name, SCHEMA.subscription_type.name}


def declared(field: object) -> Requires | None:
    definition = field.extensions.get("strawberry-definition")  # type: ignore[attr-defined]
    return next((e for e in getattr(definition, "extensions", ()) if isinstance(e, Requires)), None)


def fields(where: str) -> list[tuple[str, object]]:
    found = []
    for name, kind in SCHEMA.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        for field_name, field in kind.fields.items():
            at_root = name in ROOTS
            if (where == "roots" and at_root) or (where == "arguments" and not at_root and field.args):
                found.append((f"{name}.{field_name}", field))
    return found


@pytest.mark.parametrize(("path", "field"), fields("roots"), ids=lambda value: value if isinstance(value, str) else "")
def test_every_query_mutation_and_subscription_declares_its_permission(path, field):
    assert declared(field) is not None, f"{path} declares no permission: use query/mutation/subscription(Action.X, ...)"


@pytest.mark.parametrize(("path", "field"), fields("arguments"), ids=lambda value: value if isinstance(value, str) else "")
def test_every_field_with_arguments_declares_its_permission(path, field):
    assert declared(field) is not None, f"{path} takes arguments and declares no permission"


def test_viewers_may_make_no_mutation_but_the_listed_ones():
    open_to_viewers = {
        name for name, field in SCHEMA.mutation_type.fields.items() if Role.VIEWER in MATRIX[declared(field).action]
    }
    assert open_to_viewers == VIEWER_MUTATIONS


def test_the_walk_sees_the_plugins_fields_too():
    paths = {path for path, _ in fields("roots") + fields("arguments")}
    assert {"Mutation.createSprint", "Mutation.setWipLimit", "Prince2Project.approvals", "Project.velocity"} <= paths
