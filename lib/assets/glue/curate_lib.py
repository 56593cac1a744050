"""Spark-free logic of the curate Glue job: arguments, the batch manifest, the Iceberg configuration, the SQL of one batch
(typing, de-duplication, the MERGE) and the schema-evolution plan.

Everything here is plain Python (standard library only) so it is unit-tested without Spark
(test/lib/assets/glue/test_curate_lib.py). curate.py imports it (shipped with --extra-py-files) and only wires Spark.

Contract with the other parts of the platform:
- the batch manifest (written by stage B before it starts the job): JSON at
  s3://<artifacts>/batches/<dataset>/batch_id=<id>/manifest.json, {"version": 1, "dataset", "batchId", "createdAt",
  "runs": [{"runId", "sequence", "stagingPath", "objectKey", "stagedBytes", "rowsValid"}]}; `sequence` orders the runs
  of the batch (1 = staged first);
- staged rows (written by lambda/validate): NDJSON under staging/<dataset>/run_id=<runId>/, one object per line with
  the dataset's columns plus `_ingest_date` (YYYY-MM-DD) and `_record` (1-based position in the landed file);
- the curated table: the Iceberg table <curated_database>.<dataset>, created by the Catalog stack
  (lib/stacks/catalog-stack.ts, config/curated-schema.ts): the lineage columns below first, then the dataset columns
  in config order;
- the mart batch: CSV with a header row, columns in dataset-config order, under <mart_path> (part-*.csv).
"""

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

#: Columns added to every staged row by the validate Lambda (lambda/validate/contract.ts STAGED_METADATA).
STAGED_INGEST_DATE = "_ingest_date"
STAGED_RECORD = "_record"

#: Lineage columns of every curated table, in table order, with their dataset-config type. They come first so that a
#: column's Iceberg field id follows from the dataset config alone (config/curated-schema.ts LINEAGE_FIELDS holds the
#: same list; test/lib/assets/glue/python.test.ts compares them). Dataset columns cannot clash: config identifiers
#: start with a letter.
BATCH_ID_COLUMN = "_batch_id"
RUN_ID_COLUMN = "_run_id"
LINEAGE_COLUMNS: Tuple[Tuple[str, str], ...] = (
    (BATCH_ID_COLUMN, "string"),
    (RUN_ID_COLUMN, "string"),
    (STAGED_INGEST_DATE, "date"),
    (STAGED_RECORD, "bigint"),
)
#: Working columns of the job's views, never written to the table.
SEQUENCE_COLUMN = "_curate_sequence"
RANK_COLUMN = "_curate_rank"
FILE_COLUMN = "_curate_file"
APPLY_COLUMN = "_curate_apply"

#: Name of the Iceberg catalog in the Spark session (the Glue Data Catalog).
CATALOG = "glue_catalog"

COLUMN_TYPE = re.compile(r"^(string|integer|bigint|double|boolean|date|timestamp|decimal\((\d{1,2}),(\d{1,2})\))$")
#: Batch ids and run ids (the state machine's names): also safe inside SQL string literals and S3 keys.
RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Rows per mart CSV file: big enough to keep the file count low, small enough for the loader to stream.
MART_ROWS_PER_FILE = 1_000_000
MAX_MART_FILES = 64
#: A manifest lists run ids and paths: 8 MiB holds some 30,000 runs; anything bigger is not a manifest stage B wrote.
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_MANIFEST_RUNS = 30_000

REQUIRED_ARGS = (
    "JOB_NAME",
    "dataset",
    "batch_id",
    "manifest_path",
    "dataset_config",
    "curated_database",
    "artifacts_bucket",
    "curated_bucket",
)


class CurateArgumentError(ValueError):
    """A job argument or the manifest is missing or wrong: the message names it, the value received and the fix."""


class CurateSchemaError(ValueError):
    """The curated table cannot take the dataset's rows without a change the job must not make by itself."""


