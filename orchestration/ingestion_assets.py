"""Bronze assets: one per source, built from its contract, writing one asset per table.

The contract gives each asset its owner, classification, column schema and
description, so what the Dagster UI shows is what the source declared. The device
registry is ingested first: sensor sources check their readings against it.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    TableColumn,
    TableSchema,
    multi_asset,
)

from ingestion.contracts import Contract, Table, all_contracts
from ingestion.ledger import Ledger
from ingestion.run import IngestionReport, MissingPseudonymKey, device_registry, ingest_source
from orchestration.resources import StadsdataHome

REGISTRY_SOURCE = "iot_devices"
TRANSIENT_RETRY = RetryPolicy(max_retries=2, delay=5)


def bronze_key(table: str) -> AssetKey:
    return AssetKey(["bronze", table])


def column_schema(table: Table) -> TableSchema:
    return TableSchema(
        columns=[
            TableColumn(
                name=c.name,
                type=c.type,
                description=c.description + (f" [{c.unit}]" if c.unit else ""),
                tags={"pii": "true"} if c.pii else {},
            )
            for c in table.columns
        ]
    )


def table_spec(contract: Contract, table: Table) -> AssetSpec:
    deps = (
        []
        if contract.source == REGISTRY_SOURCE or not contract.device_key
        else [bronze_key(t.name) for t in all_contracts()[REGISTRY_SOURCE].tables]
    )
    return AssetSpec(
        key=bronze_key(table.name),
        description=f"{contract.title} ({table.name}): {contract.description}",
        group_name=contract.owner,
        owners=[f"team:{contract.owner}"],
        kinds={"polars", "parquet"},
        tags={"classification": contract.classification, "stage": "bronze"},
        deps=deps,
        metadata={
            "dagster/column_schema": column_schema(table),
            "source": contract.source,
            "owner": contract.owner,
            "classification": contract.classification,
            "update_frequency": contract.update_frequency,
            "keys": ", ".join(table.keys),
            "contract": f"ingestion/contracts/{contract.source}.yaml",
        },
        skippable=True,
    )


def files_table(report: IngestionReport) -> str:
    """The files a run took in, as a Markdown table for the asset's page."""
    lines = ["| file | status | read | loaded | rejected | reason |", "|---|---|---|---|---|---|"]
    for e in report.entries:
        reason = (e.reason or "").replace("|", "/")
        lines.append(
            f"| {e.file} | {e.status} | {e.rows_read} | {e.rows_loaded} | {e.rows_rejected} | {reason} |"
        )
    return "\n".join(lines)


def visible_rows(ledger: Ledger, table: str) -> int:
    """Rows that staging sees: those of files the ledger records as loaded."""
    return sum(e.rows_loaded for e in ledger.entries if e.status == "loaded" and table in e.tables)


def _unchanged(contract: Contract, ledger: Ledger, reason: str) -> Iterator[MaterializeResult]:
    """Bronze as it was: a source that could not be taken in this run."""
    for table in contract.tables:
        yield MaterializeResult(
            asset_key=bronze_key(table.name),
            metadata={
                "dagster/row_count": visible_rows(ledger, table.name),
                "files_new": 0,
                "not_ingested": reason,
            },
        )


def ingestion_asset(contract: Contract):
    @multi_asset(
        name=f"ingest_{contract.source}",
        specs=[table_spec(contract, t) for t in contract.tables],
        can_subset=False,
        pool=f"ingest_{contract.source}",
        retry_policy=TRANSIENT_RETRY,
    )
    def _ingest(context: AssetExecutionContext, stadsdata: StadsdataHome) -> Iterator[MaterializeResult]:
        lake = stadsdata.home.lake
        registry = device_registry(lake) if contract.device_key else None
        try:
            report = ingest_source(contract, lake, registry, run_id=context.run_id)
        except MissingPseudonymKey as error:
            # Personal data is not ingested without the key; the rest of the run goes on.
            context.log.warning(f"{contract.source} not ingested: {error}")
            yield from _unchanged(contract, Ledger(lake.ledger, contract.source), str(error))
            return
        ledger = Ledger(lake.ledger, contract.source)
        for status in ("loaded", "rejected", "duplicate"):
            if report.count(status):
                context.log.info(f"{contract.source}: {report.count(status)} file(s) {status}")
        for entry in report.entries:
            if entry.status == "rejected":
                context.log.warning(f"{entry.file} quarantined: {entry.reason}")
        for table in contract.tables:
            yield MaterializeResult(
                asset_key=bronze_key(table.name),
                metadata={
                    "dagster/row_count": visible_rows(ledger, table.name),
                    "files_new": len(report.entries),
                    "files_loaded": report.count("loaded"),
                    "files_rejected": report.count("rejected"),
                    "files_duplicate": report.count("duplicate"),
                    "rows_loaded": report.rows_loaded,
                    "rows_rejected": report.rows_rejected,
                    "files": MetadataValue.md(files_table(report)),
                },
            )

    return _ingest


ingestion_assets = [ingestion_asset(c) for c in all_contracts().values()]
