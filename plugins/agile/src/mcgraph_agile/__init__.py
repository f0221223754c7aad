"""The agile methodology for mcgraph."""
