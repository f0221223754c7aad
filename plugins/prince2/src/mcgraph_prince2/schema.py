"""The PRINCE2 plugin's part of the GraphQL schema."""

from __future__ import annotations

from mcgraph.plugins import GraphQLContribution

from mcgraph_prince2.mutations import Prince2Mutation
from mcgraph_prince2.types import (
    Prince2Approval,
    Prince2BoardMember,
    Prince2Exception,
    Prince2ProjectFields,
    Prince2StageReport,
    Prince2StageTolerance,
)


def contribution() -> GraphQLContribution:
    """``Project.prince2``, the PRINCE2 mutations, and the node types behind them."""
    return GraphQLContribution(
        mutation=Prince2Mutation,
        fields={"Project": Prince2ProjectFields},
        types=[Prince2BoardMember, Prince2StageReport, Prince2Approval, Prince2StageTolerance, Prince2Exception],
    )
