"""Where a finished release goes: a local folder (the default) or an S3-compatible bucket.

Every release is assembled and verified in a local staging folder first (release.py).
A target then makes it visible, always in the same order: every file in place and
checked, and only then the `latest` pointer moved, so readers see the previous release
or the new one and never half of one. Choosing the bucket is configuration only:

- `STADSDATA_RELEASE_TARGET`: a local folder (default `STADSDATA_HOME/releases`) or
  `s3://bucket/prefix`;
- `STADSDATA_S3_ENDPOINT_URL`: the endpoint of an S3-compatible store (MinIO, Ceph, a
  test server); unset means AWS itself;
- credentials and region: the standard `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
  `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION` (or any other way boto3 finds them).

In a bucket a release is `<prefix>/<release id>/<file>`, each object with its media type,
`Cache-Control` (immutable), its SHA-256 as the object checksum (verified by the store on
upload) and as `x-amz-meta-sha256` (which every S3-compatible store keeps). The pointer
is the object `<prefix>/latest`: `{"release_id": ..., "created": ...}`. The local staging
folder stays a mirror of the bucket's recent releases, so the next release can carry a
held-back dataset forward and compare with the previous one without downloading it; a
fresh machine downloads the release `latest` names once, checked against its SHA256SUMS.
One publisher per bucket prefix at a time (the release schedule); the lock on the local
folder does not reach other machines.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from publishing.checksums import sha256_of, verify_sums
from publishing.errors import ReleaseError

TARGET_VARIABLE = "STADSDATA_RELEASE_TARGET"
ENDPOINT_VARIABLE = "STADSDATA_S3_ENDPOINT_URL"
LATEST = "latest"
LINK_PREFIX = ".latest-"
DOWNLOAD_PREFIX = ".download-"
GENERATED_ID = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".ttl": "text/turtle; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    "": "text/plain; charset=utf-8",  # SHA256SUMS
}
IMMUTABLE = "public, max-age=31536000, immutable"


class ReleaseTarget(ABC):
    """Where releases are published. `staging` is the local folder they are assembled in."""

    staging: Path

    @abstractmethod
    def latest(self) -> Path | None:
        """A local, complete copy of the release `latest` names, or None before the first."""

    @abstractmethod
    def publish(self, staged: Path, release_id: str, created: str) -> Path:
        """Make the verified, sealed folder `staged` the release `release_id` and point
        `latest` to it; return its local folder. On failure `latest` stays where it was."""

    @abstractmethod
    def prune(self, keep: int) -> list[str]:
        """Delete the oldest generated-id releases beyond `keep`, never the one `latest` names."""

    @abstractmethod
    def location(self, release_id: str) -> str:
        """Where readers find the release: a folder path or an s3:// address."""


def release_target(default: Path, environ: Mapping[str, str] = os.environ) -> ReleaseTarget:
    """The target `STADSDATA_RELEASE_TARGET` names; `default` (STADSDATA_HOME/releases) when
    unset. For a bucket, `default` is the local staging folder and mirror."""
    value = (environ.get(TARGET_VARIABLE) or "").strip()
    if not value:
        return LocalTarget(default)
    if value.startswith("s3://"):
        bucket, _, prefix = value.removeprefix("s3://").partition("/")
        return S3Target(bucket, prefix, default, endpoint_url=environ.get(ENDPOINT_VARIABLE) or None)
    if "://" in value:
        raise ValueError(f"{TARGET_VARIABLE}={value!r}: only a local folder or s3://bucket/prefix")
    return LocalTarget(Path(value).expanduser().absolute())


def latest_release(releases_dir: Path) -> Path | None:
    """The folder `releases_dir/latest` points to, or None when there is none yet."""
    link = releases_dir / LATEST
    if not link.is_symlink():
        if link.exists():
            raise ReleaseError(f"{link} exists but is not a symlink; refusing to replace it")
        return None
    target = releases_dir / os.readlink(link)
    return target if target.is_dir() else None


def release_order(name: str) -> tuple[str, int]:
    """Sort key of a generated release id: its second, then its `-N` suffix."""
    stamp, number = GENERATED_ID.match(name).groups()
    return stamp, int(number or 1)


def fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def doomed_releases(names: list[str], current: str | None, keep: int) -> list[str]:
    """The generated-id releases beyond the `keep` newest, oldest first, never `current`."""
    releases = sorted((n for n in names if GENERATED_ID.match(n)), key=release_order)
    return [name for name in releases[: max(len(releases) - keep, 0)] if name != current]


