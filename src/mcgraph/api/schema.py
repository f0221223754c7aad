"""Builds the GraphQL schema from the areas of the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from mcgraph.api import automation
from mcgraph.api.automation import AutomationMutation, AutomationQuery
from mcgraph.api.common import AWARE_DATETIME, FINITE_DECIMAL
from mcgraph.api.context import OperationScopeExtension
from mcgraph.api.deadline import TimeLimitExtension
from mcgraph.api.errors import ErrorPolicyExtension
from mcgraph.api.events import EventsQuery
from mcgraph.api.input_bounds import InputBoundsExtension
from mcgraph.api.limits import DocumentLimitsExtension
from mcgraph.api.observe import ObserveExtension
from mcgraph.api.response_cache import ResponseCacheExtension
from mcgraph.api.plugin_fields import plugin_fields, plugin_roots
from mcgraph.api.processes import types as process_types
from mcgraph.api.processes.mutations import ProcessesMutation
from mcgraph.api.processes.queries import ProcessesQuery
from mcgraph.api.ids import Node
from mcgraph.api.text import InputValuesExtension
from mcgraph.api.subscriptions import Subscription
from mcgraph.api.projects import collab_types
from mcgraph.api.projects import types as project_types
from mcgraph.api.projects.collab import CollabMutation
from mcgraph.api.projects.portfolio import DashboardQuery
from mcgraph.api.projects.mutations import ProjectsMutation
from mcgraph.api.projects.queries import ProjectsQuery
from mcgraph.api.tenancy import types as tenancy_types
from mcgraph.api.tenancy.mutations import TenancyMutation
from mcgraph.api.tenancy.queries import TenancyQuery

if TYPE_CHECKING:
    from mcgraph.plugins.manager import Plugins


def node_types(*modules: object) -> list[type]:
    """Every Node type the modules declare, so that ``node(id:)`` can return any of them."""
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Node) and value is not Node and value.__module__ == module.__name__
    ]


class Schema(strawberry.Schema):
    """mcgraph's schema: the core types, plus the fields plugins add to them."""

    def __init__(self, *args: object, added_fields: dict[str, list[StrawberryField]], **options: object) -> None:
        self.added_fields = added_fields  # read while the base class converts the types
        super().__init__(*args, **options)  # type: ignore[arg-type]

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        fields = super().get_fields(type_definition)
        added = self.added_fields.get(type_definition.name)
        return [*fields, *added] if added else fields


def build_schema(plugins: Plugins | None = None) -> strawberry.Schema:
    """The schema, with what the enabled ``plugins`` contribute (see ``mcgraph_graphql``)."""
    contributions = plugins.graphql if plugins is not None else []
    roots = plugin_roots(contributions)
    core_types = node_types(tenancy_types, project_types, collab_types, process_types, automation)
    return Schema(
        query=merge_types("Query", roots.query((TenancyQuery, ProjectsQuery, DashboardQuery, ProcessesQuery, EventsQuery, AutomationQuery))),
        mutation=merge_types("Mutation", roots.mutation((TenancyMutation, ProjectsMutation, CollabMutation, ProcessesMutation, AutomationMutation))),
        subscription=merge_types("Subscription", roots.subscription((Subscription,))),
        types=[Node, *core_types, *roots.types],
        extensions=[ObserveExtension, ErrorPolicyExtension, DocumentLimitsExtension, InputValuesExtension, InputBoundsExtension, OperationScopeExtension, ResponseCacheExtension, TimeLimitExtension],
        config=StrawberryConfig(auto_camel_case=True, scalar_map={datetime: AWARE_DATETIME, Decimal: FINITE_DECIMAL}),
        added_fields=plugin_fields(contributions, {t.__name__: t for t in core_types}),
    )
