"""Source contracts: the ten shipped ones load, and a malformed one fails naming file and field."""

import copy
from pathlib import Path

import pytest
import yaml

from ingestion.contracts import (
    CLASSIFICATIONS,
    CONTRACTS_DIR,
    OWNERS,
    ContractError,
    all_contracts,
    load_contract,
)

SOURCES = (
    "air_quality",
    "care_supervision",
    "districts",
    "eservice_usage",
    "iot_devices",
    "smart_meters",
    "street_lighting",
    "traffic_counts",
    "waste_fill_levels",
    "water_levels",
)


def test_all_ten_contracts_load_with_owner_classification_and_keys():
    contracts = all_contracts()
    assert sorted(contracts) == list(SOURCES)
    for source, contract in contracts.items():
        assert contract.path == CONTRACTS_DIR / f"{source}.yaml"
        assert contract.owner in OWNERS
        assert contract.classification in CLASSIFICATIONS
        for table in contract.tables:
            assert set(table.keys) <= set(table.column_names)
            assert all(column.description for column in table.columns)


def test_contracts_carry_the_owners_and_tables_of_sources_md():
    contracts = all_contracts()
    assert {s: (c.owner, c.classification) for s, c in contracts.items()} == {
        "air_quality": ("miljo", "open"),
        "care_supervision": ("aldre", "sensitive"),
        "districts": ("sbk", "open"),
        "eservice_usage": ("ks", "internal"),
        "iot_devices": ("ks", "internal"),
        "smart_meters": ("svbo", "confidential"),
        "street_lighting": ("trafik", "internal"),
        "traffic_counts": ("trafik", "open"),
        "waste_fill_levels": ("svoa", "open"),
        "water_levels": ("svoa", "open"),
    }
    assert [t.name for t in contracts["districts"].tables] == ["districts", "district_population"]
    assert contracts["air_quality"].device_key == "device_id"
    assert contracts["traffic_counts"].device_key == "site_id"
    assert contracts["traffic_counts"].tables[0].column("site_id").source == "Mätplats"
    device_keys = {s: c.device_key for s, c in contracts.items() if c.device_key}
    assert {s: contracts[s].tables[0].column(k).source for s, k in device_keys.items()} == {
        "air_quality": "device_id",
        "traffic_counts": "Mätplats",
        "waste_fill_levels": "container_id",
        "street_lighting": "Armatur-ID",
        "smart_meters": "MätarID",
        "water_levels": "station_id",
    }
    assert contracts["street_lighting"].tables[0].format == "xlsx"
    assert contracts["eservice_usage"].tables[0].format == "json_array"


def test_personal_identifiers_are_pii_and_pseudonymised():
    """Only the two sources holding a person's identifier need the key, and say so."""
    contracts = all_contracts()
    pseudonymised = {
        source: [(c.source, c.name, c.identifier) for t in contract.tables for c in t.pseudonymised]
        for source, contract in contracts.items()
        if contract.pseudonymised
    }
    assert pseudonymised == {
        "care_supervision": [("Personnummer", "person_pseudonym", "personnummer")],
        "eservice_usage": [("user_ref", "user_pseudonym", "text")],
    }
    assert {s for s, c in contracts.items() if c.pii} == set(pseudonymised)
    for source in pseudonymised:
        for column in contracts[source].tables[0].pseudonymised:
            assert column.pii and column.type == "string"


def test_care_districts_are_the_thirteen_stadsdelsomraden():
    district = all_contracts()["care_supervision"].tables[0].column("district")
    assert len(district.allowed) == len(set(district.allowed)) == 13
    assert all_contracts()["eservice_usage"].tables[0].column("district").allowed == district.allowed


def test_file_names_pick_the_table_by_pattern():
    districts = all_contracts()["districts"]
    assert districts.table_for("districts.geojson").name == "districts"
    assert districts.table_for("stadsdelar.geo.json").name == "districts"
    assert districts.table_for("population_2026.csv").name == "district_population"
    assert districts.table_for("other.csv") is None
    air_quality = all_contracts()["air_quality"]
    assert air_quality.table_for("batch.jsonl.gz").name == "air_quality"
    assert air_quality.table_for("batch.json") is None


def _write_broken(tmp_path: Path, source: str, breaks) -> Path:
    """A copy of a shipped contract with one thing broken by `breaks(data)`."""
    data = yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    breaks(data)
    path = tmp_path / f"{source}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _set(path: tuple, value):
    def breaks(data: dict) -> None:
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return breaks


