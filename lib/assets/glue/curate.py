"""curate: the Glue (PySpark) job that applies one batch of staged runs to the dataset's curated Iceberg table and writes
the mart batch.

Steps, for the batch named by --batch_id (one batch per dataset at a time: the batch state machine holds the lock):
1. read the manifest (--manifest_path) and check it against the arguments;
2. evolve the table if the config added nullable columns it lacks (ALTER TABLE ... ADD COLUMNS, only the missing ones);
3. read the runs' staged NDJSON (written by lambda/validate) with an explicit all-text schema, cast every column to
   its dataset type, add the lineage (batch, run, ingest date, record) and check the rows per run against the manifest;
4. keep one row per primary key by the "latest wins" rule (curate_lib.dedupe_order), then the rows the batch changes:
   new keys and keys whose curated row is not newer (curate_lib.changes_sql), materialized once;
5. one MERGE INTO the Iceberg table by primary key (merge-on-read: it writes the batch's rows and delete files, not the
   partitions they land in); a batch retried after its MERGE committed finds its own rows and changes nothing;
6. when the dataset loads into the mart, write the same changes as CSV (header, dataset-config column order, sorted by
   key) to --mart_path, replacing any batch a previous attempt left there.

Job bookmarks are off: the manifest says exactly what to read, and a retried batch must read all of it again.
All Spark-free logic lives in curate_lib.py, unit-tested with python3 -m unittest.
"""

import importlib.util
import os
import sys

import boto3
from awsglue.context import GlueContext
from awsglue.job import Job
from pyspark.conf import SparkConf
from pyspark.context import SparkContext
from pyspark.sql import functions as F

#: First words of curate_lib.py, used to find it when it was shipped under another file name.
CURATE_LIB_MARKER = '"""Spark-free logic of the curate Glue job'


