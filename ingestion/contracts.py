"""Source contracts: the declarative description of what each department sends.

One YAML file per source in `ingestion/contracts/`. The contract is data, not code: it
names the owner and classification the platform must carry along, the columns with
their types, units and allowed values, and the keys that identify a reading. The
readers apply it; nothing about a source's columns is hard-coded elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CONTRACTS_DIR = Path(__file__).parent / "contracts"

OWNERS = ("ks", "miljo", "trafik", "svoa", "aldre", "sbk", "svbo")
CLASSIFICATIONS = ("open", "internal", "confidential", "sensitive")
COLUMN_TYPES = ("string", "integer", "float", "boolean", "date", "timestamp")
FORMATS = ("csv", "jsonl", "json_array", "geojson", "xlsx")
UPDATE_FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "annual")
# How a pseudonymised identifier is checked and normalised before it is hashed.
IDENTIFIER_KINDS = ("personnummer", "text")


class ContractError(ValueError):
    """A contract file is malformed; raised at load time so a bad contract never runs."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    source: str
    description: str
    required: bool = False
    unit: str | None = None
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    pii: bool = False
    pseudonymise: bool = False  # replaced by a keyed pseudonym at ingestion (pii columns only)
    identifier: str = "text"  # how a pseudonymised value is checked: personnummer or text
    pattern: str | None = None  # regular expression a (string) value must match
    formats: tuple[str, ...] | None = None  # strptime formats of a timestamp; no %z = local time


@dataclass(frozen=True)
class Table:
    name: str
    format: str
    patterns: tuple[str, ...]
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    header: tuple[str, ...] = ()
    delimiter: str = ","
    decimal_comma: bool = False
    encodings: tuple[str, ...] = ("utf-8",)
    summary_prefix: str | None = None

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def pii(self) -> bool:
        """Some column identifies a person: reasons and messages must not quote values."""
        return any(c.pii for c in self.columns)

    @property
    def pseudonymised(self) -> list[Column]:
        return [c for c in self.columns if c.pseudonymise]


@dataclass(frozen=True)
class Contract:
    source: str
    title: str
    description: str
    owner: str
    classification: str
    pii: bool
    update_frequency: str
    tables: tuple[Table, ...]
    device_key: str | None = None
    late_arrival_days: int = 0
    path: Path = field(default=Path(), compare=False)

    @property
    def pseudonymised(self) -> bool:
        """Some column is replaced by a keyed pseudonym: ingestion needs the key."""
        return any(t.pseudonymised for t in self.tables)

    def table_for(self, file_name: str) -> Table | None:
        """The table whose file patterns match `file_name`, first match wins."""
        from fnmatch import fnmatch

        for table in self.tables:
            if any(fnmatch(file_name, pattern) for pattern in table.patterns):
                return table
        return None


def _require(data: dict, key: str, where: str):
    if key not in data or data[key] in (None, ""):
        raise ContractError(f"{where}: missing '{key}'")
    return data[key]


def _column(data: dict, where: str) -> Column:
    name = _require(data, "name", where)
    where = f"{where} column {name}"
    kind = _require(data, "type", where)
    if kind not in COLUMN_TYPES:
        raise ContractError(f"{where}: unknown type '{kind}' (one of {', '.join(COLUMN_TYPES)})")
    allowed = data.get("allowed")
    formats = data.get("formats")
    column = Column(
        name=name,
        type=kind,
        source=str(data.get("source", name)),
        description=_require(data, "description", where),
        required=bool(data.get("required", False)),
        unit=data.get("unit"),
        allowed=tuple(str(a) for a in allowed) if allowed else None,
        min=data.get("min"),
        max=data.get("max"),
        pii=bool(data.get("pii", False)),
        pseudonymise=bool(data.get("pseudonymise", False)),
        identifier=str(data.get("identifier", "text")),
        pattern=data.get("pattern"),
        formats=tuple(str(f) for f in formats) if formats else None,
    )
    _check_column(column, data, where)
    return column


