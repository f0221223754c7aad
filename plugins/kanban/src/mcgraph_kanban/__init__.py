"""The kanban methodology for mcgraph."""
