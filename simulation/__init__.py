"""The demo-data generator: a simulated Stockholm whose departments drop files into the
landing zone in the formats (and with the quirks) of the real source systems.

One module per source (`air_quality`, `traffic_counts`, `districts`, `iot_devices`), all
drawing on one city model (`city`: real district polygons, registered devices, the
period simulated). `generate_landing` writes them all.
"""

from simulation.landing import DEFAULT_START, GenerationSummary, generate_landing
from simulation.landing_files import GeneratedFile

__all__ = ["DEFAULT_START", "GeneratedFile", "GenerationSummary", "generate_landing"]
