"""Unit tests of the Spark-free curate logic: python3 -m unittest discover test/lib/assets/glue"""

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import types
import unittest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "lib", "assets", "glue"))

import curate_lib  # noqa: E402

ARTIFACTS = "dp-dev-artifacts-222222222222-eu-west-1"
CURATED = "dp-dev-curated-222222222222-eu-west-1"
KEY_ARN = "arn:aws:kms:eu-west-1:222222222222:key/0f8e5c1a-1111-4a2b-9c3d-1234567890ab"
TABLE = "glue_catalog.`dp_dev_curated`.`impressions`"


def load_dataset_json(name):
    with open(os.path.join(REPO_ROOT, "config", "datasets", f"{name}.json"), encoding="utf-8") as file:
        return json.load(file)


def job_argv(dataset_name="impressions", batch_id="b-0001", **overrides):
    """The argv Glue hands the script: the state machine's arguments, the job defaults and Glue's own."""
    values = {
        "JOB_NAME": "dp-dev-curate",
        "dataset": dataset_name,
        "batch_id": batch_id,
        "manifest_path": f"s3://{ARTIFACTS}/batches/{dataset_name}/batch_id={batch_id}/manifest.json",
        "mart_path": f"s3://{CURATED}/_mart/{dataset_name}/batch_id={batch_id}/",
        "dataset_config": json.dumps(load_dataset_json(dataset_name)),
        "curated_database": "dp_dev_curated",
        "artifacts_bucket": ARTIFACTS,
        "curated_bucket": CURATED,
        "kms_key_arn": KEY_ARN,
        "TempDir": f"s3://{ARTIFACTS}/glue-temp/",
        "job-bookmark-option": "job-bookmark-disable",
        "datalake-formats": "iceberg",
    }
    values.update(overrides)
    argv = ["/tmp/curate.py"]
    for name, value in values.items():
        if value is not None:
            argv += [f"--{name}", value]
    return argv


def manifest(runs=None, **overrides):
    document = {
        "version": 1,
        "dataset": "impressions",
        "batchId": "b-0001",
        "createdAt": "2026-12-02T10:00:00.000Z",
        "runs": runs
        if runs is not None
        else [
            {
                "runId": "run-2",
                "sequence": 2,
                "stagingPath": f"s3://{ARTIFACTS}/staging/impressions/run_id=run-2/",
                "objectKey": "impressions/ingest_date=2026-12-02/b.ndjson",
                "stagedBytes": 200,
                "rowsValid": 4,
            },
            {
                "runId": "run-1",
                "sequence": 1,
                "stagingPath": f"s3://{ARTIFACTS}/staging/impressions/run_id=run-1/",
                "objectKey": "impressions/ingest_date=2026-12-02/a.ndjson",
                "stagedBytes": 100,
                "rowsValid": 0,
            },
        ],
    }
    document.update(overrides)
    return json.dumps(document)


def dataset_of(columns, primary_key, partitioning=None, mart=False):
    raw = {"name": "events", "columns": columns, "primaryKey": primary_key, "mart": {"enabled": mart}}
    if partitioning:
        raw["partitioning"] = partitioning
    return curate_lib.parse_dataset(raw)


ALL_TYPES = [
    {"name": "id", "type": "string", "nullable": False},
    {"name": "n", "type": "integer"},
    {"name": "big", "type": "bigint"},
    {"name": "ratio", "type": "double"},
    {"name": "amount", "type": "decimal(38,9)"},
    {"name": "flag", "type": "boolean"},
    {"name": "day", "type": "date", "nullable": False},
    {"name": "at", "type": "timestamp", "nullable": False},
]


