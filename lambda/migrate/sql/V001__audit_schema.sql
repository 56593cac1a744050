-- Audit schema: one row per pipeline run (one landing object going through validate -> curate -> load) and one row
-- per Glue job run. Written by the state machine's tasks through the mart_loader role; read by operators and the API.
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE audit.pipeline_runs (
  run_id          text PRIMARY KEY,
  dataset         text NOT NULL,
  object_key      text NOT NULL,
  -- S3 version id of the landing object; NULL for an unversioned object (still unique: NULLS NOT DISTINCT).
  object_version  text,
  status          text NOT NULL CHECK (status ~ '^[A-Z][A-Z_]*$'),
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  rows_valid      bigint CHECK (rows_valid >= 0),
  rows_rejected   bigint CHECK (rows_rejected >= 0),
  rows_loaded     bigint CHECK (rows_loaded >= 0),
  error           text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- One run per delivered object version: a re-delivered event finds the existing row instead of running twice.
  CONSTRAINT pipeline_runs_object_key UNIQUE NULLS NOT DISTINCT (dataset, object_key, object_version)
);

CREATE INDEX pipeline_runs_dataset_started ON audit.pipeline_runs (dataset, started_at DESC);
CREATE INDEX pipeline_runs_failed ON audit.pipeline_runs (started_at DESC) WHERE status = 'FAILED';

CREATE TABLE audit.job_runs (
  job_name         text NOT NULL,
  job_run_id       text NOT NULL,
  -- The pipeline run that started the job, when there is one (no foreign key: audit rows must never block a run).
  pipeline_run_id  text,
  state            text NOT NULL CHECK (state ~ '^[A-Z][A-Z_]*$'),
  started_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  error            text,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_name, job_run_id)
);

CREATE INDEX job_runs_pipeline_run ON audit.job_runs (pipeline_run_id);
