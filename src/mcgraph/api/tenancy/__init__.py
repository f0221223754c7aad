"""Organisations, members, roles, teams and API tokens in the API."""
