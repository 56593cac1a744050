"""Spark-free logic of the curate Glue job: arguments, schema mapping, paths, partitioning and the de-duplication rule.

Everything here is plain Python (standard library only) so it is unit-tested without Spark
(test/lib/assets/glue/test_curate_lib.py). curate.py imports it (shipped with --extra-py-files) and only wires Spark.

Contract with the other parts of the platform:
- staging rows (written by lambda/validate): NDJSON under staging/<dataset>/run_id=<runId>/, one object per line with
  the dataset's columns plus `_ingest_date` (YYYY-MM-DD) and `_record` (1-based position in the landed file);
- curated Parquet: <curated_path><partition>=YYYY-MM-DD/ where <partition> is the dataset's date column or
  `ingest_date` (the Glue table's partition key, see lib/stacks/catalog-stack.ts partitionColumn);
- the mart batch: CSV with a header row, columns in dataset-config order, under <mart_path> (part-*.csv).
"""

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: Columns added to every staged row by the validate Lambda (lambda/validate/contract.ts STAGED_METADATA).
STAGED_INGEST_DATE = "_ingest_date"
STAGED_RECORD = "_record"
#: Lineage columns kept in the Parquet files (not in the Glue table, so Athena ignores them): they let a later run
#: apply the same "latest wins" rule to rows curated before.
RUN_ID_COLUMN = "_run_id"
INGEST_PARTITION = "ingest_date"

COLUMN_TYPE = re.compile(r"^(string|integer|bigint|double|boolean|date|timestamp|decimal\((\d{1,2}),(\d{1,2})\))$")
RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Rows per mart CSV file: big enough to keep the file count low, small enough for the loader to stream.
MART_ROWS_PER_FILE = 1_000_000
MAX_MART_FILES = 64

REQUIRED_ARGS = ("JOB_NAME", "dataset", "run_id", "staging_path", "curated_path", "mart_path", "dataset_config")


