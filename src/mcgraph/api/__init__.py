"""The GraphQL API: Strawberry types, queries, mutations, dataloaders and error mapping."""
