"""The dbt build enforces the governance conventions (DESIGN.md): break one, and it stops.

Each test copies the dbt project to a temporary folder, breaks one rule in the copy and runs
`dbt build`: the on-run-start check must fail the build before any model is written, naming the
model. An unbroken copy passes the same check, so a failure below is the break's doing.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import yaml
from bronze_fixtures import DBT_PROJECT_DIR, run_dbt, write_bronze_fixture

pytestmark = pytest.mark.slow


def copy_project(tmp_path: Path) -> Path:
    """A copy of the dbt project without build leftovers, free to break."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    return project


def edit_model_meta(project: Path, yml: str, model: str, edit: Callable[[dict], None]) -> None:
    """Apply `edit` to a model's config.meta in a properties file (anchors get expanded)."""
    path = project / "models" / yml
    properties = yaml.safe_load(path.read_text(encoding="utf-8"))
    (entry,) = [m for m in properties["models"] if m["name"] == model]
    edit(entry["config"]["meta"])
    path.write_text(yaml.safe_dump(properties, allow_unicode=True, sort_keys=False), "utf-8")


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace text that must occur exactly once, so a drifted file cannot leave the break out."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def remove_owner(project: Path) -> None:
    edit_model_meta(project, "open/_open.yml", "open_districts", lambda meta: meta.pop("owner"))


def unknown_owner(project: Path) -> None:
    edit_model_meta(project, "marts/_marts.yml", "dim_devices", lambda meta: meta.update(owner="parks"))


def unknown_classification(project: Path) -> None:
    edit_model_meta(
        project,
        "staging/_staging.yml",
        "stg_traffic_counts",
        lambda meta: meta.update(classification="public"),
    )


def open_reads_internal(project: Path) -> None:
    replace_once(
        project / "models" / "open" / "open_traffic_hourly.sql",
        "select * from {{ ref('fct_traffic_hourly') }}",
        "select hourly.* from {{ ref('fct_traffic_hourly') }} as hourly"
        " inner join {{ ref('dim_devices') }} as devices on devices.device_id = hourly.site_id",
    )


def open_has_pii_column(project: Path) -> None:
    path = project / "models" / "open" / "_open.yml"
    properties = yaml.safe_load(path.read_text(encoding="utf-8"))
    (model,) = [m for m in properties["models"] if m["name"] == "open_districts"]
    model["config"]["meta"]["pii"] = True
    model["columns"][0]["config"] = {"meta": {"pii": True}}
    path.write_text(yaml.safe_dump(properties, allow_unicode=True, sort_keys=False), "utf-8")


def open_lacks_license(project: Path) -> None:
    edit_model_meta(
        project,
        "open/_open.yml",
        "open_air_quality_hourly",
        lambda meta: meta.pop("license"),
    )


def de_identifying_step_undeclared(project: Path) -> None:
    edit_model_meta(
        project,
        "intermediate/_intermediate.yml",
        "int_air_quality_stations",
        lambda meta: meta.pop("de_identifying"),
    )


REQUIRED_BREAKS = [
    (remove_owner, "open_districts", "meta.owner is missing"),
    (open_reads_internal, "open_traffic_hourly", "reads internal model dim_devices"),
]
FURTHER_BREAKS = [
    (unknown_owner, "dim_devices", "owner 'parks' is not one of"),
    (unknown_classification, "stg_traffic_counts", "classification 'public' is not one of"),
    (open_has_pii_column, "open_districts", "classified open but has pii columns district"),
    (open_lacks_license, "open_air_quality_hourly", "must declare meta.license"),
    (de_identifying_step_undeclared, "int_air_quality_stations", "reads internal model"),
]


def build_broken_copy(tmp_path: Path, breaks: list[Callable[[Path], None]]) -> str:
    """Break a copy of the project, run `dbt build` on valid bronze data, return its output.

    Asserts that the build failed on the governance check before it wrote any model.
    """
    project = copy_project(tmp_path)
    home = tmp_path / "home"
    write_bronze_fixture(home)
    for break_rule in breaks:
        break_rule(project)

    result = run_dbt(["build"], home, tmp_path, project)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Governance check failed" in output, output
    warehouse = home / "warehouse" / "stadsdata.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = connection.sql("select table_name from information_schema.tables").fetchall()
    assert tables == [], "the build wrote models despite the failed governance check"
    return output


def reported(output: str, model: str, message: str) -> bool:
    """Whether one line of the output names the model together with the message."""
    return any(f"model {model}: " in line and message in line for line in output.splitlines())


def test_unbroken_project_passes_the_governance_check(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    result = run_dbt(["run-operation", "enforce_governance"], tmp_path / "home", tmp_path, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Governance check passed" in result.stdout


@pytest.mark.parametrize(
    ("break_rule", "model", "message"),
    REQUIRED_BREAKS,
    ids=[b[0].__name__ for b in REQUIRED_BREAKS],
)
def test_build_fails_naming_the_model(
    tmp_path: Path, break_rule: Callable[[Path], None], model: str, message: str
) -> None:
    output = build_broken_copy(tmp_path, [break_rule])
    assert reported(output, model, message), output


def test_build_reports_every_broken_rule_at_once(tmp_path: Path) -> None:
    """One build with several rules broken names each offending model (one run, not five)."""
    output = build_broken_copy(tmp_path, [b[0] for b in FURTHER_BREAKS])
    missing = [(m, msg) for _, m, msg in FURTHER_BREAKS if not reported(output, m, msg)]
    assert missing == [], output