class CurateArgumentError(ValueError):
    """A job argument is missing or wrong: the message names it, the value received and the fix."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: Tuple[Column, ...]
    primary_key: Tuple[str, ...]
    #: The date column the curated table is partitioned by, or None for the ingest date.
    partition_column: Optional[str]
    mart_enabled: bool


@dataclass(frozen=True)
class CurateArgs:
    job_name: str
    dataset: Dataset
    run_id: str
    staging_path: str
    curated_path: str
    mart_path: str
    #: Glue's --TempDir, where the merged partitions are materialized before they replace the curated ones.
    temp_dir: Optional[str]


def parse_job_args(argv: Sequence[str]) -> Dict[str, str]:
    """Reads `--name value` and `--name=value` pairs as Glue passes them (unknown Glue arguments are kept, unused)."""
    values: Dict[str, str] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("--"):
            index += 1  # the script path, or a stray value
            continue
        name = token[2:]
        if "=" in name:
            name, value = name.split("=", 1)
            values[name] = value
            index += 1
            continue
        if index + 1 < len(argv) and not argv[index + 1].startswith("--"):
            values[name] = argv[index + 1]
            index += 2
        else:
            values[name] = ""
            index += 1
    return values


def _require(values: Dict[str, str], name: str) -> str:
    value = values.get(name)
    if value is None or value == "":
        raise CurateArgumentError(
            f"Job argument --{name} is missing. Fix: start the job with --{name} (the state machine's curate step sets "
            "--dataset, --run_id, --staging_path, --curated_path, --mart_path and --dataset_config)"
        )
    return value


def _s3_folder(values: Dict[str, str], name: str) -> str:
    value = _require(values, name)
    if not re.match(r"^(s3|file)://\S", value):
        raise CurateArgumentError(
            f"Job argument --{name} is {value!r}: it must be an s3:// URL. Fix: pass e.g. s3://bucket/prefix/"
        )
    return value if value.endswith("/") else value + "/"


def parse_dataset(raw: Any) -> Dataset:
    """Reads the dataset definition (config/datasets/<name>.json, as validated by config/schema.ts)."""
    if not isinstance(raw, dict):
        raise CurateArgumentError(f"--dataset_config must be a JSON object, got {type(raw).__name__}. Fix: pass the dataset JSON")
    name = raw.get("name")
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise CurateArgumentError(f"--dataset_config has name {name!r}: expected a lower-case identifier. Fix: pass the dataset JSON")
    columns = []
    for index, column in enumerate(raw.get("columns") or []):
        column_name = column.get("name") if isinstance(column, dict) else None
        column_type = column.get("type") if isinstance(column, dict) else None
        if not isinstance(column_name, str) or not IDENTIFIER.match(column_name):
            raise CurateArgumentError(f"--dataset_config columns[{index}].name is {column_name!r}: expected an identifier")
        if not isinstance(column_type, str) or not COLUMN_TYPE.match(column_type):
            raise CurateArgumentError(
                f"--dataset_config column {column_name!r} has type {column_type!r}. Fix: use string, integer, bigint, "
                "double, decimal(p,s), boolean, date or timestamp"
            )
        columns.append(Column(column_name, column_type, bool(column.get("nullable", True))))
    if not columns:
        raise CurateArgumentError(f"--dataset_config of {name!r} has no columns. Fix: pass the full dataset JSON")
    names = [column.name for column in columns]
    primary_key = tuple(raw.get("primaryKey") or [])
    unknown = [key for key in primary_key if key not in names]
    if not primary_key or unknown:
        raise CurateArgumentError(
            f"--dataset_config primaryKey {list(primary_key)!r} must name columns of {name!r}. Fix: use some of {names}"
        )
    partitioning = raw.get("partitioning") or {"by": "ingest-date"}
    partition_column = None
    if partitioning.get("by") == "column":
        partition_column = partitioning.get("column")
        types = {column.name: column.type for column in columns}
        if types.get(partition_column) != "date":
            raise CurateArgumentError(
                f"--dataset_config partitions by {partition_column!r}, which is not a date column of {name!r}. "
                "Fix: partition by a date column or by ingest-date"
            )
    elif partitioning.get("by") != "ingest-date":
        raise CurateArgumentError(f"--dataset_config partitioning {partitioning!r} is unknown. Fix: by ingest-date or column")
    mart = raw.get("mart") or {}
    return Dataset(name, tuple(columns), primary_key, partition_column, bool(mart.get("enabled", False)))


def parse_args(argv: Sequence[str]) -> CurateArgs:
    values = parse_job_args(argv)
    for name in REQUIRED_ARGS:
        _require(values, name)
    run_id = values["run_id"]
    if not RUN_ID.match(run_id):
        raise CurateArgumentError(
            f"Job argument --run_id is {run_id!r}: expected 1 to 128 letters, digits, '_', '.', ':' or '-'. "
            "Fix: pass the state machine execution name"
        )
    try:
        raw_dataset = json.loads(values["dataset_config"])
    except json.JSONDecodeError as error:
        raise CurateArgumentError(f"--dataset_config is not valid JSON ({error}). Fix: pass the dataset JSON") from error
    dataset = parse_dataset(raw_dataset)
    if dataset.name != values["dataset"]:
        raise CurateArgumentError(
            f"--dataset is {values['dataset']!r} but --dataset_config describes {dataset.name!r}. Fix: pass matching values"
        )
    staging_path = _s3_folder(values, "staging_path")
    expected_suffix = f"staging/{dataset.name}/run_id={run_id}/"
    if not staging_path.endswith(expected_suffix):
        raise CurateArgumentError(
            f"--staging_path is {staging_path!r}: it must end with {expected_suffix!r} (the validate output of this run). "
            "Fix: pass s3://<stagingBucket>/<stagingPrefix> from the validate step"
        )
    temp_dir = values.get("TempDir") or None
    return CurateArgs(
        job_name=values["JOB_NAME"],
        dataset=dataset,
        run_id=run_id,
        staging_path=staging_path,
        curated_path=_s3_folder(values, "curated_path"),
        mart_path=_s3_folder(values, "mart_path"),
        temp_dir=temp_dir if temp_dir is None or temp_dir.endswith("/") else temp_dir + "/",
    )


def spark_type(column_type: str) -> str:
    """Spark SQL DDL type of a dataset column type."""
    match = COLUMN_TYPE.match(column_type)
    if match is None:
        raise CurateArgumentError(f"Column type {column_type!r} has no Spark equivalent")
    if match.group(2) is not None:
        return f"DECIMAL({match.group(2)},{match.group(3)})"
    return {
        "string": "STRING",
        "integer": "INT",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
    }[column_type]


def quote(name: str) -> str:
    return f"`{name}`"


def staging_schema_ddl(dataset: Dataset) -> str:
    """Explicit read schema of the staged NDJSON: every column as text (cast afterwards, so numbers keep the digits
    the producer sent), plus the validate metadata."""
    fields = [f"{quote(column.name)} STRING" for column in dataset.columns]
    fields += [f"{quote(STAGED_INGEST_DATE)} STRING", f"{quote(STAGED_RECORD)} BIGINT"]
    return ", ".join(fields)


def partition_column(dataset: Dataset) -> str:
    """The curated table's partition key (same rule as lib/stacks/catalog-stack.ts partitionColumn)."""
    return dataset.partition_column or INGEST_PARTITION


