"""Unit tests of the Spark-free curate logic: python3 -m unittest discover test/lib/assets/glue"""

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import types
import unittest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "lib", "assets", "glue"))

import curate_lib  # noqa: E402


def load_dataset_json(name):
    with open(os.path.join(REPO_ROOT, "config", "datasets", f"{name}.json"), encoding="utf-8") as file:
        return json.load(file)


def job_argv(dataset_name="impressions", **overrides):
    """The argv Glue hands the script: the state machine's arguments, the job defaults and Glue's own."""
    values = {
        "JOB_NAME": "dp-dev-curate",
        "dataset": dataset_name,
        "run_id": "exec-0001",
        "staging_path": f"s3://dp-dev-artifacts/staging/{dataset_name}/run_id=exec-0001/",
        "curated_path": f"s3://dp-dev-curated/{dataset_name}/",
        "mart_path": f"s3://dp-dev-curated/_mart/{dataset_name}/run_id=exec-0001/",
        "dataset_config": json.dumps(load_dataset_json(dataset_name)),
        "TempDir": "s3://dp-dev-artifacts/glue-temp/",
        "job-bookmark-option": "job-bookmark-enable",
        "curated_database": "dp_dev_curated",
    }
    values.update(overrides)
    argv = ["/tmp/curate.py"]
    for name, value in values.items():
        if value is not None:
            argv += [f"--{name}", value]
    return argv