def import_curate_lib():
    """Imports curate_lib, shipped with --extra-py-files.

    A CDK file asset is uploaded as `<hash>.py`, which Python cannot import as `curate_lib`; the file is then found on
    sys.path by its first line and loaded under its real name. (Shipping the folder as a .zip avoids the detour.)
    """
    try:
        import curate_lib

        return curate_lib
    except ImportError:
        pass
    for folder in [os.getcwd(), *sys.path]:
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not name.endswith(".py") or not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8", errors="ignore") as file:
                if not file.read(len(CURATE_LIB_MARKER)) == CURATE_LIB_MARKER:
                    continue
            spec = importlib.util.spec_from_file_location("curate_lib", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["curate_lib"] = module
            spec.loader.exec_module(module)
            return module
    raise ImportError("curate_lib.py is not on the Python path. Fix: pass it to the job with --extra-py-files")


curate_lib = import_curate_lib()

STAGED_VIEW = "_curate_staged"
RUNS_VIEW = "_curate_runs"
BATCH_VIEW = "_curate_batch"
WINNERS_VIEW = "_curate_winners"
CHANGES_VIEW = "_curate_changes"


def read_manifest(url):
    """The manifest's text, read with a bound: a manifest larger than curate_lib allows is refused unread."""
    bucket, key = curate_lib.split_s3_url(url)
    response = boto3.client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{curate_lib.MAX_MANIFEST_BYTES}")
    return response["Body"].read().decode("utf-8", errors="replace")


def read_staged(spark, dataset, paths):
    """The staged rows of the runs that have any, with the file each row came from (its run)."""
    reader = spark.read.schema(curate_lib.staging_schema_ddl(dataset)).option("mode", "FAILFAST")
    if not paths:
        empty = reader.json(spark.sparkContext.emptyRDD())
        return empty.withColumn(curate_lib.FILE_COLUMN, F.lit(None).cast("string"))
    staged = reader.option("pathGlobFilter", "*.ndjson").json(paths)
    return staged.withColumn(curate_lib.FILE_COLUMN, F.col("_metadata.file_path"))


def delete_path(spark, path):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(hadoop_path, True)


def main(argv):
    args = curate_lib.parse_args(argv)
    dataset = args.dataset

    conf = SparkConf()
    for key, value in curate_lib.spark_conf(args):
        conf.set(key, value)
    spark_context = SparkContext.getOrCreate(conf)
    glue_context = GlueContext(spark_context)
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args.job_name, {"JOB_NAME": args.job_name, "batch_id": args.batch_id})
    logger = glue_context.get_logger()

    # 1. The manifest.
    manifest = curate_lib.parse_manifest(read_manifest(args.manifest_path), args)
    table = curate_lib.table_identifier(args)
    logger.info(f"curate {dataset.name} batch {args.batch_id}: {len(manifest.runs)} runs, {manifest.rows_valid} rows")

    # 2. The table takes every configured column (nullable additions are applied here if the deploy did not).
    fields = [(f.name, f.dataType.simpleString(), f.nullable) for f in spark.table(table).schema.fields]
    plan = curate_lib.schema_evolution_plan(dataset, fields, table)
    for note in plan.notes:
        logger.warn(f"curate {dataset.name}: {note}")
    for statement in plan.statements:
        logger.info(f"curate {dataset.name}: {statement}")
        spark.sql(statement)

    # 3. The batch's rows, typed, with lineage, counted per run against the manifest.
    runs = spark.createDataFrame([(run.run_id, run.sequence) for run in manifest.runs], "run_id STRING, sequence INT")
    runs.createOrReplaceTempView(RUNS_VIEW)
    read_staged(spark, dataset, manifest.staging_paths()).createOrReplaceTempView(STAGED_VIEW)
    batch = spark.sql(curate_lib.batch_rows_sql(dataset, args.batch_id, STAGED_VIEW, RUNS_VIEW)).cache()
    counted = {row[0]: row[1] for row in batch.groupBy(curate_lib.RUN_ID_COLUMN).count().collect()}
    curate_lib.check_run_counts(manifest, counted)
    batch.createOrReplaceTempView(BATCH_VIEW)

    # 4. One row per key, then what the batch changes, written once: the MERGE and the mart batch read the same rows.
    spark.sql(curate_lib.dedupe_sql(dataset, BATCH_VIEW)).createOrReplaceTempView(WINNERS_VIEW)
    changes_path = curate_lib.changes_temp_path(args)
    spark.sql(curate_lib.changes_sql(dataset, WINNERS_VIEW, table, args.batch_id)).write.mode("overwrite").parquet(changes_path)
    changes = spark.read.parquet(changes_path)
    changes.createOrReplaceTempView(CHANGES_VIEW)
    to_apply = changes.where(F.col(curate_lib.APPLY_COLUMN)).count()

    # 5. The MERGE (skipped when a retried batch finds all of its rows already curated: no empty snapshot).
    if to_apply > 0:
        spark.sql(curate_lib.merge_sql(dataset, table, CHANGES_VIEW))
    logger.info(f"curate {dataset.name} batch {args.batch_id}: {to_apply} rows merged, {changes.count()} rows changed by the batch")

    # 6. The mart batch: deterministic files (range-partitioned and sorted by key), so a retry rewrites the same rows.
    if args.mart_path is not None:
        keys = list(dataset.primary_key)
        rows = changes.count()
        (
            changes.select(*curate_lib.mart_columns(dataset))
            .repartitionByRange(curate_lib.mart_file_count(rows), *keys)
            .sortWithinPartitions(*keys)
            .write.mode("overwrite")
            .options(**curate_lib.MART_CSV_OPTIONS)
            .csv(args.mart_path)
        )

    batch.unpersist()
    try:
        delete_path(spark, changes_path)
    except Exception as error:  # noqa: BLE001 - the batch is applied; a leftover temp folder is overwritten next time
        logger.warn(f"curate {dataset.name}: could not delete {changes_path}: {error}")
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