class ParseArgsTest(unittest.TestCase):
    def test_reads_the_arguments_the_state_machine_and_the_job_defaults_pass(self):
        args = curate_lib.parse_args(job_argv())
        self.assertEqual(args.job_name, "dp-dev-curate")
        self.assertEqual(args.batch_id, "b-0001")
        self.assertEqual(args.manifest_path, f"s3://{ARTIFACTS}/batches/impressions/batch_id=b-0001/manifest.json")
        self.assertEqual(args.mart_path, f"s3://{CURATED}/_mart/impressions/batch_id=b-0001/")
        self.assertEqual(args.curated_database, "dp_dev_curated")
        self.assertEqual(args.kms_key_arn, KEY_ARN)
        self.assertEqual(args.temp_dir, f"s3://{ARTIFACTS}/glue-temp/")
        self.assertEqual(args.dataset.name, "impressions")
        self.assertEqual(args.dataset.primary_key, ("impression_id",))
        self.assertEqual(args.dataset.partition_column, "event_date")
        self.assertTrue(args.dataset.mart_enabled)
        self.assertEqual(curate_lib.table_identifier(args), TABLE)

    def test_accepts_name_equals_value(self):
        argv = job_argv(batch_id="b:2026-12-02T10.00", manifest_path=None)
        argv.append(f"--manifest_path=s3://{ARTIFACTS}/batches/impressions/batch_id=b:2026-12-02T10.00/manifest.json")
        self.assertEqual(curate_lib.parse_args(argv).batch_id, "b:2026-12-02T10.00")

    def test_a_dataset_without_mart_needs_no_mart_path(self):
        config = load_dataset_json("clicks")
        config["mart"] = {"enabled": False}
        args = curate_lib.parse_args(job_argv("clicks", dataset_config=json.dumps(config), mart_path=None))
        self.assertIsNone(args.mart_path)

    def test_applies_the_schema_defaults_when_the_config_omits_them(self):
        raw = {"name": "minimal", "columns": [{"name": "id", "type": "string", "nullable": False}], "primaryKey": ["id"]}
        dataset = curate_lib.parse_dataset(raw)
        self.assertIsNone(dataset.partition_column)
        self.assertFalse(dataset.mart_enabled)
        self.assertTrue(curate_lib.parse_dataset({**raw, "columns": [{"name": "id", "type": "string"}]}).columns[0].nullable)

    def test_fails_a_missing_argument_naming_it(self):
        for name in ["batch_id", "manifest_path", "dataset_config", "curated_database", "artifacts_bucket", "curated_bucket"]:
            with self.assertRaisesRegex(curate_lib.CurateArgumentError, rf"--{name} is missing. Fix:"):
                curate_lib.parse_args(job_argv(**{name: None}))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--mart_path is missing"):
            curate_lib.parse_args(job_argv(mart_path=None))

    def test_fails_a_dataset_name_that_does_not_match_its_config(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--dataset is 'clicks' but --dataset_config describes 'impressions'"):
            curate_lib.parse_args(job_argv(dataset="clicks", dataset_config=json.dumps(load_dataset_json("impressions"))))

    def test_fails_paths_of_another_batch_dataset_or_bucket(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--manifest_path is .*batch_id=b-0002.*the batch's path is"):
            curate_lib.parse_args(job_argv(manifest_path=f"s3://{ARTIFACTS}/batches/impressions/batch_id=b-0002/manifest.json"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--mart_path is 's3://other/"):
            curate_lib.parse_args(job_argv(mart_path="s3://other/_mart/impressions/batch_id=b-0001/"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--curated_bucket is 's3://x': expected an S3 bucket name"):
            curate_lib.parse_args(job_argv(curated_bucket="s3://x"))

    def test_rejects_hostile_ids_and_configs(self):
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--batch_id is \"it's\""):
            curate_lib.parse_args(job_argv(batch_id="it's"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--batch_id is 'a/../b'"):
            curate_lib.parse_args(job_argv(batch_id="a/../b"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--batch_id"):
            curate_lib.parse_args(job_argv(batch_id="x" * 129))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--dataset_config is not valid JSON"):
            curate_lib.parse_args(job_argv(dataset_config="{"))
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"--kms_key_arn is 'alias/x'"):
            curate_lib.parse_args(job_argv(kms_key_arn="alias/x"))
        config = load_dataset_json("impressions")
        config["columns"][0]["type"] = "varchar"
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"column 'impression_id' has type 'varchar'"):
            curate_lib.parse_args(job_argv(dataset_config=json.dumps(config)))
        config = load_dataset_json("impressions")
        config["columns"][0]["name"] = "id`; DROP"
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"columns\[0\].name is"):
            curate_lib.parse_args(job_argv(dataset_config=json.dumps(config)))
        config = load_dataset_json("impressions")
        config["partitioning"] = {"by": "column", "column": "country"}
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"partitions by 'country', which is not a date column"):
            curate_lib.parse_args(job_argv(dataset_config=json.dumps(config)))


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.args = curate_lib.parse_args(job_argv())

    def test_reads_the_runs_in_sequence_order(self):
        parsed = curate_lib.parse_manifest(manifest(), self.args)
        self.assertEqual([run.run_id for run in parsed.runs], ["run-1", "run-2"])
        self.assertEqual(parsed.rows_valid, 4)
        self.assertEqual(parsed.created_at, "2026-12-02T10:00:00.000Z")
        # A run without valid rows may have no staged file: it is not read.
        self.assertEqual(parsed.staging_paths(), [f"s3://{ARTIFACTS}/staging/impressions/run_id=run-2/"])

    def test_fails_a_malformed_manifest_with_a_clear_error(self):
        run = json.loads(manifest())["runs"][0]
        cases = {
            "not json": "{",
            "a list": "[]",
            "version": manifest(version=2),
            "dataset": manifest(dataset="clicks"),
            "batch": manifest(batchId="b-0002"),
            "createdAt": manifest(createdAt="yesterday"),
            "no runs": manifest(runs=[]),
            "runs not a list": manifest(runs={"a": 1}),
            "run not an object": manifest(runs=["run-1"]),
            "run id": manifest(runs=[{**run, "runId": "../x"}]),
            "duplicate run": manifest(runs=[run, {**run, "sequence": 3}]),
            "duplicate sequence": manifest(runs=[run, {**run, "runId": "run-3", "stagingPath": run["stagingPath"].replace("run-2", "run-3")}]),
            "sequence zero": manifest(runs=[{**run, "sequence": 0}]),
            "sequence text": manifest(runs=[{**run, "sequence": "1"}]),
            "sequence bool": manifest(runs=[{**run, "sequence": True}]),
            "staging of another run": manifest(runs=[{**run, "stagingPath": run["stagingPath"].replace("run-2", "run-9")}]),
            "staging in another bucket": manifest(runs=[{**run, "stagingPath": run["stagingPath"].replace(ARTIFACTS, "evil")}]),
            "rows negative": manifest(runs=[{**run, "rowsValid": -1}]),
            "rows missing": manifest(runs=[{k: v for k, v in run.items() if k != "rowsValid"}]),
        }
        for case, text in cases.items():
            with self.subTest(case):
                with self.assertRaises(curate_lib.CurateArgumentError) as raised:
                    curate_lib.parse_manifest(text, self.args)
                message = str(raised.exception)
                self.assertIn(self.args.manifest_path, message)
                self.assertIn("Fix:", message)

    def test_rejects_a_huge_manifest_before_parsing_it(self):
        huge = " " * (curate_lib.MAX_MANIFEST_BYTES + 1)
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"larger than 8388608 bytes"):
            curate_lib.parse_manifest(huge, self.args)
        run = json.loads(manifest())["runs"][0]
        many = [
            {**run, "runId": f"r{i}", "sequence": i + 1, "stagingPath": run["stagingPath"].replace("run-2", f"r{i}")}
            for i in range(curate_lib.MAX_MANIFEST_RUNS + 1)
        ]
        with self.assertRaisesRegex(curate_lib.CurateArgumentError, r"lists 30001 runs"):
            curate_lib.parse_manifest(manifest(runs=many), self.args)

    def test_compares_the_rows_read_per_run_with_the_manifest(self):
        parsed = curate_lib.parse_manifest(manifest(), self.args)
        curate_lib.check_run_counts(parsed, {"run-2": 4})
        with self.assertRaisesRegex(curate_lib.CurateDataError, r"run 'run-2': 3 rows staged, the manifest says 4.*Nothing was merged"):
            curate_lib.check_run_counts(parsed, {"run-2": 3})
        with self.assertRaisesRegex(curate_lib.CurateDataError, r"rows of run 'run-7', which the manifest does not list"):
            curate_lib.check_run_counts(parsed, {"run-2": 4, "run-7": 1})


class SparkConfTest(unittest.TestCase):
    def test_the_glue_catalog_is_the_iceberg_catalog_with_s3fileio_and_sse_kms(self):
        conf = dict(curate_lib.spark_conf(curate_lib.parse_args(job_argv())))
        self.assertEqual(conf["spark.sql.extensions"], "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        self.assertEqual(conf["spark.sql.catalog.glue_catalog"], "org.apache.iceberg.spark.SparkCatalog")
        self.assertEqual(conf["spark.sql.catalog.glue_catalog.catalog-impl"], "org.apache.iceberg.aws.glue.GlueCatalog")
        self.assertEqual(conf["spark.sql.catalog.glue_catalog.io-impl"], "org.apache.iceberg.aws.s3.S3FileIO")
        self.assertEqual(conf["spark.sql.catalog.glue_catalog.warehouse"], f"s3://{CURATED}/")
        self.assertEqual(conf["spark.sql.catalog.glue_catalog.s3.sse.type"], "kms")
        self.assertEqual(conf["spark.sql.catalog.glue_catalog.s3.sse.key"], KEY_ARN)
        self.assertEqual(conf["spark.sql.session.timeZone"], "UTC")

    def test_without_a_key_the_bucket_default_encryption_applies(self):
        conf = dict(curate_lib.spark_conf(curate_lib.parse_args(job_argv(kms_key_arn=None))))
        self.assertNotIn("spark.sql.catalog.glue_catalog.s3.sse.type", conf)


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
        self.assertEqual(curate_lib.spark_simple_type("decimal(12,6)"), "decimal(12,6)")
        with self.assertRaises(curate_lib.CurateArgumentError):
            curate_lib.spark_type("float")

    def test_reads_staging_as_text_plus_the_validate_metadata(self):
        ddl = curate_lib.staging_schema_ddl(self.clicks)
        self.assertTrue(ddl.startswith("`click_id` STRING, `impression_id` STRING, `click_time` STRING"))
        self.assertTrue(ddl.endswith("`is_fraud_suspected` STRING, `_ingest_date` STRING, `_record` BIGINT"))

    def test_the_table_holds_the_lineage_first_then_the_dataset_columns_in_config_order(self):
        columns = curate_lib.table_columns(self.clicks)
        self.assertEqual(columns[:4], ["_batch_id", "_run_id", "_ingest_date", "_record"])
        self.assertEqual(columns[4:], [c["name"] for c in load_dataset_json("clicks")["columns"]])

    def test_types_the_batch_rows_and_adds_lineage_from_the_manifest(self):
        dataset = dataset_of(ALL_TYPES, ["id"])
        sql = curate_lib.batch_rows_sql(dataset, "b-1", "staged", "runs")
        for fragment in [
            "'b-1' AS `_batch_id`",
            "r.`run_id` AS `_run_id`",
            "CAST(s.`_ingest_date` AS DATE) AS `_ingest_date`",
            "s.`_record` AS `_record`",
            "CAST(s.`id` AS STRING) AS `id`",
            "CAST(s.`n` AS INT) AS `n`",
            "CAST(s.`big` AS BIGINT) AS `big`",
            "CAST(s.`ratio` AS DOUBLE) AS `ratio`",
            "CAST(s.`amount` AS DECIMAL(38,9)) AS `amount`",
            "CAST(s.`flag` AS BOOLEAN) AS `flag`",
            "CAST(s.`day` AS DATE) AS `day`",
            "CAST(s.`at` AS TIMESTAMP) AS `at`",
            "r.`sequence` AS `_curate_sequence`",
            "FROM `staged` s JOIN `runs` r ON r.`run_id` = url_decode(regexp_extract(s.`_curate_file`, 'run_id=([^/]+)/[^/]*$', 1))",
        ]:
            self.assertIn(fragment, sql)

    def test_the_run_of_a_staged_file_is_read_from_its_folder(self):
        # The same pattern as the SQL, applied here as Spark's regexp_extract would (Java regex, same syntax).
        pattern = re.search(r"'(run_id=.*)', 1\)", curate_lib.run_id_of_file_sql("f")).group(1)
        path = f"s3://{ARTIFACTS}/staging/impressions/run_id=2026-12-02T10.00.00_a1:b/part-00000.ndjson"
        self.assertEqual(re.search(pattern, path).group(1), "2026-12-02T10.00.00_a1:b")

    def test_writes_the_mart_batch_in_config_column_order_as_rfc4180_csv(self):
        self.assertEqual(
            curate_lib.mart_columns(self.clicks),
            ["click_id", "impression_id", "click_time", "campaign_id", "landing_url", "cost_usd", "is_fraud_suspected"],
        )
        self.assertEqual(curate_lib.MART_CSV_OPTIONS["escape"], '"')
        self.assertEqual(curate_lib.MART_CSV_OPTIONS["header"], "true")
        self.assertEqual([curate_lib.mart_file_count(n) for n in (0, 1, 1_000_000, 1_000_001, 10**9)], [1, 1, 1, 2, 64])

    def test_materializes_the_changes_per_batch(self):
        args = curate_lib.parse_args(job_argv())
        self.assertEqual(
            curate_lib.changes_temp_path(args), f"s3://{ARTIFACTS}/glue-temp/curate/impressions/batch_id=b-0001/changes/"
        )


class DedupeTest(unittest.TestCase):
    def test_latest_event_then_ingest_then_later_run_then_last_record_wins_within_a_batch(self):
        impressions = curate_lib.parse_dataset(load_dataset_json("impressions"))
        self.assertEqual(
            curate_lib.dedupe_order(impressions),
            [
                "`event_time` DESC NULLS LAST",
                "`_ingest_date` DESC NULLS LAST",
                "`_curate_sequence` DESC",
                "`_record` DESC NULLS LAST",
            ],
        )
        sql = curate_lib.dedupe_sql(impressions, "batch")
        self.assertIn("PARTITION BY `impression_id` ORDER BY `event_time` DESC NULLS LAST, `_ingest_date`", sql)
        self.assertTrue(sql.endswith("FROM `batch`) WHERE `_curate_rank` = 1"))
        self.assertNotIn("`_curate_rank`,", sql.split("FROM")[0])

    def test_without_an_event_time_the_latest_ingest_wins(self):
        dataset = dataset_of([{"name": "id", "type": "bigint", "nullable": False}, {"name": "seen", "type": "timestamp"}], ["id"])
        self.assertEqual(curate_lib.recency_columns(dataset), ["_ingest_date"])
        self.assertEqual(curate_lib.dedupe_order(dataset)[0], "`_ingest_date` DESC NULLS LAST")

    def test_newer_is_lexicographic_with_null_oldest(self):
        impressions = curate_lib.parse_dataset(load_dataset_json("impressions"))
        self.assertEqual(
            curate_lib.newer_sql(impressions, "t", "b"),
            "((t.`event_time` IS NOT NULL AND (b.`event_time` IS NULL OR t.`event_time` > b.`event_time`)) OR "
            "(t.`event_time` <=> b.`event_time` AND (t.`_ingest_date` IS NOT NULL AND (b.`_ingest_date` IS NULL OR "
            "t.`_ingest_date` > b.`_ingest_date`))))",
        )

    def test_newer_decides_as_the_dedupe_order_does(self):
        # Run on SQLite (the same three-valued logic; `<=>` is SQLite's IS): for every pair of rows, newer_sql holds
        # exactly when ORDER BY <recency> DESC NULLS LAST puts the first row strictly ahead of the second.
        impressions = curate_lib.parse_dataset(load_dataset_json("impressions"))
        db = sqlite3.connect(":memory:")
        values = [
            (e, d) for e in (None, "2026-12-01T10:00:00", "2026-12-01T11:00:00") for d in (None, "2026-12-01", "2026-12-02")
        ]
        db.execute("CREATE TABLE rows (id INTEGER, event_time TEXT, _ingest_date TEXT)")
        db.executemany("INSERT INTO rows VALUES (?, ?, ?)", [(i, e, d) for i, (e, d) in enumerate(values)])
        order = ", ".join(curate_lib.dedupe_order(impressions)[:2])
        ranks = dict(db.execute(f"SELECT id, DENSE_RANK() OVER (ORDER BY {order}) FROM rows"))
        newer = sqlite(curate_lib.newer_sql(impressions, "t", "b"))
        for t_id, b_id, is_newer in db.execute(f"SELECT t.id, b.id, {newer} FROM rows t, rows b"):
            with self.subTest(t=values[t_id], b=values[b_id]):
                self.assertEqual(bool(is_newer), ranks[t_id] < ranks[b_id])


def sqlite(sql):
    """Spark SQL of curate_lib in SQLite's dialect: the null-safe equality is IS, the catalog name is dropped."""
    return sql.replace("<=>", "IS").replace("glue_catalog.`dp_dev_curated`.", "")


class LatestWinsScenarioTest(unittest.TestCase):
    """The batch SQL (dedupe, changes, the MERGE's update condition) run on SQLite over a curated table, batch after
    batch: what the MERGE would do is applied by hand from its condition, the rest is the statements themselves."""

    def setUp(self):
        self.dataset = dataset_of(
            [
                {"name": "id", "type": "string", "nullable": False},
                {"name": "at", "type": "timestamp", "nullable": False},
                {"name": "value", "type": "string"},
            ],
            ["id"],
        )
        self.db = sqlite3.connect(":memory:")
        columns = ", ".join(curate_lib.table_columns(self.dataset))
        self.db.execute(f"CREATE TABLE impressions ({columns})")

    def run_batch(self, batch_id, rows):
        """rows: (id, at, value, ingest_date, sequence, record). Returns the mart batch (the changes) as dicts."""
        db = self.db
        db.execute("DROP TABLE IF EXISTS batch")
        db.execute(f"CREATE TABLE batch ({', '.join(curate_lib.batch_columns(self.dataset))})")
        db.executemany(
            "INSERT INTO batch VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(batch_id, f"run-{seq}", day, rec, key, at, value, seq) for key, at, value, day, seq, rec in rows],
        )
        db.execute("DROP TABLE IF EXISTS winners")
        db.execute(f"CREATE TABLE winners AS {curate_lib.dedupe_sql(self.dataset, 'batch')}")
        db.execute("DROP TABLE IF EXISTS changes")
        db.execute(f"CREATE TABLE changes AS {sqlite(curate_lib.changes_sql(self.dataset, 'winners', '`impressions`', batch_id))}")
        names = curate_lib.table_columns(self.dataset)
        condition = sqlite(curate_lib.merge_update_condition(self.dataset))
        for row in db.execute(f"SELECT {', '.join(names)} FROM changes WHERE _curate_apply").fetchall():
            current = db.execute("SELECT * FROM impressions WHERE id = ?", (row[names.index("id")],)).fetchone()
            if current is None:
                db.execute(f"INSERT INTO impressions VALUES ({', '.join('?' * len(names))})", row)
                continue
            select_s = ", ".join(f"? AS {name}" for name in names)
            (update,) = db.execute(
                f"SELECT {condition} FROM impressions t, (SELECT {select_s}) s WHERE t.id = s.id", row
            ).fetchone()
            if update:
                db.execute(f"UPDATE impressions SET {', '.join(n + ' = ?' for n in names)} WHERE id = ?", row + (row[names.index('id')],))
        return sorted(db.execute("SELECT id, value FROM changes ORDER BY id").fetchall())

    def table(self):
        return sorted(self.db.execute("SELECT id, value, _batch_id FROM impressions").fetchall())

    def test_later_rows_win_within_a_batch_and_across_batches_and_a_retry_changes_nothing(self):
        mart = self.run_batch(
            "b1",
            [
                ("k1", "2026-12-01T10:00:00", "k1 first", "2026-12-01", 1, 1),
                ("k1", "2026-12-01T10:00:00", "k1 sent again", "2026-12-01", 2, 1),  # later run wins the tie
                ("k2", "2026-12-01T10:00:00", "k2 old record", "2026-12-01", 1, 1),
                ("k2", "2026-12-01T10:00:00", "k2 last record", "2026-12-01", 1, 2),  # later record of the file wins
                ("k3", "2026-12-01T12:00:00", "k3 latest event", "2026-12-01", 1, 3),
                ("k3", "2026-12-01T11:00:00", "k3 earlier event, later run", "2026-12-01", 2, 2),
            ],
        )
        self.assertEqual(mart, [("k1", "k1 sent again"), ("k2", "k2 last record"), ("k3", "k3 latest event")])
        mart = self.run_batch(
            "b2",
            [
                ("k1", "2026-12-01T09:00:00", "k1 older event", "2026-12-02", 1, 1),  # older than curated: ignored
                ("k2", "2026-12-01T10:00:00", "k2 same event, later ingest", "2026-12-02", 1, 2),
                ("k3", "2026-12-01T12:00:00", "k3 tie", "2026-12-01", 1, 3),  # a tie: the batch wins
                ("k4", "2026-12-01T08:00:00", "k4 new", "2026-12-02", 1, 4),
            ],
        )
        self.assertEqual(mart, [("k2", "k2 same event, later ingest"), ("k3", "k3 tie"), ("k4", "k4 new")])
        after_b2 = self.table()
        self.assertEqual(
            after_b2,
            [("k1", "k1 sent again", "b1"), ("k2", "k2 same event, later ingest", "b2"), ("k3", "k3 tie", "b2"), ("k4", "k4 new", "b2")],
        )
        # The same batch again (its MERGE committed, the mart load failed): same mart batch, no change to the table.
        again = self.run_batch(
            "b2",
            [
                ("k1", "2026-12-01T09:00:00", "k1 older event", "2026-12-02", 1, 1),
                ("k2", "2026-12-01T10:00:00", "k2 same event, later ingest", "2026-12-02", 1, 2),
                ("k3", "2026-12-01T12:00:00", "k3 tie", "2026-12-01", 1, 3),
                ("k4", "2026-12-01T08:00:00", "k4 new", "2026-12-02", 1, 4),
            ],
        )
        self.assertEqual(again, mart)
        self.assertEqual(self.table(), after_b2)
        self.assertEqual(self.db.execute("SELECT count(*) FROM changes WHERE _curate_apply").fetchone(), (0,))


class MergeTest(unittest.TestCase):
    def setUp(self):
        self.impressions = curate_lib.parse_dataset(load_dataset_json("impressions"))

    def test_changes_are_the_winners_not_older_than_the_curated_row(self):
        sql = curate_lib.changes_sql(self.impressions, "winners", TABLE, "b-0001")
        self.assertIn(
            "(t.`impression_id` IS NULL OR t.`_batch_id` <> 'b-0001') AS `_curate_apply` FROM `winners` b", sql
        )
        # Only the key, recency and lineage columns of the table are read.
        self.assertIn(f"LEFT JOIN (SELECT `impression_id`, `event_time`, `_ingest_date`, `_batch_id` FROM {TABLE}) t", sql)
        self.assertIn("ON t.`impression_id` = b.`impression_id`", sql)
        self.assertIn(
            "WHERE t.`impression_id` IS NULL OR t.`_batch_id` = 'b-0001' OR NOT "
            + curate_lib.newer_sql(self.impressions, "t", "b"),
            sql,
        )

    def test_one_merge_by_primary_key_inserts_new_keys_and_updates_unless_the_curated_row_is_newer(self):
        sql = curate_lib.merge_sql(self.impressions, TABLE, "changes")
        self.assertTrue(sql.startswith(f"MERGE INTO {TABLE} t USING (SELECT `_batch_id`, `_run_id`"))
        self.assertIn("FROM `changes` WHERE `_curate_apply`) s ON t.`impression_id` = s.`impression_id` ", sql)
        self.assertIn(
            "WHEN MATCHED AND t.`_batch_id` <> s.`_batch_id` AND NOT " + curate_lib.newer_sql(self.impressions, "t", "s") + " THEN UPDATE SET ",
            sql,
        )
        updates = re.search(r"UPDATE SET (.*) WHEN NOT MATCHED", sql).group(1)
        self.assertNotIn("t.`impression_id` =", updates)
        self.assertIn("t.`_batch_id` = s.`_batch_id`, t.`_run_id` = s.`_run_id`", updates)
        self.assertIn("t.`viewability_score` = s.`viewability_score`", updates)
        insert = re.search(r"INSERT \((.*)\) VALUES \((.*)\)$", sql)
        self.assertEqual(insert.group(1).split(", "), [f"`{c}`" for c in curate_lib.table_columns(self.impressions)])
        self.assertEqual(insert.group(2).split(", "), [f"s.`{c}`" for c in curate_lib.table_columns(self.impressions)])
        self.assertEqual(sql.count("MERGE INTO"), 1)

    def test_composite_keys_join_on_every_key_column(self):
        dataset = dataset_of(ALL_TYPES, ["id", "day"])
        merge = curate_lib.merge_sql(dataset, TABLE, "changes")
        self.assertIn("ON t.`id` = s.`id` AND t.`day` = s.`day` WHEN", merge)
        self.assertNotIn("t.`day` = s.`day`,", merge.split("UPDATE SET")[1])
        changes = curate_lib.changes_sql(dataset, "winners", TABLE, "b")
        self.assertIn("ON t.`id` = b.`id` AND t.`day` = b.`day` WHERE", changes)
        self.assertIn("SELECT `id`, `day`, `at`, `_ingest_date`, `_batch_id` FROM", changes)
        self.assertIn("PARTITION BY `id`, `day` ORDER BY `at` DESC", curate_lib.dedupe_sql(dataset, "batch"))

    def test_reserved_words_as_column_names_are_quoted_everywhere(self):
        columns = [
            {"name": "select", "type": "string", "nullable": False},
            {"name": "order", "type": "bigint", "nullable": False},
            {"name": "timestamp", "type": "timestamp", "nullable": False},
            {"name": "from", "type": "date"},
            {"name": "group", "type": "decimal(10,2)"},
        ]
        dataset = dataset_of(columns, ["select", "order"])
        statements = [
            curate_lib.batch_rows_sql(dataset, "b", "staged", "runs"),
            curate_lib.dedupe_sql(dataset, "batch"),
            curate_lib.changes_sql(dataset, "winners", TABLE, "b"),
            curate_lib.merge_sql(dataset, TABLE, "changes"),
            curate_lib.staging_schema_ddl(dataset),
        ]
        for statement in statements:
            without_quoted = re.sub(r"`[^`]*`|'[^']*'", "", statement)
            for word in ("select", "order", "timestamp", "from", "group"):
                # Keywords appear upper-case; the columns only ever inside backticks.
                self.assertIsNone(re.search(rf"\b{word}\b", without_quoted), f"{word} unquoted in {statement}")

    def test_quotes_literals_and_refuses_backticks_in_identifiers(self):
        self.assertEqual(curate_lib.sql_string("a'b\\c"), "'a\\'b\\\\c'")
        with self.assertRaises(ValueError):
            curate_lib.quote("a`b")


class SchemaEvolutionTest(unittest.TestCase):
    def setUp(self):
        self.dataset = dataset_of(ALL_TYPES, ["id"])

    def table_fields(self, dataset=None, drop=(), change=None):
        dataset = dataset or self.dataset
        fields = [(name, curate_lib.spark_simple_type(kind), False) for name, kind in curate_lib.LINEAGE_COLUMNS]
        fields += [(c.name, curate_lib.spark_simple_type(c.type), c.nullable) for c in dataset.columns if c.name not in drop]
        return [(change[1], change[2], n) if change and name == change[0] else (name, kind, n) for name, kind, n in fields]

    def test_a_table_that_matches_needs_nothing(self):
        plan = curate_lib.schema_evolution_plan(self.dataset, self.table_fields(), TABLE)
        self.assertEqual(plan.statements, ())
        self.assertEqual(plan.notes, ())

    def test_adds_the_nullable_columns_the_table_lacks_in_config_order(self):
        plan = curate_lib.schema_evolution_plan(self.dataset, self.table_fields(drop=("flag", "amount", "n")), TABLE)
        self.assertEqual(plan.statements, (f"ALTER TABLE {TABLE} ADD COLUMNS (`n` INT, `amount` DECIMAL(38,9), `flag` BOOLEAN)",))
        # Idempotent: once added, the plan is empty.
        self.assertEqual(curate_lib.schema_evolution_plan(self.dataset, self.table_fields(), TABLE).statements, ())

    def test_fails_what_only_the_config_review_may_change(self):
        cases = {
            "a required column is missing": (self.table_fields(drop=("day",)), r"column day \(date, not nullable\) is missing"),
            "a type changed": (self.table_fields(change=("big", "big", "string")), r"column big is string in the table and bigint"),
            "a lineage column is missing": (
                [f for f in self.table_fields() if f[0] != "_batch_id"],
                r"lineage column _batch_id is missing",
            ),
            "an unknown required column": (self.table_fields() + [("legacy", "string", False)], r"column legacy is in the table, required"),
        }
        for case, (fields, message) in cases.items():
            with self.subTest(case):
                with self.assertRaisesRegex(curate_lib.CurateSchemaError, message + r".*Nothing was merged. Fix:"):
                    curate_lib.schema_evolution_plan(self.dataset, fields, TABLE)

    def test_an_unknown_nullable_column_is_noted_not_refused(self):
        plan = curate_lib.schema_evolution_plan(self.dataset, self.table_fields() + [("legacy", "string", True)], TABLE)
        self.assertEqual(plan.statements, ())
        self.assertEqual(plan.notes, ("column legacy is in the table but not in the config: new rows leave it NULL",))


class CurateScriptImportTest(unittest.TestCase):
    """curate.py itself needs Glue and Spark; only its import of curate_lib is exercised, with those stubbed."""

    STUBS = ["awsglue", "awsglue.context", "awsglue.job", "boto3", "pyspark", "pyspark.conf", "pyspark.context", "pyspark.sql"]

    def setUp(self):
        self.saved = {name: sys.modules.get(name) for name in self.STUBS + ["curate_lib"]}
        for name in self.STUBS:
            sys.modules[name] = types.ModuleType(name)
        sys.modules["awsglue.context"].GlueContext = object
        sys.modules["awsglue.job"].Job = object
        sys.modules["pyspark.conf"].SparkConf = object
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
