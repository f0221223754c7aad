"""Builds the GraphQL schema from the areas of the API."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from mcgraph.api.context import OperationScopeExtension
from mcgraph.api.errors import ErrorPolicyExtension
from mcgraph.api.relay import Node
from mcgraph.api.tenancy import types as tenancy_types
from mcgraph.api.tenancy.mutations import TenancyMutation
from mcgraph.api.tenancy.queries import TenancyQuery


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", (TenancyQuery,))
    mutation = merge_types("Mutation", (TenancyMutation,))
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        types=[tenancy_types.User, tenancy_types.Membership, tenancy_types.Team, tenancy_types.ApiToken, tenancy_types.Organization, Node],
        extensions=[ErrorPolicyExtension, OperationScopeExtension],
        config=StrawberryConfig(auto_camel_case=True),
    )
