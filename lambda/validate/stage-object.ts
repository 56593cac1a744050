/**
 * Stage A for one landed object (one SQS message holding EventBridge's "Object Created" event): claim the object
 * version -> validate it (staging + quarantine with reasons) -> record the run STAGED, or how it ended -> make sure
 * its dataset's stage B loop runs. No Glue, no mart, no waiting.
 *
 * Every step is safe to repeat: the run id comes from the object version, so a message delivered again finds its run
 * (RUNNING after a crash: validated again, same staging key; STAGED: only the loop start is redone).
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import type { DatasetConfig } from '../../config/schema';
import { startInput } from '../batch/contract';
import { TransientError } from '../shared/errors';
import { parseEvent } from '../shared/parse-event';
import { logger } from '../shared/logger';
import type { SqlExecutor } from '../shared/sql';
import '../shared/zod-locale';
import { REPLAYABLE_STATUSES, type ValidateOutput } from './contract';
import {
  type BatchStart,
  claimRun,
  ensureBatchLoop,
  type LandedObject,
  recordOutcome,
  renameHolder,
  stageRun,
} from './runs';

/** The EventBridge event S3 sends for a new object (the parts stage A reads). */
export const objectCreatedSchema = z.object({
  'detail-type': z.literal('Object Created'),
  source: z.literal('aws.s3'),
  time: z.iso.datetime({ offset: true }),
  detail: z.object({
    bucket: z.object({ name: z.string().check(z.minLength(3)) }),
    object: z.object({
      key: z.string().check(z.minLength(1), z.maxLength(1024)),
      size: z.optional(z.int().check(z.nonnegative())),
      'version-id': z.optional(z.string().check(z.minLength(1))),
    }),
  }),
  /** Set by scripts/replay.ts only (contract.ts replayMessage): re-run the run if it is still in this status. */
  replay: z.optional(z.object({ previousStatus: z.enum(REPLAYABLE_STATUSES) })),
});

/** Starts the stage B loop of a dataset (Step Functions StartExecution on the stage B state machine). */
export interface LoopStarter {
  /** Resolves `started`, or `exists` when an execution of that name exists or existed (same name and input). */
  start(executionName: string, input: string): Promise<'started' | 'exists'>;
}

