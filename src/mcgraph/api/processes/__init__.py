"""Processes in the API: templates, versions and their steps, runs, metrics."""