class ParseArgsTest(unittest.TestCase):
    def test_reads_the_arguments_the_state_machine_and_glue_pass(self):
        args = curate_lib.parse_args(job_argv())
        self.assertEqual(args.job_name, "dp-dev-curate")
        self.assertEqual(args.run_id, "exec-0001")
        self.assertEqual(args.staging_path, "s3://dp-dev-artifacts/staging/impressions/run_id=exec-0001/")
        self.assertEqual(args.curated_path, "s3://dp-dev-curated/impressions/")
        self.assertEqual(args.temp_dir, "s3://dp-dev-artifacts/glue-temp/")
        self.assertEqual(args.dataset.name, "impressions")
        self.assertEqual(args.dataset.primary_key, ("impression_id",))
        self.assertEqual(args.dataset.partition_column, "event_date")
        self.assertTrue(args.dataset.mart_enabled)

    def test_accepts_name_equals_value_and_adds_missing_trailing_slashes(self):
        argv = [arg for arg in job_argv(curated_path=None)] + ["--curated_path=s3://dp-dev-curated/impressions"]
        self.assertEqual(curate_lib.parse_args(argv).curated_path, "s3://dp-dev-curated/impressions/")

    def test_applies_the_schema_defaults_when_the_config_omits_them(self):
        raw = {"name": "minimal", "columns": [{"name": "id", "type": "string", "nullable": False}], "primaryKey": ["id"]}
        dataset = curate_lib.parse_dataset(raw)
        self.assertIsNone(dataset.partition_column)
        self.assertFalse(dataset.mart_enabled)
        self.assertTrue(curate_lib.parse_dataset({**raw, "columns": [{"name": "id", "type": "string"}]}).columns[0].nullable)

    def test_fails_a_missing_argument_naming_it(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--mart_path is missing. Fix:"):
            curate_lib.parse_args(job_argv(mart_path=None))

    def test_fails_a_dataset_name_that_does_not_match_its_config(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--dataset is 'clicks' but --dataset_config describes 'impressions'"):
            curate_lib.parse_args(job_argv(dataset="clicks"))

    def test_fails_a_staging_path_of_another_run(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"must end with 'staging/impressions/run_id=exec-0001/'"):
            curate_lib.parse_args(job_argv(staging_path="s3://dp-dev-artifacts/staging/impressions/run_id=other/"))

    def test_fails_bad_run_ids_paths_and_configs(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--run_id is \"it's\""):
            curate_lib.parse_args(job_argv(run_id="it's"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--curated_path is 'dp-dev-curated/x': it must be an s3:// URL"):
            curate_lib.parse_args(job_argv(curated_path="dp-dev-curated/x"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--dataset_config is not valid JSON"):
            curate_lib.parse_args(job_argv(dataset_config="{"))
        config = load_dataset_json("impressions")
        config["columns"][0]["type"] = "varchar"
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"column 'impression_id' has type 'varchar'"):
            curate_lib.parse_args(job_argv(dataset_config=json.dumps(config)))
        config = load_dataset_json("impressions")
        config["partitioning"] = {"by": "column", "column": "country"}
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"partitions by 'country', which is not a date column"):
            curate_lib.parse_args(job_argv(dataset_config=json.dumps(config)))


class SchemaTest(unittest.TestCase):
    def setUp(self):
        self.impressions = curate_lib.parse_dataset(load_dataset_json("impressions"))
        self.clicks = curate_lib.parse_dataset(load_dataset_json("clicks"))

    def test_maps_every_column_type_to_spark(self):
        expected = {
            "string": "STRING",
            "integer": "INT",
            "bigint": "BIGINT",
            "double": "DOUBLE",
            "boolean": "BOOLEAN",
            "date": "DATE",
            "timestamp": "TIMESTAMP",
            "decimal(12,6)": "DECIMAL(12,6)",
        }
        for column_type, spark in expected.items():
            self.assertEqual(curate_lib.spark_type(column_type), spark)
        with self.assertRaises(curate_lib.CurateArgumentError):
            curate_lib.spark_type("float")

    def test_reads_staging_as_text_plus_the_validate_metadata(self):
        ddl = curate_lib.staging_schema_ddl(self.clicks)
        self.assertTrue(ddl.startswith("`click_id` STRING, `impression_id` STRING, `click_time` STRING"))
        self.assertTrue(ddl.endswith("`is_fraud_suspected` STRING, `_ingest_date` STRING, `_record` BIGINT"))

    def test_casts_to_dataset_types_and_adds_lineage(self):
        expressions = curate_lib.cast_expressions(self.clicks, "exec-0001")
        self.assertIn("CAST(`cost_usd` AS DECIMAL(10,4)) AS `cost_usd`", expressions)
        self.assertIn("CAST(`click_time` AS TIMESTAMP) AS `click_time`", expressions)
        self.assertIn("'exec-0001' AS `_run_id`", expressions)
        # Clicks partition by ingest date, which comes from the validate metadata.
        self.assertEqual(expressions[-1], "CAST(`_ingest_date` AS DATE) AS `ingest_date`")
        self.assertNotIn("AS `ingest_date`", " ".join(curate_lib.cast_expressions(self.impressions, "r")))

    def test_partitions_by_the_date_column_or_the_ingest_date(self):
        self.assertEqual(curate_lib.partition_column(self.impressions), "event_date")
        self.assertEqual(curate_lib.partition_column(self.clicks), "ingest_date")
        self.assertEqual(
            curate_lib.partition_path("s3://c/impressions/", self.impressions, "2026-11-22"),
            "s3://c/impressions/event_date=2026-11-22/",
        )
        with self.assertRaises(ValueError):
            curate_lib.partition_path("s3://c/impressions/", self.impressions, "2026-11-22/../x")

    def test_reads_existing_curated_rows_with_lineage_and_partition_types(self):
        self.assertEqual(
            curate_lib.curated_columns(self.clicks)[-4:], ["_ingest_date", "_record", "_run_id", "ingest_date"]
        )
        ddl = curate_lib.curated_schema_ddl(self.impressions)
        self.assertIn("`event_date` DATE", ddl)
        self.assertTrue(ddl.endswith("`_ingest_date` DATE, `_record` BIGINT, `_run_id` STRING"))

    def test_writes_the_mart_batch_in_config_column_order_as_rfc4180_csv(self):
        self.assertEqual(
            curate_lib.mart_columns(self.clicks),
            ["click_id", "impression_id", "click_time", "campaign_id", "landing_url", "cost_usd", "is_fraud_suspected"],
        )
        self.assertEqual(curate_lib.MART_CSV_OPTIONS["escape"], '"')
        self.assertEqual(curate_lib.MART_CSV_OPTIONS["header"], "true")
        self.assertEqual([curate_lib.mart_file_count(n) for n in (0, 1, 1_000_000, 1_000_001, 10**9)], [1, 1, 1, 2, 64])


class DedupeTest(unittest.TestCase):
    def test_latest_event_then_ingest_then_current_run_then_last_record_wins(self):
        impressions = curate_lib.parse_dataset(load_dataset_json("impressions"))
        self.assertEqual(
            curate_lib.dedupe_order(impressions, "_current_run"),
            ["`event_time` DESC NULLS LAST", "`_ingest_date` DESC NULLS LAST", "`_current_run` DESC", "`_record` DESC NULLS LAST"],
        )
        sql = curate_lib.dedupe_sql(impressions, "merged", "_current_run")
        self.assertIn("PARTITION BY `impression_id` ORDER BY `event_time` DESC", sql)
        self.assertTrue(sql.endswith("WHERE `_rank` = 1"))

    def test_without_an_event_time_the_latest_ingest_wins(self):
        raw = {
            "name": "accounts",
            "columns": [{"name": "id", "type": "bigint", "nullable": False}, {"name": "seen", "type": "timestamp"}],
            "primaryKey": ["id"],
        }
        order = curate_lib.dedupe_order(curate_lib.parse_dataset(raw), "_current_run")
        self.assertEqual(order[0], "`_ingest_date` DESC NULLS LAST")


class CurateScriptImportTest(unittest.TestCase):
    """curate.py itself needs Glue and Spark; only its import of curate_lib is exercised, with those stubbed."""

    STUBS = ["awsglue", "awsglue.context", "awsglue.job", "pyspark", "pyspark.context", "pyspark.sql"]

    def setUp(self):
        self.saved = {name: sys.modules.get(name) for name in self.STUBS + ["curate_lib"]}
        for name in self.STUBS:
            sys.modules[name] = types.ModuleType(name)
        sys.modules["awsglue.context"].GlueContext = object
        sys.modules["awsglue.job"].Job = object
        sys.modules["pyspark.context"].SparkContext = object
        sys.modules["pyspark.sql"].functions = None
        sys.modules.pop("curate_lib", None)
        self.folder = tempfile.mkdtemp()
        self.saved_path = list(sys.path)
        # Only the asset folder holds the lib, under the hashed name a CDK file asset gets.
        sys.path[:] = [self.folder] + [p for p in sys.path if os.path.abspath(p) != os.path.join(REPO_ROOT, "lib", "assets", "glue")]
        shutil.copy(os.path.join(REPO_ROOT, "lib", "assets", "glue", "curate_lib.py"), os.path.join(self.folder, "3f9a0c1d.py"))

    def tearDown(self):
        sys.path[:] = self.saved_path
        shutil.rmtree(self.folder)
        for name, module in self.saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module

    def test_finds_curate_lib_shipped_under_a_hashed_asset_name(self):
        spec = importlib.util.spec_from_file_location("curate_script", os.path.join(REPO_ROOT, "lib", "assets", "glue", "curate.py"))
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        self.assertEqual(os.path.basename(script.curate_lib.__file__), "3f9a0c1d.py")
        self.assertEqual(script.curate_lib.spark_type("integer"), "INT")


if __name__ == "__main__":
    unittest.main()
