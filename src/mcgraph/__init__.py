"""mcgraph: a GraphQL API server for managing projects and processes together."""

__version__ = "0.1.0"
