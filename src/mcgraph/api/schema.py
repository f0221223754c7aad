"""Builds the GraphQL schema from the areas of the API."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from mcgraph.api import automation
from mcgraph.api.automation import AutomationMutation, AutomationQuery
from mcgraph.api.common import AWARE_DATETIME
from mcgraph.api.context import OperationScopeExtension
from mcgraph.api.errors import ErrorPolicyExtension
from mcgraph.api.events import EventsQuery
from mcgraph.api.limits import DocumentLimitsExtension
from mcgraph.api.processes import types as process_types
from mcgraph.api.processes.mutations import ProcessesMutation
from mcgraph.api.processes.queries import ProcessesQuery
from mcgraph.api.relay import Node
from mcgraph.api.subscriptions import Subscription
from mcgraph.api.projects import collab_types
from mcgraph.api.projects import types as project_types
from mcgraph.api.projects.collab import CollabMutation
from mcgraph.api.projects.dashboard import DashboardQuery
from mcgraph.api.projects.mutations import ProjectsMutation
from mcgraph.api.projects.queries import ProjectsQuery
from mcgraph.api.tenancy import types as tenancy_types
from mcgraph.api.tenancy.mutations import TenancyMutation
from mcgraph.api.tenancy.queries import TenancyQuery


def node_types(*modules: object) -> list[type]:
    """Every Node type the modules declare, so that ``node(id:)`` can return any of them."""
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Node) and value is not Node and value.__module__ == module.__name__
    ]


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", (TenancyQuery, ProjectsQuery, DashboardQuery, ProcessesQuery, EventsQuery, AutomationQuery))
    mutation = merge_types("Mutation", (TenancyMutation, ProjectsMutation, CollabMutation, ProcessesMutation, AutomationMutation))
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=Subscription,
        types=[Node, *node_types(tenancy_types, project_types, collab_types, process_types, automation)],
        extensions=[ErrorPolicyExtension, DocumentLimitsExtension, OperationScopeExtension],
        config=StrawberryConfig(auto_camel_case=True, scalar_map={datetime: AWARE_DATETIME}),
    )
