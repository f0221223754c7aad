"""Business rules and services. No GraphQL and no HTTP in here."""
