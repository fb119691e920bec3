"""What each source computes beyond its contract's plain columns.

A source module may expose `derived(table) -> dict[column, Derived]` (columns it
computes itself), `checks(table) -> list[reason expression]` (rules across typed
columns, evaluated after the contract's own) and, where the key fields of a reading
are not the key columns' own fields, `OCCURRENCE_KEYS`. Sources without a module
here are read by their contract alone.
"""

from __future__ import annotations

from types import ModuleType

from ingestion.sources import air_quality, iot_devices, traffic_counts, water_levels

SOURCE_MODULES: dict[str, ModuleType] = {
    "air_quality": air_quality,
    "traffic_counts": traffic_counts,
    "iot_devices": iot_devices,
    "water_levels": water_levels,
}