export interface StageObjectDependencies {
  readonly executor: SqlExecutor;
  /** Validates one object (validate-object.ts), with the time it may take. */
  readonly validate: (input: unknown, deadline?: Date) => Promise<ValidateOutput>;
  readonly datasets: ReadonlyMap<string, DatasetConfig>;
  readonly loops: LoopStarter;
  /** How long a new loop has to take its lease before another run may start one. */
  readonly startLeaseSeconds: number;
  /** @default - the system clock */
  readonly now?: () => Date;
  /** Waits between attempts while Aurora resumes. @default - real timers */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

export type StageObjectOutcome =
  | 'STAGED'
  | 'NO_VALID_ROWS'
  | 'UNREADABLE'
  | 'UNKNOWN_DATASET'
  | 'ALREADY_STAGED'
  | 'ALREADY_PROCESSED';

export interface StageObjectResult {
  readonly outcome: StageObjectOutcome;
  readonly dataset: string;
  readonly runId?: string;
  readonly validation?: ValidateOutput;
  /** The stage B execution this run started, if it became its dataset's holder. */
  readonly startedLoop?: string;
}

/** Aurora Serverless v2 resumes in 15 to 60 s: attempts spread over about 2.5 minutes. */
const RESUME_DELAYS_MS = [5_000, 10_000, 20_000, 30_000, 30_000, 30_000, 30_000];

export function parseObjectCreated(message: unknown): LandedObject {
  const { detail, time, replay } = parseEvent(objectCreatedSchema, message, {
    what: 'S3 "Object Created" event',
    fix: "check the Orchestration stack's landing rule",
  });
  return {
    ...(replay ? { replayOf: replay.previousStatus } : {}),
    dataset: detail.object.key.split('/')[0],
    bucket: detail.bucket.name,
    key: detail.object.key,
    versionId: detail.object['version-id'],
    size: detail.object.size,
    landedAt: new Date(time),
  };
}

export async function stageObject(
  deps: StageObjectDependencies,
  message: unknown,
  deadline?: Date,
): Promise<StageObjectResult> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const object = parseObjectCreated(message);
  const { dataset } = object;
  // Every audit write waits out a resuming cluster (the message would otherwise come back only after its visibility
  // timeout); within the time left.
  const sql = async <T>(work: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const delay = RESUME_DELAYS_MS[attempt];
        const late = deadline !== undefined && now().getTime() + (delay ?? 0) > deadline.getTime();
        if (!(error instanceof TransientError) || delay === undefined || late) throw error;
        logger.warn('data mart not available yet; retrying', { attempt: attempt + 1, delayMs: delay });
        await sleep(delay);
      }
    }
  };

  if (!deps.datasets.has(dataset)) {
    const reason = `no dataset named ${JSON.stringify(dataset)} is configured (known: ${[...deps.datasets.keys()].join(', ')}). Fix: land files under <dataset>/ of a configured dataset, or add config/datasets/${dataset}.json and deploy; then replay the object`;
    await sql(() => recordOutcome(deps.executor, object, { status: 'UNREADABLE', error: reason }, now()));
    logger.warn('object of an unknown dataset: recorded, not validated', { key: object.key, reason });
    return { outcome: 'UNKNOWN_DATASET', dataset };
  }

  const claim = await sql(() => claimRun(deps.executor, object, now()));
  logger.appendKeys({ dataset, runId: claim.runId, ...(object.replayOf ? { replayOf: object.replayOf } : {}) });
  if (claim.outcome === 'ALREADY_PROCESSED') {
    logger.info('object version already processed', { key: object.key, status: claim.existingStatus });
    return { outcome: 'ALREADY_PROCESSED', dataset, runId: claim.runId };
  }
  if (claim.outcome === 'ALREADY_STAGED') {
    const start = await sql(() =>
      ensureBatchLoop(deps.executor, { runId: claim.runId, dataset }, now(), deps.startLeaseSeconds),
    );
    const startedLoop = await startLoop(deps, dataset, start, sql, now);
    return { outcome: 'ALREADY_STAGED', dataset, runId: claim.runId, startedLoop };
  }

  let validation: ValidateOutput;
  try {
    validation = await deps.validate(
      {
        bucket: object.bucket,
        key: object.key,
        versionId: object.versionId,
        dataset,
        runId: claim.runId,
        size: object.size ?? undefined,
      },
      deadline,
    );
  } catch (error) {
    // Recorded so the audit row tells why; the message is retried (and dead-lettered after its last attempt).
    const reason = `${(error as Error).name}: ${(error as Error).message}`;
    await recordOutcome(deps.executor, object, { status: 'FAILED', error: reason }, now()).catch((auditError) =>
      logger.error('the failure could not be recorded', { error: (auditError as Error).message }),
    );
    throw error;
  }

  if (validation.status !== 'VALID') {
    await sql(() =>
      recordOutcome(
        deps.executor,
        object,
        {
          status: validation.status as 'NO_VALID_ROWS' | 'UNREADABLE',
          rowsValid: validation.rowsValid,
          rowsRejected: validation.rowsRejected,
          error: validation.reason ?? null,
        },
        now(),
      ),
    );
    return { outcome: validation.status, dataset, runId: claim.runId, validation };
  }
  const start = await sql(() =>
    stageRun(
      deps.executor,
      {
        runId: claim.runId,
        dataset,
        rowsValid: validation.rowsValid,
        rowsRejected: validation.rowsRejected,
        stagedBytes: validation.stagedBytes,
      },
      now(),
      deps.startLeaseSeconds,
    ),
  );
  const startedLoop = await startLoop(deps, dataset, start, sql, now);
  return { outcome: 'STAGED', dataset, runId: claim.runId, validation, startedLoop };
}

/** Starts the loop when this run became the holder; a name already used by an ended execution is replaced once. */
async function startLoop(
  deps: StageObjectDependencies,
  dataset: string,
  start: BatchStart,
  sql: <T>(work: () => Promise<T>) => Promise<T>,
  now: () => Date,
): Promise<string | undefined> {
  if (start.startAs === undefined) return undefined;
  const input = JSON.stringify(startInput(dataset));
  if ((await deps.loops.start(start.startAs, input)) === 'started') return start.startAs;
  // `exists`: an execution of this name has ended (a running one with the same name and input counts as started), so
  // the lease would point at nobody: the loop starts under a fresh name instead.
  const fresh = `${start.startAs.slice(0, 70)}-${randomBytes(4).toString('hex')}`;
  const renamed = await sql(() =>
    renameHolder(deps.executor, dataset, start.startAs as string, fresh, now(), deps.startLeaseSeconds),
  );
  if (!renamed) return undefined;
  await deps.loops.start(fresh, input);
  return fresh;
}
