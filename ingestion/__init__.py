"""Ingestion: source contracts and the Polars readers that apply them, landing -> bronze."""