class LocalTarget(ReleaseTarget):
    """Releases in a local folder: `<folder>/<id>/` and the relative symlink `<folder>/latest`."""

    def __init__(self, folder: Path):
        self.staging = folder

    def latest(self) -> Path | None:
        return latest_release(self.staging)

    def publish(self, staged: Path, release_id: str, created: str) -> Path:
        """Rename the staged folder into place, then replace `latest` in one `os.replace`."""
        final = self.staging / release_id
        os.rename(staged, final)
        try:
            self.point_latest(release_id)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return final

    def point_latest(self, release_id: str) -> None:
        """Replace `latest` with a relative symlink to the release in one atomic step."""
        link = self.staging / f"{LINK_PREFIX}{release_id}"
        os.symlink(release_id, link)
        try:
            os.replace(link, self.staging / LATEST)
        except BaseException:
            link.unlink(missing_ok=True)
            raise
        fsync_directory(self.staging)

    def prune(self, keep: int) -> list[str]:
        current = os.readlink(self.staging / LATEST)
        folders = [p.name for p in self.staging.iterdir() if p.is_dir() and not p.is_symlink()]
        doomed = doomed_releases(folders, current, keep)
        for name in doomed:
            try:
                shutil.rmtree(self.staging / name)
            except OSError as exc:
                raise ReleaseError(
                    f"release {current} is published and latest points to it, "
                    f"but deleting old release {name} failed: {exc}"
                ) from exc
        return doomed

    def location(self, release_id: str) -> str:
        return str(self.staging / release_id)


