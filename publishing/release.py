"""Assemble an open-data release folder and move `releases/latest` to it atomically.

A release is written under `releases/.tmp-<id>/`, checked against its own SHA256SUMS,
made read-only and renamed to `releases/<id>/`; only then does `latest` move, by
replacing it with a new symlink in one `os.replace`. Readers therefore see either the
previous release or the new one, never a half-written folder, and a failure at any
step leaves `latest` where it was and no temporary folder behind. Published releases
are never modified: each publication is a new folder, and old ones are only deleted
whole, beyond the `keep` newest.

The privacy gate (privacy.py) checks the exported files before anything else is written;
the target (storage.py: a local folder, or an S3-compatible bucket staged locally) makes a
verified release visible and prunes old ones.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from publishing.catalog import CATALOG_TTL, CatalogError, validate_catalog, write_catalog
from publishing.checksums import sha256_of, verify_sums, write_sums
from publishing.datapackage import (
    csv_resource,
    data_package,
    dataset_of,
    geojson_resource,
    parquet_resource,
    resources_of,
)
from publishing.datasets import OpenDataset
from publishing.errors import ReleaseError
from publishing.export import ExportedDataset, export_dataset, sql_string, warehouse_problems
from publishing.geojson import LocationError
from publishing.notes import changes_since, release_notes
from publishing.portal import write_portal
from publishing.privacy import check_privacy
from publishing.storage import (
    GENERATED_ID,
    LATEST,
    LINK_PREFIX,
    SAFE_ID,
    LocalTarget,
    ReleaseTarget,
    fsync_directory,
    release_order,
)

TEMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"
PACKAGE_FILE = "datapackage.json"
NOTES_FILE = "RELEASE_NOTES.md"
QUALITY_FILE = "quality.json"


@dataclass(frozen=True)
class Release:
    id: str
    path: Path
    datasets: dict[str, int]  # published from the warehouse: name -> rows
    held_back: dict[str, str]  # name -> reason
    carried_forward: dict[str, str] = field(default_factory=dict)  # name -> release it came from
    pruned: list[str] = field(default_factory=list)  # release ids deleted beyond `keep`
    created: str = ""
    location: str = ""  # where readers find it: the folder, or s3://bucket/prefix/<id>/


def publish_release(
    warehouse: Path,
    datasets: list[OpenDataset],
    releases: Path | ReleaseTarget,
    *,
    release_id: str | None = None,
    keep: int = 10,
    held_back: dict[str, str] | None = None,
    quality: dict | None = None,
    year_split_rows: int | None = None,
) -> Release:
    """Publish `datasets` from the DuckDB `warehouse` (opened read-only) as a new release.

    Datasets named in `held_back` ({name: reason}) are not exported; when the previous
    `latest` release has one, its files are copied forward unchanged and the notes say so.
    `quality` (any JSON-serialisable summary) is stored as `quality.json` and summarised
    in the notes. A dataset with more rows than `year_split_rows` (default: open_data.yaml)
    is published as one file per year. Raises ReleaseError (or ValueError for bad arguments)
    and then leaves `latest` untouched and no temporary folder.

    `releases` is the local releases folder, or a ReleaseTarget (storage.release_target:
    a local folder or an S3-compatible bucket, staged in its local folder).
    """
    target = releases if isinstance(releases, ReleaseTarget) else LocalTarget(releases)
    releases_dir = target.staging
    held_back = dict(held_back or {})
    _check_arguments(warehouse, datasets, keep)
    releases_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    with _exclusive(releases_dir):
        _remove_leftovers(releases_dir)
        previous = target.latest()
        release_id = _claim_id(releases_dir, release_id, now)
        temp = releases_dir / f"{TEMP_PREFIX}{release_id}"
        try:
            temp.mkdir()
            contents = _assemble(
                temp, warehouse, datasets, previous, held_back, quality, release_id, created, year_split_rows
            )
            problems = verify_sums(temp)
            if problems:
                raise ReleaseError(f"release {release_id} does not verify: {'; '.join(problems)}")
            _seal(temp)
            final = target.publish(temp, release_id, created)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        pruned = target.prune(keep)
    rows, carried = contents
    return Release(
        id=release_id,
        path=final,
        datasets={name: count for name, count in rows.items() if name not in carried},
        held_back=held_back,
        carried_forward=carried,
        pruned=pruned,
        created=created,
        location=target.location(release_id),
    )


def _check_arguments(warehouse: Path, datasets: list[OpenDataset], keep: int) -> None:
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the release just published), not {keep}")
    names = [d.name for d in datasets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"datasets named more than once: {', '.join(duplicates)}")
    if not warehouse.is_file():
        raise ReleaseError(f"warehouse {warehouse} does not exist")


def _assemble(
    folder: Path,
    warehouse: Path,
    datasets: list[OpenDataset],
    previous: Path | None,
    held_back: dict[str, str],
    quality: dict | None,
    release_id: str,
    created: str,
    year_split_rows: int | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    """Write every file of the release into `folder`; return (rows per dataset, carried)."""
    to_publish = [d for d in datasets if d.name not in held_back]
    exported = _export_all(warehouse, to_publish, folder, year_split_rows)
    rows = {name: export.rows for name, export in exported.items()}
    check_privacy(folder, to_publish)
    digests: dict[str, str] = {}
    resources = []
    for dataset in to_publish:
        for part in exported[dataset.name].parts:
            for path, describe in (
                (part.csv, csv_resource),
                (part.parquet, parquet_resource),
                (part.geojson, geojson_resource),
            ):
                if path is not None:
                    digests[path.name] = sha256_of(path)
                    resources.append(describe(dataset, path, digests[path.name], part.part))
    previous_package = _read_package(previous)
    carried = {}
    for name in sorted(held_back):
        copied = _carry_forward(previous, previous_package, name, folder)
        if copied:
            resources.extend(copied)
            digests.update({r["path"]: r["hash"].removeprefix("sha256:") for r in copied})
            carried[name] = copied[0]["carried_forward_from"]
            rows[name] = _count_rows(folder, copied)
    if not resources:
        raise ReleaseError("nothing to publish: every dataset is held back with no earlier version")
    if quality is not None:
        digests[QUALITY_FILE] = _write_json(folder / QUALITY_FILE, quality)
    changes = changes_since(
        previous, previous_package.get("resources", []), folder, resources, datasets, rows, carried
    )
    package = data_package(release_id, created, resources, changes)
    digests[PACKAGE_FILE] = _write_json(folder / PACKAGE_FILE, package)
    published = {d.name for d in datasets} | set(held_back)
    removed = sorted({dataset_of(r) for r in previous_package.get("resources", [])} - published)
    notes = release_notes(
        release_id=release_id,
        created=created,
        resources=resources,
        rows=rows,
        held_back=held_back,
        carried_forward=carried,
        removed=removed,
        quality=quality,
        changes=changes,
    )
    (folder / NOTES_FILE).write_text(notes, encoding="utf-8", newline="\n")
    digests[NOTES_FILE] = sha256_of(folder / NOTES_FILE)
    digests.update(_write_catalogue(folder, datasets, release_id, created))
    digests.update(
        write_portal(
            folder,
            datasets,
            resources,
            rows=rows,
            held_back=held_back,
            carried_forward=carried,
            quality=quality,
            changes=changes,
            release_id=release_id,
            created=created,
        )
    )
    write_sums(folder, digests)
    return rows, carried


def _write_catalogue(folder: Path, datasets: list[OpenDataset], release_id: str, created: str) -> dict:
    """catalog.ttl and catalog.jsonld, validated offline (DCAT-AP 3, HVD, DCAT-AP-SE, the files):
    a catalogue that does not validate stops the release, so `latest` never points to one."""
    try:
        digests = write_catalog(folder, datasets, release_id, created)
    except CatalogError as exc:
        raise ReleaseError(f"the catalogue cannot be written: {exc}") from exc
    problems = validate_catalog(folder / CATALOG_TTL)
    if problems:
        raise ReleaseError("the catalogue does not validate:\n" + "\n".join(f"  - {p}" for p in problems))
    return digests


def _export_all(
    warehouse: Path, datasets: list[OpenDataset], folder: Path, year_split_rows: int | None = None
) -> dict[str, ExportedDataset]:
    """Export each dataset, after checking all of them, so one error report names every problem."""
    if not datasets:
        return {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise ReleaseError(f"cannot open warehouse {warehouse} read-only: {exc}") from exc
    try:
        problems = [p for d in datasets for p in warehouse_problems(con, d)]
        if problems:
            raise ReleaseError("the warehouse does not match the datasets: " + "; ".join(problems))
        exported = {}
        for dataset in datasets:
            try:
                exported[dataset.name] = export_dataset(con, dataset, folder, year_split_rows=year_split_rows)
            except (duckdb.Error, LocationError) as exc:
                raise ReleaseError(f"exporting {dataset.name} failed: {exc}") from exc
        return exported
    finally:
        con.close()


def _read_package(release: Path | None) -> dict:
    if release is None or not (release / PACKAGE_FILE).is_file():
        return {}
    return json.loads((release / PACKAGE_FILE).read_text(encoding="utf-8"))


def _carry_forward(previous: Path | None, package: dict, name: str, folder: Path) -> list[dict]:
    """Copy a held-back dataset's files from the previous release, checked against their hashes.

    The descriptors are copied too: the old files keep the schema they were published with.
    """
    resources = [dict(r) for r in resources_of(package.get("resources", []), name)]
    for resource in resources:
        file_name = resource["path"]
        if Path(file_name).name != file_name:
            raise ReleaseError(f"previous release names an unexpected path {file_name!r}")
        shutil.copyfile(previous / file_name, folder / file_name)
        if f"sha256:{sha256_of(folder / file_name)}" != resource.get("hash"):
            raise ReleaseError(
                f"{file_name} in release {previous.name} does not match its recorded hash; "
                "not carrying it forward"
            )
        resource["carried_forward_from"] = resource.get("carried_forward_from") or previous.name
    return resources


def _count_rows(folder: Path, resources: list[dict]) -> int | None:
    """Rows of a carried-forward dataset, from its Parquet footers (no data is read)."""
    paths = [sql_string(str(folder / r["path"])) for r in resources if r.get("format") == "parquet"]
    if not paths:
        return None
    with duckdb.connect() as con:
        return con.execute(f"SELECT count(*) FROM read_parquet([{', '.join(paths)}])").fetchone()[0]


def _write_json(path: Path, content: dict) -> str:
    text = json.dumps(content, ensure_ascii=False, indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
    return sha256_of(path)


@contextmanager
def _exclusive(releases_dir: Path) -> Iterator[None]:
    """One publisher at a time: two runs must not claim the same id or prune each other."""
    with (releases_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(releases_dir: Path) -> None:
    """Remove temporary folders and links a killed run left behind (safe: we hold the lock)."""
    for path in releases_dir.iterdir():
        if path.name.startswith(LINK_PREFIX) and path.is_symlink():
            path.unlink()
        elif path.name.startswith(TEMP_PREFIX) and path.is_dir():
            shutil.rmtree(path)


def _claim_id(releases_dir: Path, requested: str | None, now: datetime) -> str:
    """The requested id, or a UTC timestamp id, suffixed `-2`, `-3`... within one second.

    The suffix continues after the highest one still present for that second, so an id
    is never reused even after pruning deleted the release that first had it.
    """
    if requested is not None:
        if not SAFE_ID.match(requested) or requested == LATEST:
            raise ValueError(f"release id {requested!r} is not a plain folder name")
        if (releases_dir / requested).exists():
            raise ReleaseError(f"release {requested} already exists; releases are never modified")
        return requested
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    taken = [
        release_order(p.name)[1]
        for p in releases_dir.iterdir()
        if GENERATED_ID.match(p.name) and p.name.startswith(stamp)
    ]
    return f"{stamp}-{max(taken) + 1}" if taken else stamp


def _seal(folder: Path) -> None:
    """Make every file read-only and durable before the folder becomes visible."""
    for path in folder.iterdir():
        path.chmod(0o444)
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    fsync_directory(folder)
