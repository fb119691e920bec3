"""The release's `datapackage.json`: a Frictionless Data Package (v1, profile data-package).

It is how a machine reads the release without guessing: one tabular resource per CSV
with its Table Schema (types, descriptions, units, primary key), its size and SHA-256,
and one file resource per Parquet and GeoJSON file. Owners appear as authors and the city
executive office as publisher, so every dataset says who answers for it.

A dataset split by year has one resource per file (`<name>-<year>`, `<name>-<year>-parquet`);
every resource names its dataset in the custom property `dataset` (and its year in `part`),
so a reader groups the files without parsing names. The package's custom property `changes`
says what changed since the previous release (publishing/notes.py).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from publishing.datasets import OpenDataset, open_data_settings

CSV_DIALECT = {
    "delimiter": ",",
    "lineTerminator": "\r\n",
    "quoteChar": '"',
    "doubleQuote": True,
    "header": True,
}


def owner_name(code: str) -> str:
    return open_data_settings()["owners"].get(code, code)


def license_descriptor(spdx: str) -> dict:
    known = open_data_settings()["licenses"].get(spdx, {})
    return {"name": spdx, **known}


def _field(column) -> dict:
    field = {"name": column.name, "type": column.type}
    if column.description:
        field["description"] = column.description
    if column.unit:
        field["unit"] = column.unit
    return field


def _common(dataset: OpenDataset, path: Path, digest: str, part: str | None) -> dict:
    return {
        "path": path.name,
        "dataset": dataset.name,
        **({"part": part} if part is not None else {}),
        "title": dataset.title,
        "description": dataset.description,
        "bytes": path.stat().st_size,
        "hash": f"sha256:{digest}",
        "licenses": [license_descriptor(dataset.license)],
        "sources": [{"title": owner_name(dataset.owner)}],
        "owner": dataset.owner,
        "classification": dataset.classification,
        "update_frequency": dataset.update_frequency,
    }


def csv_resource(dataset: OpenDataset, path: Path, digest: str, part: str | None = None) -> dict:
    schema: dict = {"fields": [_field(c) for c in dataset.columns], "missingValues": [""]}
    if dataset.primary_key:
        schema["primaryKey"] = list(dataset.primary_key)
    return {
        "profile": "tabular-data-resource",
        "name": part_name(dataset.name, part),
        **_common(dataset, path, digest, part),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": CSV_DIALECT,
        "schema": schema,
    }


def parquet_resource(dataset: OpenDataset, path: Path, digest: str, part: str | None = None) -> dict:
    """The Parquet twin of a CSV resource; its schema travels inside the file itself.

    `type: file` tells Frictionless tools to check it as a file (size and hash) rather
    than parse it as a table, which their Parquet reader does without counting bytes.
    """
    return {
        "profile": "data-resource",
        "type": "file",
        "name": parquet_resource_name(part_name(dataset.name, part)),
        **_common(dataset, path, digest, part),
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
    }


def geojson_resource(dataset: OpenDataset, path: Path, digest: str, part: str | None = None) -> dict:
    """A GeoJSON FeatureCollection of the same rows: a file resource (Frictionless has no
    GeoJSON table reader), checked by size and hash."""
    return {
        "profile": "data-resource",
        "type": "file",
        "name": f"{part_name(dataset.name, part)}-geojson",
        **_common(dataset, path, digest, part),
        "format": "geojson",
        "mediatype": "application/geo+json",
    }


def parquet_resource_name(dataset: str) -> str:
    return f"{dataset}-parquet"


def part_name(dataset: str, part: str | None) -> str:
    """Resource name of a dataset's CSV: the dataset's name, or `<name>-<year>` for a part."""
    return dataset if part is None else f"{dataset}-{part}"


def dataset_of(resource: dict) -> str:
    """The dataset a resource belongs to (releases before `dataset` was recorded: by name)."""
    return resource.get("dataset") or resource["name"].removesuffix("-parquet")


def resources_of(resources: list[dict], dataset: str) -> list[dict]:
    return [r for r in resources if dataset_of(r) == dataset]


def data_package(release_id: str, created: str, resources: list[dict], changes: dict | None = None) -> dict:
    """The package descriptor; licences and contributors are gathered from the resources,
    so datasets carried forward from an earlier release are credited too. `changes` (rows
    added, changed, removed per dataset since the previous release) is kept as is."""
    settings = open_data_settings()["package"]
    package_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{settings['name']}/{release_id}")
    licenses = {lic["name"]: lic for r in resources for lic in r.get("licenses", [])}
    owners = sorted({r["owner"] for r in resources if r.get("owner")})
    contributors = [{"title": owner_name(code), "role": "author"} for code in owners]
    contributors.append({"title": owner_name(settings["publisher"]), "role": "publisher"})
    return {
        "profile": "data-package",
        "name": settings["name"],
        "id": f"urn:uuid:{package_id}",
        "title": settings["title"],
        "description": settings["description"],
        "created": created,
        "keywords": settings.get("keywords", []),
        "licenses": list(licenses.values()),
        "sources": [{"title": owner_name(code)} for code in owners],
        "contributors": contributors,
        "resources": resources,
        **({"changes": changes} if changes is not None else {}),
    }
