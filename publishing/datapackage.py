"""The release's `datapackage.json`: a Frictionless Data Package (v1, profile data-package).

It is how a machine reads the release without guessing: one tabular resource per CSV
with its Table Schema (types, descriptions, units, primary key), its size and SHA-256,
and one resource per Parquet file. Owners appear as authors and the city executive
office as publisher, so every dataset says who answers for it.
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


def _common(dataset: OpenDataset, path: Path, digest: str) -> dict:
    return {
        "path": path.name,
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


def csv_resource(dataset: OpenDataset, path: Path, digest: str) -> dict:
    schema: dict = {"fields": [_field(c) for c in dataset.columns], "missingValues": [""]}
    if dataset.primary_key:
        schema["primaryKey"] = list(dataset.primary_key)
    return {
        "profile": "tabular-data-resource",
        "name": dataset.name,
        **_common(dataset, path, digest),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": CSV_DIALECT,
        "schema": schema,
    }


def parquet_resource(dataset: OpenDataset, path: Path, digest: str) -> dict:
    """The Parquet twin of a CSV resource; its schema travels inside the file itself.

    `type: file` tells Frictionless tools to check it as a file (size and hash) rather
    than parse it as a table, which their Parquet reader does without counting bytes.
    """
    return {
        "profile": "data-resource",
        "type": "file",
        "name": parquet_resource_name(dataset.name),
        **_common(dataset, path, digest),
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
    }


def parquet_resource_name(dataset: str) -> str:
    return f"{dataset}-parquet"


def data_package(release_id: str, created: str, resources: list[dict]) -> dict:
    """The package descriptor; licences and contributors are gathered from the resources,
    so datasets carried forward from an earlier release are credited too."""
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
    }
