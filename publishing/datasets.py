"""Which warehouse models may become open data, read from dbt's manifest.

The release publishes only `open_*` models, and only those whose governance metadata
says they may leave the city: classification `open`, no personal data, an open licence.
The manifest is the single place where that metadata lives (declared in the dbt
project's YAML), so the release reads it from there instead of keeping a second list
that could drift. A model that breaks a rule is refused by name, before anything is
written, so a mistake in the dbt project never reaches a published file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from publishing.suppression import Suppression, read_suppression, suppression_problems

OPEN_DATA_FILE = Path(__file__).parent / "open_data.yaml"
CATALOG_SETTINGS_FILE = Path(__file__).parent / "catalog.yaml"
OPEN_PREFIX = "open_"
REQUIRED_META = ("owner", "classification", "pii", "license", "update_frequency")
# What the DCAT-AP-SE catalogue needs from every open model (the English description is the
# model's own description): titles and descriptions in both languages, and its EU themes.
CATALOGUE_META = ("title_sv", "title_en", "description_sv", "themes")
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


class NotPublishable(ValueError):
    """One or more open_* models may not be published; `problems` names each model and rule."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"open_* models that may not be published:\n{listing}")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a Frictionless Table Schema type: string, integer, number, datetime, ...
    description: str = ""
    unit: str | None = None
    pii: bool = False  # never true for a model from the manifest; the privacy gate re-checks


@dataclass(frozen=True)
class OpenDataset:
    """What the release needs to know about one open_* model."""

    name: str
    title: str
    description: str
    owner: str
    classification: str
    license: str
    update_frequency: str
    columns: list[Column]
    primary_key: list[str]
    relation: str = ""  # quoted "schema"."table" in the warehouse; empty means the name itself
    # For the catalogue. Datasets built in code may leave them empty: the catalogue then uses
    # `title` and `description` for both languages. Models from the manifest must declare them.
    title_sv: str = ""
    title_en: str = ""
    description_sv: str = ""
    themes: tuple[str, ...] = ()  # EU data-theme codes (catalog.yaml themes)
    hvd_category: str = ""  # key of catalog.yaml hvd.categories; empty: not a high-value dataset
    time_column: str = ""  # column whose range is the temporal coverage; empty: detect it
    temporal_resolution: str = ""  # ISO 8601 duration of one row's period, e.g. PT1H
    suppression: Suppression | None = None  # small-count suppression the privacy gate checks

    @property
    def table(self) -> str:
        """The relation to read, so dbt's custom schemas and aliases need no second list."""
        return self.relation or quote_identifier(self.name)


@cache
def open_data_settings() -> dict[str, Any]:
    """The release's own declarations: package, owners' names, accepted licences."""
    return yaml.safe_load(OPEN_DATA_FILE.read_text(encoding="utf-8"))


@cache
def catalog_settings() -> dict[str, Any]:
    """The catalogue's declarations: vocabulary codes and IRIs it may use (catalog.yaml)."""
    return yaml.safe_load(CATALOG_SETTINGS_FILE.read_text(encoding="utf-8"))


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def frictionless_type(data_type: str) -> str | None:
    """Map a declared or actual SQL type to a Table Schema type; None when there is none."""
    base = " ".join(re.sub(r"\(.*\)", "", data_type).split()).upper()
    for field_type, sql_types in open_data_settings()["field_types"].items():
        if base in sql_types:
            return field_type
    return None


def open_datasets_from_manifest(manifest: dict) -> list[OpenDataset]:
    """Every open_* model in a dbt manifest, or NotPublishable naming each model that breaks a rule.

    All models are checked before anything is returned, so one run reports every problem.
    """
    models = [
        node
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("name", "").startswith(OPEN_PREFIX)
    ]
    problems: list[str] = []
    names = [node["name"] for node in models]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{name}: more than one model has this name (versioned models?)")
    datasets = []
    for node in sorted(models, key=lambda n: n["name"]):
        found = _model_problems(node)
        problems.extend(f"{node['name']}: {problem}" for problem in found)
        if not found:
            datasets.append(_dataset(node))
    if problems:
        raise NotPublishable(problems)
    return datasets


def _model_meta(node: dict) -> dict:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _column_meta(column: dict) -> dict:
    return {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}


