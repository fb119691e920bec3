"""The demo-data generator: a simulated Stockholm whose departments drop files into the
landing zone in the formats (and with the quirks) of the real source systems.

One module per source (`air_quality`, `traffic_counts`, `districts`, `iot_devices`,
`waste_fill_levels`, `street_lighting`, `smart_meters`, `water_levels`,
`care_supervision`, `eservice_usage`), all drawing on one city model (`city`: real
district polygons, registered devices, the period simulated). `generate_landing` writes
them all. The persons in `care_supervision` and the users in `eservice_usage` are
synthetic: see those modules for how their identifiers are made.
"""

from simulation.landing import DEFAULT_START, GenerationSummary, generate_landing
from simulation.landing_files import GeneratedFile

__all__ = ["DEFAULT_START", "GeneratedFile", "GenerationSummary", "generate_landing"]
