"""Releases to an S3-compatible bucket, through the same publish_release as a local folder.

A moto server runs on a free loopback port for this module; boto3 talks to it over real
HTTP with dummy credentials, exactly as it would to MinIO or AWS.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import duckdb
import pytest
from moto.server import ThreadedMotoServer

from publishing import (
    Column,
    LocalTarget,
    OpenDataset,
    ReleaseError,
    S3Target,
    publish_release,
    release_target,
)
from publishing.checksums import sha256_of
from publishing.storage import ENDPOINT_VARIABLE, TARGET_VARIABLE

PREFIX = "open-data/releases"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory) -> Iterator[str]:
    """A moto S3 server for the module, with dummy credentials and no local AWS config."""
    nowhere = tmp_path_factory.mktemp("aws") / "none"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "stadsdata-test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "stadsdata-test-secret")
        env.setenv("AWS_DEFAULT_REGION", "eu-north-1")
        env.setenv("AWS_CONFIG_FILE", str(nowhere))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3(endpoint):
    return boto3.client("s3", endpoint_url=endpoint)


@pytest.fixture
def bucket(s3) -> str:
    name = f"stadsdata-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    return name


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "stadsdata.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE open_districts (district VARCHAR, population INTEGER)")
        con.execute("INSERT INTO open_districts VALUES ('Södermalm', 132000), ('Kista', 39000)")
        con.execute("CREATE TABLE open_counts (site_id VARCHAR, hour_utc TIMESTAMPTZ, vehicles BIGINT)")
        con.execute(
            "INSERT INTO open_counts SELECT 'TR-0101', TIMESTAMPTZ '2026-11-01 00:00:00+00' + "
            "INTERVAL (i) HOUR, 100 + i FROM range(48) t(i)"
        )
    return path


DATASETS = [
    OpenDataset(
        "open_districts", "Districts", "Stadsdelsområden.", "sbk", "open", "CC-BY-4.0", "annual",
        [Column("district", "string"), Column("population", "integer")], ["district"],
    ),
    OpenDataset(
        "open_counts", "Traffic counts", "Fordon per timme.", "trafik", "open", "CC0-1.0", "hourly",
        [Column("site_id", "string"), Column("hour_utc", "datetime"), Column("vehicles", "integer")],
        ["site_id", "hour_utc"],
    ),
]  # fmt: skip


def target_for(endpoint: str, bucket: str, mirror: Path) -> S3Target:
    """The target as the release asset builds it: from the environment alone."""
    environ = {TARGET_VARIABLE: f"s3://{bucket}/{PREFIX}", ENDPOINT_VARIABLE: endpoint}
    target = release_target(mirror, environ)
    assert isinstance(target, S3Target)
    return target


def objects(s3, bucket: str, prefix: str) -> dict[str, int]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert not listed["IsTruncated"]
    return {item["Key"]: item["Size"] for item in listed.get("Contents", [])}


def pointer(s3, bucket: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=f"{PREFIX}/latest")["Body"].read())


def test_release_target_comes_from_the_environment(tmp_path):
    default = tmp_path / "releases"
    assert isinstance(release_target(default, {}), LocalTarget)
    assert release_target(default, {}).staging == default
    elsewhere = release_target(default, {TARGET_VARIABLE: str(tmp_path / "published")})
    assert isinstance(elsewhere, LocalTarget) and elsewhere.staging == tmp_path / "published"
    bucket = release_target(default, {TARGET_VARIABLE: "s3://city-open-data/releases/"})
    assert (bucket.bucket, bucket.prefix, bucket.staging) == ("city-open-data", "releases", default)
    assert bucket.location("20261128T000000Z") == "s3://city-open-data/releases/20261128T000000Z/"
    with pytest.raises(ValueError, match="only a local folder or s3://"):
        release_target(default, {TARGET_VARIABLE: "ftp://example.org/releases"})
    with pytest.raises(ValueError, match="needs a bucket"):
        release_target(default, {TARGET_VARIABLE: "s3:///releases"})


@pytest.mark.slow
def test_a_release_is_uploaded_whole_and_then_pointed_to(endpoint, s3, bucket, warehouse, tmp_path):
    target = target_for(endpoint, bucket, tmp_path / "releases")
    release = publish_release(warehouse, DATASETS, target)
    assert release.location == f"s3://{bucket}/{PREFIX}/{release.id}/"
    local = {p.relative_to(release.path).as_posix(): p for p in release.path.rglob("*") if p.is_file()}
    assert {"SHA256SUMS", "open_districts.csv", "open_counts.parquet"} <= set(local)
    base = f"{PREFIX}/{release.id}/"
    assert objects(s3, bucket, base) == {base + name: path.stat().st_size for name, path in local.items()}
    sums = dict(
        reversed(line.split("  ", 1)) for line in (release.path / "SHA256SUMS").read_text().splitlines()
    )
    for name, path in local.items():
        head = s3.head_object(Bucket=bucket, Key=base + name)
        assert head["Metadata"]["sha256"] == sha256_of(path)
        body = s3.get_object(Bucket=bucket, Key=base + name)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sums.get(name, sha256_of(path))
    content_types = {
        name: s3.head_object(Bucket=bucket, Key=base + name)["ContentType"]
        for name in ("open_districts.csv", "open_districts.parquet", "datapackage.json", "SHA256SUMS")
    }
    assert content_types == {
        "open_districts.csv": "text/csv; charset=utf-8",
        "open_districts.parquet": "application/vnd.apache.parquet",
        "datapackage.json": "application/json",
        "SHA256SUMS": "text/plain; charset=utf-8",
    }
    assert pointer(s3, bucket) == {"release_id": release.id, "created": release.created}
    assert os.readlink(tmp_path / "releases" / "latest") == release.id  # the local mirror


@pytest.mark.slow
def test_a_failed_upload_leaves_the_pointer_and_nothing_half_visible(
    endpoint, s3, bucket, warehouse, tmp_path
):
    target = target_for(endpoint, bucket, tmp_path / "releases")
    first = publish_release(warehouse, DATASETS, target)
    staged = tmp_path / "releases" / ".tmp-20991231T000000Z"
    shutil.copytree(first.path, staged)
    # a file that cannot be read (as root, chmod would not stop the read): sorted last,
    # so the release's other files are already in the bucket when it fails
    (staged / "zz-unreadable.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(ReleaseError, match="latest still names the previous release"):
        target.publish(staged, "20991231T000000Z", "2099-12-31T00:00:00Z")
    assert pointer(s3, bucket)["release_id"] == first.id
    assert objects(s3, bucket, f"{PREFIX}/20991231T000000Z/") == {}
    assert os.readlink(tmp_path / "releases" / "latest") == first.id
    assert not (tmp_path / "releases" / "20991231T000000Z").exists()
    published = objects(s3, bucket, f"{PREFIX}/{first.id}/")
    with pytest.raises(ReleaseError, match="already exists"):  # releases are never modified
        target.publish(staged, first.id, first.created)
    assert objects(s3, bucket, f"{PREFIX}/{first.id}/") == published


@pytest.mark.slow
def test_a_bucket_that_does_not_exist_stops_the_release_before_anything_moves(endpoint, warehouse, tmp_path):
    mirror = tmp_path / "releases"
    local = publish_release(warehouse, DATASETS, mirror)  # an earlier local release in the mirror
    before = sorted(p.name for p in mirror.iterdir())
    with pytest.raises(ReleaseError, match="no-such-bucket"):
        publish_release(warehouse, DATASETS, target_for(endpoint, "no-such-bucket", mirror))
    assert os.readlink(mirror / "latest") == local.id
    assert sorted(p.name for p in mirror.iterdir()) == before


@pytest.mark.slow
def test_old_releases_are_pruned_from_the_bucket_and_the_mirror(endpoint, s3, bucket, warehouse, tmp_path):
    target = target_for(endpoint, bucket, tmp_path / "releases")
    ids = [publish_release(warehouse, DATASETS, target, keep=2).id for _ in range(3)]
    assert pointer(s3, bucket)["release_id"] == ids[-1]
    remote = {key.removeprefix(PREFIX + "/").split("/")[0] for key in objects(s3, bucket, PREFIX + "/")}
    assert remote == {*ids[1:], "latest"}
    local = {p.name for p in (tmp_path / "releases").iterdir() if not p.name.startswith(".")}
    assert local == {*ids[1:], "latest"}


@pytest.mark.slow
def test_a_fresh_machine_fetches_the_latest_release_to_carry_a_dataset_forward(
    endpoint, s3, bucket, warehouse, tmp_path
):
    first = publish_release(warehouse, DATASETS, target_for(endpoint, bucket, tmp_path / "first-machine"))
    fresh = target_for(endpoint, bucket, tmp_path / "fresh-machine")
    reason = "population not delivered"
    second = publish_release(warehouse, DATASETS, fresh, held_back={"open_districts": reason})
    assert second.carried_forward == {"open_districts": first.id}
    for suffix in ("csv", "parquet"):
        key = f"{PREFIX}/{second.id}/open_districts.{suffix}"
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == (first.path / f"open_districts.{suffix}").read_bytes()
    assert (tmp_path / "fresh-machine" / first.id / "SHA256SUMS").is_file()  # fetched and kept
    assert pointer(s3, bucket)["release_id"] == second.id
