"""The departments' device registry exports: one CSV per owner, whole registry each time.

Besides each owner's first export, miljö sends a later export that no longer lists one
sensor (`<owner>_devices_<date>.csv`, which sorts and arrives after the first): a later
file from the same owner replaces the earlier one.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from simulation.city import City, Device, Period, RegistryUpdate, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "iot_devices"
HEADER = (
    "device_id",
    "owner",
    "device_type",
    "purpose",
    "lat",
    "lon",
    "installed_at",
    "decommissioned_at",
    "shared_with",
)


def registry_row(device: Device) -> list[str]:
    return [
        device.device_id,
        device.owner,
        device.device_type,
        device.purpose,
        f"{device.lat:.6f}",
        f"{device.lon:.6f}",
        device.installed_at.isoformat(),
        device.decommissioned_at.isoformat() if device.decommissioned_at else "",
        "|".join(device.shared_with),
    ]


def registry_bytes(devices: list[Device]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(registry_row(d) for d in sorted(devices, key=lambda d: d.device_id))
    return buffer.getvalue().encode()


def generate(city: City, period: Period, update: RegistryUpdate) -> list[LandingFile]:
    first_export = local_midnight(period.start) - timedelta(days=7) + timedelta(hours=7)
    files = []
    for owner in city.owners():
        devices = [d for d in city.devices if d.owner == owner]
        record = GeneratedFile(SOURCE, f"{SOURCE}/{owner}_devices.csv", len(devices), first_export)
        files.append(LandingFile(record, registry_bytes(devices)))
    kept = [d for d in city.devices if d.owner == update.owner and d.device_id not in update.dropped]
    later = local_midnight(update.exported_on) + timedelta(hours=6)
    path = f"{SOURCE}/{update.owner}_devices_{update.exported_on.isoformat()}.csv"
    files.append(LandingFile(GeneratedFile(SOURCE, path, len(kept), later), registry_bytes(kept)))
    return files
