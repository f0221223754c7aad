"""The review methodology for mcgraph: draft, review, published; publishing needs an approval."""