class S3Target(ReleaseTarget):
    """Releases in an S3-compatible bucket under `prefix`, staged and mirrored in `mirror`."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        mirror: Path,
        *,
        endpoint_url: str | None = None,
        client: Any = None,
    ):
        if not bucket:
            raise ValueError("an s3:// release target needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.staging = mirror
        self.mirror = LocalTarget(mirror)
        self.client = client or _s3_client(endpoint_url)

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def location(self, release_id: str) -> str:
        return f"s3://{self.bucket}/{self.key(release_id)}/"

    def latest(self) -> Path | None:
        """The release the bucket's pointer names, from the mirror or downloaded into it."""
        pointer = self.pointer()
        if pointer is None:
            return None
        release_id = pointer["release_id"]
        local = self.staging / release_id
        if not local.is_dir():
            try:
                self._download(release_id)
            except ReleaseError:
                raise
            except Exception as exc:
                raise ReleaseError(f"cannot fetch {self.location(release_id)}: {exc}") from exc
        if os.path.realpath(self.staging / LATEST) != os.path.realpath(local):
            self.mirror.point_latest(release_id)
        return local

    def pointer(self) -> dict | None:
        """The bucket's `latest` pointer, or None before the first release."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(LATEST))["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
                "NoSuchKey",
                "404",
            ):
                return None
            raise ReleaseError(f"cannot read {self.location(LATEST).rstrip('/')}: {exc}") from exc
        try:
            pointer = json.loads(body)
        except ValueError:
            pointer = None
        if not isinstance(pointer, dict) or not SAFE_ID.match(str(pointer.get("release_id"))):
            raise ReleaseError(f"{self.location(LATEST).rstrip('/')} is not a release pointer")
        return pointer

    def publish(self, staged: Path, release_id: str, created: str) -> Path:
        """Upload every file, check each object, then move the pointer; then the mirror."""
        try:
            existing = self._objects(release_id)
        except Exception as exc:
            raise ReleaseError(f"cannot reach {self.location(release_id)}: {exc}") from exc
        if existing:
            raise ReleaseError(f"release {release_id} already exists at {self.location(release_id)}")
        digests: dict[Path, str] = {}
        try:
            for path in sorted(p for p in staged.rglob("*") if not p.is_dir()):
                digests[path] = sha256_of(path)
                self._upload(path, self.key(release_id, path.relative_to(staged).as_posix()), digests[path])
            self._verify(staged, release_id, digests)
            pointer = json.dumps({"release_id": release_id, "created": created}, indent=2) + "\n"
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(LATEST),
                Body=pointer.encode("utf-8"),
                ContentType="application/json",
                CacheControl="no-cache",
            )
        except Exception as exc:
            if self._pointer_names(release_id):  # the pointer was stored; only its answer was lost
                raise ReleaseError(
                    f"release {release_id} is published at {self.location(release_id)}, "
                    f"but writing its pointer reported: {exc}"
                ) from exc
            self._remove_partial(release_id)
            raise ReleaseError(
                f"uploading release {release_id} to {self.location(release_id)} failed; "
                f"latest still names the previous release: {exc}"
            ) from exc
        try:
            return self.mirror.publish(staged, release_id, created)
        except OSError as exc:
            raise ReleaseError(
                f"release {release_id} is published at {self.location(release_id)}, "
                f"but its local copy in {self.staging} failed: {exc}"
            ) from exc

    def prune(self, keep: int) -> list[str]:
        """Delete old releases from the bucket, then from the mirror; returns the bucket's."""
        pointer = self.pointer()
        current = pointer["release_id"] if pointer else None
        doomed = doomed_releases(self._release_ids(), current, keep)
        for release_id in doomed:
            try:
                self._delete(list(self._objects(release_id)))
            except Exception as exc:
                raise ReleaseError(
                    f"release {current} is published and latest points to it, "
                    f"but deleting old release {self.location(release_id)} failed: {exc}"
                ) from exc
        self.mirror.prune(keep)
        return doomed

    def _pointer_names(self, release_id: str) -> bool:
        try:
            pointer = self.pointer()
        except ReleaseError:
            return False
        return pointer is not None and pointer["release_id"] == release_id

    def _remove_partial(self, release_id: str) -> None:
        """Best effort: objects of a failed upload are invisible (no pointer names them),
        and a later run would find the id taken, so try to remove them now."""
        try:
            self._delete(list(self._objects(release_id)))
        except Exception:  # the upload's own error is the one to report
            pass

    def _upload(self, path: Path, key: str, digest: str) -> None:
        self.client.upload_file(
            str(path),
            self.bucket,
            key,
            ExtraArgs={
                "ContentType": MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                "CacheControl": IMMUTABLE,
                "Metadata": {"sha256": digest},
                "ChecksumAlgorithm": "SHA256",
            },
        )

    def _verify(self, staged: Path, release_id: str, digests: dict[Path, str]) -> None:
        """The bucket holds exactly the staged files, each with its size and SHA-256."""
        expected = {self.key(release_id, p.relative_to(staged).as_posix()): p for p in digests}
        listed = self._objects(release_id)
        missing = sorted(set(expected) - set(listed))
        extra = sorted(set(listed) - set(expected))
        if missing or extra:
            raise ReleaseError(
                f"the bucket does not hold the release as staged: missing {missing}, extra {extra}"
            )
        for key, path in expected.items():
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            digest = digests[path]
            stored = head.get("ChecksumSHA256")
            if (
                head["ContentLength"] != path.stat().st_size
                or head.get("Metadata", {}).get("sha256") != digest
                or (stored and "-" not in stored and stored != _base64(digest))
            ):
                raise ReleaseError(f"{key} in the bucket does not match the staged file")

    def _objects(self, release_id: str) -> dict[str, int]:
        """Every object of one release: key -> size."""
        objects = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key(release_id) + "/"):
            objects.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return objects

    def _release_ids(self) -> list[str]:
        prefix = self.key("") + "/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        ids = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            ids.extend(p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", []))
        return ids

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                raise ReleaseError(
                    f"could not delete {answer['Errors'][0].get('Key')}: {answer['Errors'][0]}"
                )

    def _download(self, release_id: str) -> None:
        """Copy a published release into the mirror, checked against its own SHA256SUMS."""
        temp = self.staging / f"{DOWNLOAD_PREFIX}{release_id}"
        shutil.rmtree(temp, ignore_errors=True)
        try:
            base = self.key(release_id) + "/"
            for key in self._objects(release_id):
                relative = Path(key.removeprefix(base))
                if relative.is_absolute() or ".." in relative.parts:
                    raise ReleaseError(f"{key} in the bucket names a path outside its release")
                path = temp / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                self.client.download_file(self.bucket, key, str(path))
            problems = verify_sums(temp)
            if problems:
                raise ReleaseError(
                    f"release {self.location(release_id)} does not verify: {'; '.join(problems)}"
                )
            for path in temp.rglob("*"):
                if path.is_file():
                    path.chmod(0o444)
            os.rename(temp, self.staging / release_id)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise


def _s3_client(endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


def _base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