def _model_problems(node: dict) -> list[str]:
    """The governance rules an open dataset must meet, each broken one as a sentence."""
    meta = _model_meta(node)
    problems = [f"config.meta.{key} is not declared" for key in REQUIRED_META if meta.get(key) in (None, "")]
    classification = meta.get("classification")
    if classification not in (None, "", "open"):
        problems.append(f"classification is {classification!r}; only 'open' models are published")
    if meta.get("pii") not in (None, False):
        problems.append("is marked pii; personal data is never published")
    license_id = meta.get("license")
    licenses = open_data_settings()["licenses"]
    if license_id not in (None, "") and license_id not in licenses:
        problems.append(f"license {license_id!r} is not an open licence ({', '.join(licenses)})")
    columns = node.get("columns") or {}
    if not columns:
        problems.append("declares no columns; the published schema comes from them")
    for name, column in columns.items():
        column_meta = _column_meta(column)
        if column_meta.get("pii") not in (None, False):
            problems.append(f"column {name} is marked pii; personal data is never published")
        if column_meta.get("classification") not in (None, "open"):
            problems.append(f"column {name} is classified {column_meta['classification']!r}")
        data_type = column.get("data_type")
        if not data_type:
            problems.append(f"column {name} declares no data_type (enforce the model's contract)")
        elif frictionless_type(data_type) is None:
            problems.append(f"column {name} has type {data_type!r}, which has no CSV form")
    column_types = {name: frictionless_type(c.get("data_type") or "") for name, c in columns.items()}
    problems.extend(suppression_problems(meta.get("suppression"), column_types))
    missing_key = [c for c in _primary_key(node) if c not in columns]
    if missing_key:
        problems.append(f"primary key column(s) {', '.join(missing_key)} are not declared columns")
    return problems + _catalogue_problems(node, meta)


def _catalogue_problems(node: dict, meta: dict) -> list[str]:
    """What the DCAT-AP-SE catalogue needs from the model, each missing or unknown value named."""
    settings = catalog_settings()
    problems = [f"config.meta.{key} is not declared" for key in CATALOGUE_META if not meta.get(key)]
    if not (node.get("description") or "").strip():
        problems.append("has no description (the catalogue's English description)")
    unknown = [t for t in _as_tuple(meta.get("themes")) if t not in settings["themes"]]
    if unknown:
        problems.append(f"themes {unknown} are not EU data-theme codes ({', '.join(settings['themes'])})")
    frequency = meta.get("update_frequency")
    if frequency not in (None, "") and str(frequency) not in settings["frequencies"]:
        problems.append(
            f"update_frequency {frequency!r} has no EU frequency ({', '.join(settings['frequencies'])})"
        )
    category = meta.get("hvd_category")
    if category and category not in settings["hvd"]["categories"]:
        problems.append(f"hvd_category {category!r} is not one of {', '.join(settings['hvd']['categories'])}")
    time_column = meta.get("time_column")
    if time_column and time_column not in (node.get("columns") or {}):
        problems.append(f"time_column {time_column!r} is not a declared column")
    resolution = meta.get("temporal_resolution")
    if resolution and not ISO_DURATION.match(str(resolution)):
        problems.append(f"temporal_resolution {resolution!r} is not an ISO 8601 duration (e.g. PT1H)")
    return problems


def _primary_key(node: dict) -> list[str]:
    """The key from a primary_key constraint (model or column level) or config.meta.primary_key."""
    for constraint in node.get("constraints") or []:
        if constraint.get("type") == "primary_key":
            return list(constraint.get("columns") or [])
    columns = [
        name
        for name, column in (node.get("columns") or {}).items()
        if any(c.get("type") == "primary_key" for c in column.get("constraints") or [])
    ]
    if columns:
        return columns
    key = _model_meta(node).get("primary_key") or []
    return [key] if isinstance(key, str) else list(key)


def _dataset(node: dict) -> OpenDataset:
    meta = _model_meta(node)
    name = node["name"]
    columns = [
        Column(
            name=column_name,
            type=frictionless_type(column["data_type"]) or "any",
            description=(column.get("description") or "").strip(),
            unit=_column_meta(column).get("unit"),
            pii=_column_meta(column).get("pii") not in (None, False),
        )
        for column_name, column in node["columns"].items()
    ]
    schema = node.get("schema")
    table = quote_identifier(node.get("alias") or name)
    return OpenDataset(
        name=name,
        title=meta.get("title") or name.removeprefix(OPEN_PREFIX).replace("_", " ").capitalize(),
        description=(node.get("description") or "").strip(),
        owner=str(meta["owner"]),
        classification=meta["classification"],
        license=meta["license"],
        update_frequency=str(meta["update_frequency"]),
        columns=columns,
        primary_key=_primary_key(node),
        relation=f"{quote_identifier(schema)}.{table}" if schema else table,
        title_sv=str(meta.get("title_sv") or ""),
        title_en=str(meta.get("title_en") or ""),
        description_sv=" ".join(str(meta.get("description_sv") or "").split()),
        themes=_as_tuple(meta.get("themes")),
        hvd_category=str(meta.get("hvd_category") or ""),
        time_column=str(meta.get("time_column") or ""),
        temporal_resolution=str(meta.get("temporal_resolution") or ""),
        suppression=read_suppression(meta.get("suppression")),
    )


def _as_tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
