"""The prince2 methodology for mcgraph."""
