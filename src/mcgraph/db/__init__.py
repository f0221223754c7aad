"""Database: engine and sessions, SQLAlchemy 2 models, organisation scoping, migrations."""

from mcgraph.db.base import Base, OrgScoped
from mcgraph.db.engine import Database

__all__ = ["Base", "Database", "OrgScoped"]
