"""Orchestration: the Dagster graph over every stage, and the `stadsdata` command."""