def _check_column(column: Column, data: dict, where: str) -> None:
    """Rules that keep personal data from slipping through a contract's wording."""
    if column.pseudonymise and not column.pii:
        raise ContractError(f"{where}: pseudonymise needs pii: true")
    if column.pseudonymise and column.type != "string":
        raise ContractError(f"{where}: a pseudonymised column must be of type string")
    if "identifier" in data and not column.pseudonymise:
        raise ContractError(f"{where}: identifier applies only to a pseudonymised column")
    if column.identifier not in IDENTIFIER_KINDS:
        raise ContractError(
            f"{where}: unknown identifier '{column.identifier}' (one of {', '.join(IDENTIFIER_KINDS)})"
        )
    if column.formats and column.type != "timestamp":
        raise ContractError(f"{where}: formats apply only to a timestamp column")
    if column.pattern is not None:
        if column.type != "string":
            raise ContractError(f"{where}: pattern applies only to a string column")
        try:
            re.compile(column.pattern)
        except re.error as error:
            raise ContractError(f"{where}: pattern is not a regular expression: {error}") from error


def _table(name: str, data: dict, where: str) -> Table:
    where = f"{where} table {name}"
    fmt = _require(data, "format", where)
    if fmt not in FORMATS:
        raise ContractError(f"{where}: unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    columns = tuple(_column(c, where) for c in _require(data, "columns", where))
    names = [c.name for c in columns]
    keys = tuple(_require(data, "keys", where))
    for key in keys:
        if key not in names:
            raise ContractError(f"{where}: key '{key}' is not a column")
    return Table(
        name=name,
        format=fmt,
        patterns=tuple(_require(data, "patterns", where)),
        columns=columns,
        keys=keys,
        header=tuple(data.get("header", ())),
        delimiter=data.get("delimiter", ","),
        decimal_comma=bool(data.get("decimal_comma", False)),
        encodings=tuple(data.get("encodings", ("utf-8",))),
        summary_prefix=data.get("summary_prefix"),
    )


def load_contract(path: Path) -> Contract:
    """Parse and check one contract file; every problem names the file and the field."""
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ContractError(f"{where}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ContractError(f"{where}: expected a mapping")
    owner = _require(data, "owner", where)
    if owner not in OWNERS:
        raise ContractError(f"{where}: unknown owner '{owner}' (one of {', '.join(OWNERS)})")
    classification = _require(data, "classification", where)
    if classification not in CLASSIFICATIONS:
        raise ContractError(
            f"{where}: unknown classification '{classification}' (one of {', '.join(CLASSIFICATIONS)})"
        )
    frequency = _require(data, "update_frequency", where)
    if frequency not in UPDATE_FREQUENCIES:
        raise ContractError(f"{where}: unknown update_frequency '{frequency}'")
    tables = tuple(_table(n, t, where) for n, t in _require(data, "tables", where).items())
    contract = Contract(
        source=_require(data, "source", where),
        title=_require(data, "title", where),
        description=_require(data, "description", where),
        owner=owner,
        classification=classification,
        pii=bool(data.get("pii", False)),
        update_frequency=frequency,
        tables=tables,
        device_key=data.get("device_key"),
        late_arrival_days=int(data.get("late_arrival_days", 0)),
        path=path,
    )
    if contract.device_key and not all(contract.device_key in t.column_names for t in tables):
        raise ContractError(f"{where}: device_key '{contract.device_key}' is not a column")
    if any(t.pii for t in tables) and not contract.pii:
        raise ContractError(f"{where}: a column is pii, so the contract must say pii: true")
    if path.stem != contract.source:
        raise ContractError(f"{where}: file name must be the source name '{contract.source}'")
    return contract


@cache
def all_contracts() -> dict[str, Contract]:
    """Every contract in `ingestion/contracts/`, by source name."""
    contracts = [load_contract(p) for p in sorted(CONTRACTS_DIR.glob("*.yaml"))]
    return {c.source: c for c in contracts}
