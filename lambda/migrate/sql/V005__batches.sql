-- Batches: the data path's stage B. Stage A stages each landed object (a pipeline run, status STAGED); stage B takes
-- the STAGED runs of one dataset as a batch (by size or wait time), curates them with one Glue job run and loads the
-- mart once. Written by the stage A and stage B functions as mart_loader; read by operators, the API and scripts.

-- When the object landed (the S3 event time), when its rows were staged, how many bytes, and the batch it is in.
ALTER TABLE audit.pipeline_runs
  ADD COLUMN landed_at    timestamptz,
  ADD COLUMN staged_at    timestamptz,
  ADD COLUMN staged_bytes bigint CHECK (staged_bytes >= 0),
  ADD COLUMN batch_id     text;

-- The runs waiting for a batch, oldest first: what every batch decision reads.
CREATE INDEX pipeline_runs_pending ON audit.pipeline_runs (dataset, staged_at, run_id)
  WHERE status = 'STAGED' AND batch_id IS NULL;
CREATE INDEX pipeline_runs_batch ON audit.pipeline_runs (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE audit.batches (
  batch_id          text PRIMARY KEY,
  dataset           text NOT NULL,
  -- RUNNING: curate and load under way; FAILED: waiting for its next attempt (same runs, same manifest);
  -- SUCCEEDED: curated and loaded; ABANDONED: failed every attempt, its runs are FAILED (replay them).
  status            text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'ABANDONED')),
  attempts          integer NOT NULL CHECK (attempts >= 1),
  run_count         integer NOT NULL CHECK (run_count >= 1),
  staged_bytes      bigint NOT NULL CHECK (staged_bytes >= 0),
  rows_valid        bigint NOT NULL CHECK (rows_valid >= 0),
  oldest_landed_at  timestamptz,
  oldest_staged_at  timestamptz NOT NULL,
  created_at        timestamptz NOT NULL,
  started_at        timestamptz NOT NULL,
  finished_at       timestamptz,
  next_attempt_at   timestamptz,
  -- The stage B execution running the current attempt.
  execution_name    text NOT NULL,
  -- s3://<artifacts>/<manifest_key>: the runs and their staging folders, read by the curate job.
  manifest_key      text NOT NULL,
  glue_job_run_id   text,
  rows_loaded       bigint CHECK (rows_loaded >= 0),
  error             text,
  updated_at        timestamptz NOT NULL
);

-- One batch per dataset at a time, enforced by the database: a failed batch stays open until it succeeds or is
-- abandoned, and no other batch of its dataset starts meanwhile.
CREATE UNIQUE INDEX batches_one_open_per_dataset ON audit.batches (dataset) WHERE status IN ('RUNNING', 'FAILED');
CREATE INDEX batches_dataset_created ON audit.batches (dataset, created_at DESC);

-- Which runs a batch holds (kept after the batch ends: pipeline_runs.batch_id is the run's current batch).
CREATE TABLE audit.batch_runs (
  batch_id  text NOT NULL REFERENCES audit.batches (batch_id),
  run_id    text NOT NULL,
  -- Order the runs were staged in (1 = oldest): the curate job's tie-break between two versions of a key.
  sequence  integer NOT NULL CHECK (sequence >= 1),
  PRIMARY KEY (batch_id, run_id)
);
CREATE INDEX batch_runs_run ON audit.batch_runs (run_id);

-- The stage B loop of each dataset: the execution that holds the dataset, and until when (a lease). A holder that
-- crashes or times out stops renewing it; once it expires, the next staged run starts a new holder.
CREATE TABLE audit.dataset_schedules (
  dataset           text PRIMARY KEY,
  holder            text,
  lease_expires_at  timestamptz,
  updated_at        timestamptz NOT NULL,
  CHECK ((holder IS NULL) = (lease_expires_at IS NULL))
);

ALTER TABLE audit.job_runs ADD COLUMN batch_id text;
CREATE INDEX job_runs_batch ON audit.job_runs (batch_id);

-- Freshness per dataset: how much waits for a batch, and since when (age = now() - oldest_staged_at).
CREATE VIEW audit.dataset_freshness AS
SELECT dataset,
       count(*)                              AS staged_runs,
       COALESCE(sum(staged_bytes), 0)::bigint AS staged_bytes,
       min(staged_at)                        AS oldest_staged_at,
       min(landed_at)                        AS oldest_landed_at
  FROM audit.pipeline_runs
 WHERE status = 'STAGED'
 GROUP BY dataset;

-- Landing -> mart latency per finished batch: from the oldest object of the batch landing to the batch's end.
CREATE VIEW audit.batch_latency AS
SELECT batch_id, dataset, status, attempts, run_count, staged_bytes, rows_valid, rows_loaded,
       oldest_landed_at, created_at, finished_at,
       finished_at - oldest_landed_at AS landing_to_mart,
       finished_at - started_at       AS last_attempt_duration
  FROM audit.batches
 WHERE finished_at IS NOT NULL;

-- ALTER DEFAULT PRIVILEGES (V002) covers the new tables and views for mart_loader (SELECT, INSERT, UPDATE).
