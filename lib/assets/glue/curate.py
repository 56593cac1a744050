"""curate: the Glue (PySpark) job that turns the validated rows of one run into curated Parquet and the mart batch.

Steps, for the run named by --run_id:
1. read staging/<dataset>/run_id=<runId>/ (NDJSON written by lambda/validate) with an explicit all-text schema and
   cast every column to its dataset type;
2. merge with the rows already curated in the partitions this run touches and keep one row per primary key by the
   "latest wins" rule (curate_lib.dedupe_order);
3. replace exactly those partitions (dynamic partition overwrite) with snappy Parquet under
   <curated_path><partition>=YYYY-MM-DD/: re-running the same run gives the same files, never duplicates;
4. when the dataset loads into the mart, write the run's winning rows as CSV (header, dataset-config column order) to
   --mart_path, replacing any batch a previous attempt left there.

The job keeps Glue's job.init / job.commit structure (bookmarks on), but the staging read is deliberately not
bookmarked (no transformation_ctx): a retried run must read its whole folder again to stay idempotent.
All Spark-free logic lives in curate_lib.py, unit-tested with python3 -m unittest.
"""

import importlib.util
import os
import sys

from awsglue.context import GlueContext
from awsglue.job import Job
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

CURRENT_RUN = "_current_run"


def path_exists(spark, path):
    """Whether an S3 (or local) folder holds anything, through the Hadoop FileSystem of the session."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return fs.exists(hadoop_path)


def main(argv):
    args = curate_lib.parse_args(argv)
    dataset = args.dataset
    partition = curate_lib.partition_column(dataset)

    spark_context = SparkContext.getOrCreate()
    glue_context = GlueContext(spark_context)
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args.job_name, {"JOB_NAME": args.job_name, "run_id": args.run_id})
    logger = glue_context.get_logger()

    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.parquet.compression.codec", "snappy")
    # Validate stages dates and timestamps of the years 0001-9999 (PostgreSQL's range too). Spark 3.5 refuses by
    # default to write dates before 1582-10-15 and timestamps before 1900 to Parquet (EXCEPTION mode), which would
    # fail the whole batch: they are written as they are, proleptic Gregorian, as every reader of these files reads.
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    spark.conf.set("spark.sql.parquet.int96RebaseModeInWrite", "CORRECTED")
    # No _SUCCESS marker: the mart loader reads every part file of the batch folder and nothing else.
    spark_context._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")

    # 1. The run's validated rows, typed.
    staged = spark.read.schema(curate_lib.staging_schema_ddl(dataset)).json(args.staging_path)
    run_rows = staged.selectExpr(*curate_lib.cast_expressions(dataset, args.run_id)).withColumn(CURRENT_RUN, F.lit(True))
    run_rows.cache()
    partitions = sorted(str(row[0]) for row in run_rows.select(partition).distinct().collect() if row[0] is not None)
    logger.info(f"curate {dataset.name} run {args.run_id}: {run_rows.count()} staged rows, partitions {partitions}")

    # 2. Rows already curated in those partitions, so a key re-sent in a later file replaces the older row.
    existing_paths = [
        path for path in (curate_lib.partition_path(args.curated_path, dataset, value) for value in partitions)
        if path_exists(spark, path)
    ]
    merged = run_rows
    if existing_paths:
        existing = (
            spark.read.schema(curate_lib.curated_schema_ddl(dataset))
            .option("basePath", args.curated_path)
            .parquet(*existing_paths)
            # A re-run replaces its own earlier output instead of competing with it.
            .where(F.col(curate_lib.RUN_ID_COLUMN) != F.lit(args.run_id))
            .withColumn(CURRENT_RUN, F.lit(False))
        )
        merged = run_rows.unionByName(existing)
    merged.createOrReplaceTempView("merged")
    winners = spark.sql(curate_lib.dedupe_sql(dataset, "merged", CURRENT_RUN)).drop("_rank")

    # 3. Materialize first (the partitions being replaced are also being read), then overwrite them.
    temp_path = curate_lib.merge_temp_path(args)
    winners.write.mode("overwrite").parquet(temp_path)
    final = spark.read.parquet(temp_path)
    (
        final.select(*curate_lib.curated_columns(dataset))
        .repartition(partition)
        .write.mode("overwrite")
        .partitionBy(partition)
        .parquet(args.curated_path)
    )

    # 4. The mart batch: the run's rows that won, in the mart table's column order.
    if dataset.mart_enabled:
        batch = final.where(F.col(CURRENT_RUN)).select(*curate_lib.mart_columns(dataset))
        files = curate_lib.mart_file_count(batch.count())
        batch.coalesce(files).write.mode("overwrite").options(**curate_lib.MART_CSV_OPTIONS).csv(args.mart_path)

    run_rows.unpersist()
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