class CurateDataError(ValueError):
    """The staged data does not match the manifest (a run's rows are missing or extra)."""


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
    batch_id: str
    manifest_path: str
    #: None for datasets that do not load into the mart.
    mart_path: Optional[str]
    curated_database: str
    artifacts_bucket: str
    curated_bucket: str
    #: The platform key: S3FileIO writes table files with SSE-KMS under it (the bucket default would too).
    kms_key_arn: Optional[str]
    #: Glue's --TempDir, where the batch's changes are materialized between the MERGE and the mart batch.
    temp_dir: Optional[str]


@dataclass(frozen=True)
class ManifestRun:
    run_id: str
    sequence: int
    staging_path: str
    object_key: str
    staged_bytes: int
    rows_valid: int


@dataclass(frozen=True)
class Manifest:
    dataset: str
    batch_id: str
    created_at: str
    runs: Tuple[ManifestRun, ...]

    @property
    def rows_valid(self) -> int:
        return sum(run.rows_valid for run in self.runs)

    def staging_paths(self) -> List[str]:
        """The staging folders that hold rows (a run with no valid row may have no staged file at all)."""
        return [run.staging_path for run in self.runs if run.rows_valid > 0]


@dataclass(frozen=True)
class SchemaPlan:
    #: ALTER TABLE statements to run before the MERGE (empty when the table already has every column).
    statements: Tuple[str, ...]
    #: What the plan found worth logging (e.g. columns the table has and the config does not).
    notes: Tuple[str, ...]


# ---------------------------------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------------------------------


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
            f"Job argument --{name} is missing. Fix: start the job with --{name} (the batch state machine sets "
            "--dataset, --batch_id, --manifest_path, --mart_path and --dataset_config; the job's default arguments "
            "set --curated_database, --artifacts_bucket and --curated_bucket)"
        )
    return value


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


def _bucket(values: Dict[str, str], name: str) -> str:
    value = _require(values, name)
    if not BUCKET.match(value):
        raise CurateArgumentError(f"Job argument --{name} is {value!r}: expected an S3 bucket name. Fix: pass the bucket name, not a URL")
    return value


def _exact_path(values: Dict[str, str], name: str, expected: str) -> str:
    value = _require(values, name)
    if value != expected:
        raise CurateArgumentError(
            f"Job argument --{name} is {value!r}: the batch's path is {expected!r}. Fix: pass the path the batch "
            "state machine derives from the dataset and the batch id"
        )
    return value


