"""Open-data releases: the last stage of the flow, from the warehouse's open_* models to
`releases/<id>/` (CSV, Parquet, datapackage.json, SHA256SUMS, RELEASE_NOTES.md) and
`releases/latest`."""

from publishing.datasets import Column, NotPublishable, OpenDataset, open_datasets_from_manifest
from publishing.errors import ReleaseError
from publishing.privacy import PrivacyViolation
from publishing.release import Release, publish_release
from publishing.storage import LocalTarget, ReleaseTarget, S3Target, latest_release, release_target

__all__ = [
    "Column",
    "LocalTarget",
    "NotPublishable",
    "OpenDataset",
    "PrivacyViolation",
    "Release",
    "ReleaseError",
    "ReleaseTarget",
    "S3Target",
    "latest_release",
    "open_datasets_from_manifest",
    "publish_release",
    "release_target",
]
