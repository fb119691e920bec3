"""Open-data releases: the last stage of the flow, from the warehouse's open_* models to
`releases/<id>/` (CSV, Parquet, datapackage.json, SHA256SUMS, RELEASE_NOTES.md) and
`releases/latest`."""

from publishing.datasets import Column, NotPublishable, OpenDataset, open_datasets_from_manifest
from publishing.release import Release, ReleaseError, latest_release, publish_release

__all__ = [
    "Column",
    "NotPublishable",
    "OpenDataset",
    "Release",
    "ReleaseError",
    "latest_release",
    "open_datasets_from_manifest",
    "publish_release",
]