def parse_args(argv: Sequence[str]) -> CurateArgs:
    values = parse_job_args(argv)
    for name in REQUIRED_ARGS:
        _require(values, name)
    batch_id = values["batch_id"]
    if not RUN_ID.match(batch_id):
        raise CurateArgumentError(
            f"Job argument --batch_id is {batch_id!r}: expected 1 to 128 letters, digits, '_', '.', ':' or '-'. "
            "Fix: pass the batch id of the manifest"
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
    database = values["curated_database"]
    if not re.match(r"^[a-z0-9_]{1,255}$", database):
        raise CurateArgumentError(f"Job argument --curated_database is {database!r}: expected a Glue database name")
    artifacts = _bucket(values, "artifacts_bucket")
    curated = _bucket(values, "curated_bucket")
    manifest_path = _exact_path(values, "manifest_path", manifest_location(artifacts, dataset.name, batch_id))
    mart_path = None
    if dataset.mart_enabled or values.get("mart_path"):
        mart_path = _exact_path(values, "mart_path", mart_location(curated, dataset.name, batch_id))
    kms_key_arn = values.get("kms_key_arn") or None
    if kms_key_arn is not None and not re.match(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$", kms_key_arn):
        raise CurateArgumentError(f"Job argument --kms_key_arn is {kms_key_arn!r}: expected a KMS key ARN")
    temp_dir = values.get("TempDir") or None
    return CurateArgs(
        job_name=values["JOB_NAME"],
        dataset=dataset,
        batch_id=batch_id,
        manifest_path=manifest_path,
        mart_path=mart_path,
        curated_database=database,
        artifacts_bucket=artifacts,
        curated_bucket=curated,
        kms_key_arn=kms_key_arn,
        temp_dir=temp_dir if temp_dir is None or temp_dir.endswith("/") else temp_dir + "/",
    )


def manifest_location(artifacts_bucket: str, dataset: str, batch_id: str) -> str:
    return f"s3://{artifacts_bucket}/batches/{dataset}/batch_id={batch_id}/manifest.json"


def mart_location(curated_bucket: str, dataset: str, batch_id: str) -> str:
    return f"s3://{curated_bucket}/_mart/{dataset}/batch_id={batch_id}/"


def staging_location(artifacts_bucket: str, dataset: str, run_id: str) -> str:
    """Where lambda/validate stages a run (lambda/validate/contract.ts stagingPrefix)."""
    return f"s3://{artifacts_bucket}/staging/{dataset}/run_id={run_id}/"


def table_location(curated_bucket: str, dataset: str) -> str:
    """The Iceberg table's location (data/ and metadata/ below it), as the Catalog stack creates it."""
    return f"s3://{curated_bucket}/{dataset}/"


def split_s3_url(url: str) -> Tuple[str, str]:
    match = re.match(r"^s3://([^/]+)/(.*)$", url)
    if match is None:
        raise CurateArgumentError(f"{url!r} is not an s3:// URL")
    return match.group(1), match.group(2)


# ---------------------------------------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------------------------------------


def _manifest_error(args: CurateArgs, problem: str) -> CurateArgumentError:
    return CurateArgumentError(
        f"The batch manifest {args.manifest_path} {problem}. Fix: the batch state machine writes the manifest before it "
        "starts the job; retry the batch so that it writes it again, and see its execution for the cause"
    )


def _field(raw: Mapping[str, Any], key: str, kind: type, where: str, args: CurateArgs) -> Any:
    value = raw.get(key)
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise _manifest_error(args, f"has {where}{key} {value!r}: expected {'a whole number' if kind is int else 'a ' + kind.__name__}")
    return value


def parse_manifest(text: str, args: CurateArgs) -> Manifest:
    """Reads and checks the batch manifest against the job's arguments; anything unexpected is a CurateArgumentError."""
    if len(text.encode("utf-8")) > MAX_MANIFEST_BYTES:
        raise _manifest_error(args, f"is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise _manifest_error(args, f"is not valid JSON ({error})") from error
    if not isinstance(raw, dict):
        raise _manifest_error(args, f"is a JSON {type(raw).__name__}, not an object")
    version = raw.get("version")
    if version != 1:
        raise _manifest_error(args, f"has version {version!r}: this job reads version 1")
    dataset = _field(raw, "dataset", str, "", args)
    if dataset != args.dataset.name:
        raise _manifest_error(args, f"is for dataset {dataset!r}, not {args.dataset.name!r}")
    batch_id = _field(raw, "batchId", str, "", args)
    if batch_id != args.batch_id:
        raise _manifest_error(args, f"is for batch {batch_id!r}, not {args.batch_id!r}")
    created_at = _field(raw, "createdAt", str, "", args)
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", created_at):
        raise _manifest_error(args, f"has createdAt {created_at!r}: expected an ISO 8601 timestamp")
    runs_raw = raw.get("runs")
    if not isinstance(runs_raw, list) or not runs_raw:
        raise _manifest_error(args, f"has runs {runs_raw!r}: expected a non-empty list")
    if len(runs_raw) > MAX_MANIFEST_RUNS:
        raise _manifest_error(args, f"lists {len(runs_raw)} runs: at most {MAX_MANIFEST_RUNS} fit one batch")
    runs: List[ManifestRun] = []
    seen_ids: Dict[str, int] = {}
    seen_sequences: Dict[int, str] = {}
    for index, run in enumerate(runs_raw):
        where = f"runs[{index}]."
        if not isinstance(run, dict):
            raise _manifest_error(args, f"has runs[{index}] {run!r}: expected an object")
        run_id = _field(run, "runId", str, where, args)
        if not RUN_ID.match(run_id):
            raise _manifest_error(args, f"has {where}runId {run_id!r}: expected 1 to 128 letters, digits, '_', '.', ':' or '-'")
        if run_id in seen_ids:
            raise _manifest_error(args, f"lists run {run_id!r} twice (runs[{seen_ids[run_id]}] and runs[{index}])")
        sequence = _field(run, "sequence", int, where, args)
        if sequence < 1:
            raise _manifest_error(args, f"has {where}sequence {sequence}: sequences start at 1")
        if sequence in seen_sequences:
            raise _manifest_error(args, f"gives sequence {sequence} to runs {seen_sequences[sequence]!r} and {run_id!r}")
        staging_path = _field(run, "stagingPath", str, where, args)
        expected = staging_location(args.artifacts_bucket, args.dataset.name, run_id)
        if staging_path != expected:
            raise _manifest_error(args, f"has {where}stagingPath {staging_path!r}: run {run_id!r} is staged at {expected!r}")
        object_key = _field(run, "objectKey", str, where, args)
        staged_bytes = _field(run, "stagedBytes", int, where, args)
        rows_valid = _field(run, "rowsValid", int, where, args)
        if staged_bytes < 0 or rows_valid < 0:
            raise _manifest_error(args, f"has a negative stagedBytes or rowsValid for run {run_id!r}")
        seen_ids[run_id] = index
        seen_sequences[sequence] = run_id
        runs.append(ManifestRun(run_id, sequence, staging_path, object_key, staged_bytes, rows_valid))
    return Manifest(dataset, batch_id, created_at, tuple(sorted(runs, key=lambda r: r.sequence)))


def check_run_counts(manifest: Manifest, counted: Mapping[str, int]) -> None:
    """Fails when the rows read per run differ from the manifest's rowsValid (a staged file missing, cut or extra)."""
    problems = []
    for run in manifest.runs:
        found = counted.get(run.run_id, 0)
        if found != run.rows_valid:
            problems.append(f"run {run.run_id!r}: {found} rows staged, the manifest says {run.rows_valid}")
    unknown = sorted(set(counted) - {run.run_id for run in manifest.runs})
    problems += [f"rows of run {run_id!r}, which the manifest does not list" for run_id in unknown]
    if problems:
        raise CurateDataError(
            f"Batch {manifest.batch_id} of {manifest.dataset}: the staged rows do not match the manifest ("
            + "; ".join(problems[:10])
            + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
            + "). Nothing was merged. Fix: the staging folders are written once by the validate function; find what "
            "changed them, then retry the batch (or re-land the objects)"
        )


# ---------------------------------------------------------------------------------------------------------------------
# Spark and Iceberg configuration
# ---------------------------------------------------------------------------------------------------------------------


def spark_conf(args: CurateArgs) -> List[Tuple[str, str]]:
    """Spark settings of the job, applied before the SparkContext starts (the SQL extensions cannot be added later).

    The Glue Data Catalog is the Iceberg catalog `glue_catalog` (GlueCatalog, optimistic commits checked by Glue), its
    files go through S3FileIO with SSE-KMS under the platform key. `--datalake-formats iceberg` puts the Iceberg runtime
    of Glue 5.0 on the classpath.
    """
    prefix = f"spark.sql.catalog.{CATALOG}"
    conf = [
        ("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"),
        (prefix, "org.apache.iceberg.spark.SparkCatalog"),
        (f"{prefix}.catalog-impl", "org.apache.iceberg.aws.glue.GlueCatalog"),
        (f"{prefix}.io-impl", "org.apache.iceberg.aws.s3.S3FileIO"),
        (f"{prefix}.warehouse", f"s3://{args.curated_bucket}/"),
    ]
    if args.kms_key_arn is not None:
        conf += [(f"{prefix}.s3.sse.type", "kms"), (f"{prefix}.s3.sse.key", args.kms_key_arn)]
    conf += [
        # Staged timestamps without an offset are UTC, as the validate function and the mart read them.
        ("spark.sql.session.timeZone", "UTC"),
        # No _SUCCESS marker: the mart loader reads every part file of the batch folder and nothing else.
        ("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"),
    ]
    return conf


def quote(name: str) -> str:
    """A Spark SQL identifier. Config identifiers hold no backtick, so quoting is enough even for reserved words."""
    if "`" in name:
        raise ValueError(f"Identifier {name!r} holds a backtick")
    return f"`{name}`"


def sql_string(value: str) -> str:
    """A Spark SQL string literal (ids are validated, but a literal is escaped whatever it holds)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_identifier(args: CurateArgs) -> str:
    return f"{CATALOG}.{quote(args.curated_database)}.{quote(args.dataset.name)}"


# ---------------------------------------------------------------------------------------------------------------------
# types and columns
# ---------------------------------------------------------------------------------------------------------------------


def spark_type(column_type: str) -> str:
    """Spark SQL DDL type of a dataset column type (the Iceberg type is config/curated-schema.ts icebergType)."""
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
        # Iceberg timestamptz: an instant, read by Athena as timestamp with time zone.
        "timestamp": "TIMESTAMP",
    }[column_type]


def spark_simple_type(column_type: str) -> str:
    """The type as Spark's DataType.simpleString() shows a column of the table (e.g. `decimal(12,6)`, `int`)."""
    return spark_type(column_type).lower()


def staging_schema_ddl(dataset: Dataset) -> str:
    """Explicit read schema of the staged NDJSON: every column as text (cast afterwards, so numbers keep the digits
    the producer sent), plus the validate metadata."""
    fields = [f"{quote(column.name)} STRING" for column in dataset.columns]
    fields += [f"{quote(STAGED_INGEST_DATE)} STRING", f"{quote(STAGED_RECORD)} BIGINT"]
    return ", ".join(fields)


def table_columns(dataset: Dataset) -> List[str]:
    """Columns of the curated table in table order: lineage, then the dataset's in config order."""
    return [name for name, _ in LINEAGE_COLUMNS] + [column.name for column in dataset.columns]


def batch_columns(dataset: Dataset) -> List[str]:
    """Columns of the batch views: the table's plus the run's sequence in the batch."""
    return table_columns(dataset) + [SEQUENCE_COLUMN]


def event_time_column(dataset: Dataset) -> Optional[str]:
    """The column that says when a row happened: the first non-nullable timestamp column, if any."""
    for column in dataset.columns:
        if column.type == "timestamp" and not column.nullable:
            return column.name
    return None


def run_id_of_file_sql(file_column: str) -> str:
    """The run id of a staged file, from its path `.../run_id=<runId>/<file>` (URL-decoded: the path may be encoded)."""
    return f"url_decode(regexp_extract({file_column}, 'run_id=([^/]+)/[^/]*$', 1))"


def batch_rows_sql(dataset: Dataset, batch_id: str, staged_view: str, runs_view: str) -> str:
    """The typed rows of the batch with their lineage: staged text cast to the dataset types, the run of each row (from
    its file) and the run's sequence in the batch (`runs_view`: run_id STRING, sequence INT)."""
    casts = [f"CAST(s.{quote(c.name)} AS {spark_type(c.type)}) AS {quote(c.name)}" for c in dataset.columns]
    lineage = [
        f"{sql_string(batch_id)} AS {quote(BATCH_ID_COLUMN)}",
        f"r.`run_id` AS {quote(RUN_ID_COLUMN)}",
        f"CAST(s.{quote(STAGED_INGEST_DATE)} AS DATE) AS {quote(STAGED_INGEST_DATE)}",
        f"s.{quote(STAGED_RECORD)} AS {quote(STAGED_RECORD)}",
    ]
    return (
        f"SELECT {', '.join(lineage + casts)}, r.`sequence` AS {quote(SEQUENCE_COLUMN)} "
        f"FROM {quote(staged_view)} s JOIN {quote(runs_view)} r "
        f"ON r.`run_id` = {run_id_of_file_sql('s.' + quote(FILE_COLUMN))}"
    )


# ---------------------------------------------------------------------------------------------------------------------
# "latest wins"
# ---------------------------------------------------------------------------------------------------------------------


def recency_columns(dataset: Dataset) -> List[str]:
    """What makes a row newer than another row of the same key, most significant first, whatever batch they came in:
    the latest event time (the first non-nullable timestamp column, when the dataset has one), then the latest ingest
    date. A tie goes to the row being applied (the batch over what was curated before)."""
    event_time = event_time_column(dataset)
    return ([event_time] if event_time is not None else []) + [STAGED_INGEST_DATE]


def dedupe_order(dataset: Dataset) -> List[str]:
    """ORDER BY terms of the "latest wins" rule among rows of one key within a batch; the first row is kept.

    1. the recency columns (event time, then ingest date), later first, NULL last;
    2. then the run staged later in the batch (the manifest's sequence): a record sent again replaces the old one;
    3. then the later record of its file (`_record`), so within one file the last occurrence wins.
    """
    order = [f"{quote(name)} DESC NULLS LAST" for name in recency_columns(dataset)]
    order.append(f"{quote(SEQUENCE_COLUMN)} DESC")
    order.append(f"{quote(STAGED_RECORD)} DESC NULLS LAST")
    return order


def dedupe_sql(dataset: Dataset, view: str) -> str:
    """One row per primary key of `view` (the typed batch), by {@link dedupe_order}."""
    keys = ", ".join(quote(key) for key in dataset.primary_key)
    order = ", ".join(dedupe_order(dataset))
    columns = ", ".join(quote(name) for name in batch_columns(dataset))
    return (
        f"SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) AS {quote(RANK_COLUMN)} "
        f"FROM {quote(view)}) WHERE {quote(RANK_COLUMN)} = 1"
    )


def newer_sql(dataset: Dataset, newer: str, older: str) -> str:
    """SQL that is true when the row aliased `newer` is strictly newer than the row aliased `older` by the recency
    columns (lexicographic; NULL is older than any value, as DESC NULLS LAST orders them)."""
    terms = recency_columns(dataset)

    def later(name: str) -> str:
        a, b = f"{newer}.{quote(name)}", f"{older}.{quote(name)}"
        return f"({a} IS NOT NULL AND ({b} IS NULL OR {a} > {b}))"

    def same(name: str) -> str:
        return f"{newer}.{quote(name)} <=> {older}.{quote(name)}"

    expression = later(terms[-1])
    for name in reversed(terms[:-1]):
        expression = f"({later(name)} OR ({same(name)} AND {expression}))"
    return expression


def _key_condition(dataset: Dataset, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote(key)} = {right}.{quote(key)}" for key in dataset.primary_key)


def changes_sql(dataset: Dataset, winners_view: str, table: str, batch_id: str) -> str:
    """The rows the batch changes: its winners that are new keys or not older than the row curated for their key.

    The same rows are the MERGE's source and the mart batch, so mart and curated cannot disagree. A winner whose key
    already holds this batch's row (a batch retried after its MERGE committed) is kept, so the mart batch is written
    again identically, with `_curate_apply` false: the MERGE skips it. Only the columns the rule needs are read from
    the table (columnar: the key and recency columns, not the rows).
    """
    first_key = quote(dataset.primary_key[0])
    target_columns = list(dict.fromkeys(list(dataset.primary_key) + recency_columns(dataset) + [BATCH_ID_COLUMN]))
    columns = ", ".join(f"b.{quote(name)}" for name in batch_columns(dataset))
    batch = sql_string(batch_id)
    return (
        f"SELECT {columns}, (t.{first_key} IS NULL OR t.{quote(BATCH_ID_COLUMN)} <> {batch}) AS {quote(APPLY_COLUMN)} "
        f"FROM {quote(winners_view)} b "
        f"LEFT JOIN (SELECT {', '.join(quote(name) for name in target_columns)} FROM {table}) t "
        f"ON {_key_condition(dataset, 't', 'b')} "
        f"WHERE t.{first_key} IS NULL OR t.{quote(BATCH_ID_COLUMN)} = {batch} OR NOT {newer_sql(dataset, 't', 'b')}"
    )


def merge_update_condition(dataset: Dataset, target: str = "t", source: str = "s") -> str:
    """When a batch row replaces the curated row of its key: the curated row is not already this batch's and not newer."""
    return (
        f"{target}.{quote(BATCH_ID_COLUMN)} <> {source}.{quote(BATCH_ID_COLUMN)} "
        f"AND NOT {newer_sql(dataset, target, source)}"
    )


def merge_sql(dataset: Dataset, table: str, changes_view: str) -> str:
    """The one MERGE of a batch: by primary key, a new key is inserted, an existing key takes the batch's row unless the
    curated row is newer or already the batch's (so a retried batch changes nothing twice).

    The conditions repeat what {@link changes_sql} selected, so the statement is right on its own whatever its source.
    """
    columns = table_columns(dataset)
    source = ", ".join(quote(name) for name in columns)
    updates = ", ".join(f"t.{quote(name)} = s.{quote(name)}" for name in columns if name not in dataset.primary_key)
    return (
        f"MERGE INTO {table} t "
        f"USING (SELECT {source} FROM {quote(changes_view)} WHERE {quote(APPLY_COLUMN)}) s "
        f"ON {_key_condition(dataset, 't', 's')} "
        f"WHEN MATCHED AND {merge_update_condition(dataset)} "
        f"THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED THEN INSERT ({source}) VALUES ({', '.join('s.' + quote(name) for name in columns)})"
    )


# ---------------------------------------------------------------------------------------------------------------------
# schema evolution
# ---------------------------------------------------------------------------------------------------------------------


def schema_evolution_plan(dataset: Dataset, table_fields: Sequence[Tuple[str, str, bool]], table: str) -> SchemaPlan:
    """What the table needs before this batch: `table_fields` is its current schema as (name, simpleString type,
    nullable). Nullable columns the config adds and the table lacks are added, in config order (Iceberg gives them the
    next field ids, the ones the Catalog stack's definition gives them); the statement is idempotent because it only
    names missing columns. Anything else the job refuses (the synth refuses it first, see config/curated-schema.ts).
    """
    current = {name: (simple_type.lower(), nullable) for name, simple_type, nullable in table_fields}
    problems: List[str] = []
    for name, column_type in LINEAGE_COLUMNS:
        found = current.get(name)
        if found is None:
            problems.append(f"lineage column {name} is missing")
        elif found[0] != spark_simple_type(column_type):
            problems.append(f"lineage column {name} is {found[0]}, not {spark_simple_type(column_type)}")
    missing: List[Column] = []
    for column in dataset.columns:
        found = current.get(column.name)
        expected = spark_simple_type(column.type)
        if found is None:
            if column.nullable:
                missing.append(column)
            else:
                problems.append(f"column {column.name} ({column.type}, not nullable) is missing and cannot be added to rows already curated")
        elif found[0] != expected:
            problems.append(f"column {column.name} is {found[0]} in the table and {column.type} ({expected}) in the config")
        elif found[1] and not column.nullable and column.name in dataset.primary_key:
            problems.append(f"primary key column {column.name} is nullable in the table")
    configured = set(table_columns(dataset))
    extra = [(name, nullable) for name, (_, nullable) in current.items() if name not in configured]
    problems += [f"column {name} is in the table, required, and not in the config" for name, nullable in extra if not nullable]
    if problems:
        raise CurateSchemaError(
            f"The curated table {table} does not match dataset {dataset.name!r}: " + "; ".join(problems) + ". Nothing "
            "was merged. Fix: the Catalog stack defines the table from the accepted schema "
            "(config/curated-schemas/<dataset>.json); deploy it, and change a table by hand only with the same change in "
            "the config"
        )
    statements: Tuple[str, ...] = ()
    if missing:
        added = ", ".join(f"{quote(c.name)} {spark_type(c.type)}" for c in missing)
        statements = (f"ALTER TABLE {table} ADD COLUMNS ({added})",)
    notes = tuple(f"column {name} is in the table but not in the config: new rows leave it NULL" for name, nullable in extra if nullable)
    return SchemaPlan(statements, notes)


# ---------------------------------------------------------------------------------------------------------------------
# paths and the mart batch
# ---------------------------------------------------------------------------------------------------------------------


def changes_temp_path(args: CurateArgs) -> str:
    """Where the batch's changes are materialized: the MERGE and the mart batch read the same rows."""
    base = args.temp_dir or f"s3://{args.artifacts_bucket}/glue-temp/"
    return f"{base}curate/{args.dataset.name}/batch_id={args.batch_id}/changes/"


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
