"""`python -m publishing.shapes CATALOG_FILE...`: check release catalogues by hand, offline,
with every check a release runs (publishing.catalog.validate_catalog)."""

import sys

from publishing.catalog import main

sys.exit(main())
