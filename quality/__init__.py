"""Quality gates: Great Expectations suites kept as YAML, run on the data handed in.

`suites` loads and checks the suite files, `validation` runs them (importing Great
Expectations only then, as it takes seconds), `history` keeps every result.
"""

from quality.suites import Suite, SuiteError, load_suite, suite_datasets, suite_for
from quality.validation import ExpectationResult, SuiteResult, validate

__all__ = [
    "ExpectationResult",
    "Suite",
    "SuiteError",
    "SuiteResult",
    "load_suite",
    "suite_datasets",
    "suite_for",
    "validate",
]