def _drop(path: tuple):
    def breaks(data: dict) -> None:
        target = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return breaks


@pytest.mark.parametrize(
    ("source", "breaks", "message"),
    [
        (
            "air_quality",
            _set(("owner",), "stockholm_stad"),
            "air_quality.yaml: unknown owner 'stockholm_stad'",
        ),
        (
            "traffic_counts",
            _set(("classification",), "secret"),
            "traffic_counts.yaml: unknown classification 'secret'",
        ),
        (
            "air_quality",
            _set(("tables", "air_quality", "columns", 3, "type"), "decimal"),
            "air_quality.yaml table air_quality column value: unknown type 'decimal'",
        ),
        (
            "traffic_counts",
            _set(("tables", "traffic_counts", "keys"), ["site_id", "hour"]),
            "traffic_counts.yaml table traffic_counts: key 'hour' is not a column",
        ),
        (
            "iot_devices",
            _drop(("description",)),
            "iot_devices.yaml: missing 'description'",
        ),
        (
            "districts",
            _drop(("tables", "district_population", "columns", 1, "description")),
            "districts.yaml table district_population column year: missing 'description'",
        ),
        (
            "districts",
            _set(("owner",), None),
            "districts.yaml: missing 'owner'",
        ),
        (
            "air_quality",
            _set(("tables", "air_quality", "format"), "parquet"),
            "air_quality.yaml table air_quality: unknown format 'parquet'",
        ),
        (
            "air_quality",
            _set(("device_key",), "sensor"),
            "air_quality.yaml: device_key 'sensor' is not a column",
        ),
        (
            "care_supervision",
            _drop(("tables", "care_supervision", "columns", 0, "pii")),
            "care_supervision.yaml table care_supervision column person_pseudonym: "
            "pseudonymise needs pii: true",
        ),
        (
            "care_supervision",
            _set(("pii",), False),
            "care_supervision.yaml: a column is pii, so the contract must say pii: true",
        ),
        (
            "care_supervision",
            _set(("tables", "care_supervision", "columns", 0, "identifier"), "ssn"),
            "care_supervision.yaml table care_supervision column person_pseudonym: unknown identifier 'ssn'",
        ),
        (
            "eservice_usage",
            _set(("tables", "eservice_usage", "columns", 0, "identifier"), "text"),
            "eservice_usage.yaml table eservice_usage column service_id: "
            "identifier applies only to a pseudonymised column",
        ),
        (
            "smart_meters",
            _set(("tables", "smart_meters", "columns", 2, "formats"), ["%Y"]),
            "smart_meters.yaml table smart_meters column energy_kwh: "
            "formats apply only to a timestamp column",
        ),
        (
            "street_lighting",
            _set(("tables", "street_lighting", "columns", 4, "pattern"), "[A-Z"),
            "street_lighting.yaml table street_lighting column fault_code: "
            "pattern is not a regular expression",
        ),
    ],
    ids=[
        "unknown-owner",
        "unknown-classification",
        "unknown-type",
        "key-not-a-column",
        "missing-description",
        "missing-column-description",
        "empty-owner",
        "unknown-format",
        "device-key-not-a-column",
        "pseudonymise-without-pii",
        "pii-column-in-non-pii-contract",
        "unknown-identifier",
        "identifier-without-pseudonymise",
        "formats-on-a-float",
        "pattern-not-a-regex",
    ],
)
def test_malformed_contract_names_file_and_field(tmp_path, source, breaks, message):
    path = _write_broken(tmp_path, source, breaks)
    with pytest.raises(ContractError) as error:
        load_contract(path)
    assert str(error.value).startswith(message)


def test_unbroken_copy_loads_so_the_breaks_above_are_what_fails(tmp_path):
    for source in SOURCES:
        path = _write_broken(tmp_path, source, lambda data: None)
        assert load_contract(path).source == source


def test_contract_whose_file_name_is_not_its_source_is_refused(tmp_path):
    text = (CONTRACTS_DIR / "air_quality.yaml").read_text(encoding="utf-8")
    path = tmp_path / "luft.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=r"^luft\.yaml: file name must be the source name"):
        load_contract(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("owner: [unclosed", "bad.yaml: not valid YAML"), ("- a list", "bad.yaml: expected a mapping")],
)
def test_contract_that_is_not_a_yaml_mapping_is_refused(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as error:
        load_contract(path)
    assert str(error.value).startswith(message)