def cast_expressions(dataset: Dataset, run_id: str) -> List[str]:
    """SELECT list turning staged text into typed curated rows, with lineage and the partition column."""
    expressions = [f"CAST({quote(c.name)} AS {spark_type(c.type)}) AS {quote(c.name)}" for c in dataset.columns]
    expressions.append(f"CAST({quote(STAGED_INGEST_DATE)} AS DATE) AS {quote(STAGED_INGEST_DATE)}")
    expressions.append(f"{quote(STAGED_RECORD)}")
    expressions.append(f"'{run_id}' AS {quote(RUN_ID_COLUMN)}")
    if dataset.partition_column is None:
        expressions.append(f"CAST({quote(STAGED_INGEST_DATE)} AS DATE) AS {quote(INGEST_PARTITION)}")
    return expressions


def curated_columns(dataset: Dataset) -> List[str]:
    """Column order of a curated row: dataset columns, lineage, then the ingest-date partition when it is one."""
    names = [column.name for column in dataset.columns] + [STAGED_INGEST_DATE, STAGED_RECORD, RUN_ID_COLUMN]
    if dataset.partition_column is None:
        names.append(INGEST_PARTITION)
    return names


def curated_schema_ddl(dataset: Dataset) -> str:
    """Explicit read schema of existing curated Parquet (the partition column comes from the folder names)."""
    types = {column.name: spark_type(column.type) for column in dataset.columns}
    types.update({STAGED_INGEST_DATE: "DATE", STAGED_RECORD: "BIGINT", RUN_ID_COLUMN: "STRING", INGEST_PARTITION: "DATE"})
    return ", ".join(f"{quote(name)} {types[name]}" for name in curated_columns(dataset))


def event_time_column(dataset: Dataset) -> Optional[str]:
    """The column that says when a row happened: the first non-nullable timestamp column, if any."""
    for column in dataset.columns:
        if column.type == "timestamp" and not column.nullable:
            return column.name
    return None


def dedupe_order(dataset: Dataset, current_run_column: str) -> List[str]:
    """ORDER BY terms of the "latest wins" rule among rows sharing a primary key; the first row is kept.

    1. the latest event time (the first non-nullable timestamp column), when the dataset has one;
    2. then the latest ingest date;
    3. then a row of the run being curated over a row curated before (a re-sent record replaces the old one);
    4. then the later record of its file (`_record`), so within one file the last occurrence wins.
    `current_run_column` is a boolean column that is true for the rows of the run being curated.
    """
    order = []
    event_time = event_time_column(dataset)
    if event_time is not None:
        order.append(f"{quote(event_time)} DESC NULLS LAST")
    order.append(f"{quote(STAGED_INGEST_DATE)} DESC NULLS LAST")
    order.append(f"{quote(current_run_column)} DESC")
    order.append(f"{quote(STAGED_RECORD)} DESC NULLS LAST")
    return order


def dedupe_sql(dataset: Dataset, view: str, current_run_column: str) -> str:
    """The query keeping one row per primary key of `view`, by {@link dedupe_order}."""
    keys = ", ".join(quote(key) for key in dataset.primary_key)
    order = ", ".join(dedupe_order(dataset, current_run_column))
    return (
        f"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) AS `_rank` "
        f"FROM {quote(view)}) WHERE `_rank` = 1"
    )


def partition_path(curated_path: str, dataset: Dataset, value: str) -> str:
    """Folder of one curated partition, e.g. s3://curated/impressions/event_date=2026-11-22/."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise ValueError(f"Partition value {value!r} is not a date (YYYY-MM-DD)")
    return f"{curated_path}{partition_column(dataset)}={value}/"


def merge_temp_path(args: CurateArgs) -> str:
    """Where the merged partitions are written first (they cannot be read and overwritten in one pass)."""
    base = args.temp_dir or f"{args.staging_path}_curate-temp/"
    return f"{base}curate/{args.dataset.name}/run_id={args.run_id}/merged/"


def mart_columns(dataset: Dataset) -> List[str]:
    """Columns of the mart CSV batch, in dataset-config order (the mart table's order)."""
    return [column.name for column in dataset.columns]


def mart_file_count(rows: int) -> int:
    """How many CSV files the mart batch is written as."""
    return max(1, min(MAX_MART_FILES, math.ceil(rows / MART_ROWS_PER_FILE)))


#: CSV options of the mart batch: RFC 4180 quoting (quotes doubled, as PostgreSQL COPY ... CSV expects), NULL as an
#: unquoted empty field, an empty string as "", ISO dates and UTC timestamps with microseconds.
MART_CSV_OPTIONS: Dict[str, str] = {
    "header": "true",
    "sep": ",",
    "quote": '"',
    "escape": '"',
    "nullValue": "",
    "emptyValue": '""',
    "dateFormat": "yyyy-MM-dd",
    "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "lineSep": "\n",
    "compression": "none",
}
