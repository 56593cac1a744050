/**
 * `npx tsx scripts/replay.ts --env <env> --dataset <d> [--since <iso date>] [--stuck-minutes <n>] [--execute]`:
 * re-runs the quarantined (NO_VALID_ROWS, UNREADABLE), FAILED and stuck RUNNING runs of a dataset after a fix (a
 * dataset config change, a bug fix in stage A, a batch abandoned after its last attempt).
 *
 * Stage A processes an object version once: its run id comes from bucket, key and version, and a normal
 * (re-)delivery never re-opens a finished run. A replay therefore re-submits deliberately: it sends the object's S3
 * "Object Created" event to the `<prefix>-landed-objects` queue with `replay.previousStatus` (lambda/validate
 * contract.ts), and stage A re-runs the run under the same run id only while it is still in that status. So replaying
 * twice is harmless: a run that has moved on (STAGED, SUCCEEDED) ignores the second message. Landing is not touched.
 *
 * Dry run by default: prints the plan (what would be sent, what is skipped and why); `--execute` sends it.
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import type { SqlExecutor } from '../../lambda/shared/sql';
import { type ReplayableStatus, replayMessage } from '../../lambda/validate/contract';
import { runIdOf } from '../../lambda/validate/runs';
import type { AwsClients } from '../integration-test/context';
import {
  formatRows,
  formatTime,
  oneLine,
  type OperatorOptions,
  openEnvironment,
  parseSince,
  reportError,
} from './environment';
import { UsageError } from '../lib/usage';

export const REPLAY_USAGE =
  'Usage: npx tsx scripts/replay.ts --env <environment> --dataset <dataset> [--since <ISO date>] [--stuck-minutes <minutes>] [--execute]';

/**
 * A RUNNING run not updated for this long lost its invocation (a timeout or crash) and its message is gone: replayed
 * too. Longer than the landed-objects queue keeps redelivering one message (5 receives x 90-minute visibility timeout),
 * so a replay never races a delivery still on its way.
 */
export const DEFAULT_STUCK_MINUTES = 12 * 60;
/** SQS SendMessageBatch takes at most 10 messages. */
const SQS_BATCH = 10;

export interface ReplayCandidate {
  readonly runId: string;
  readonly dataset: string;
  readonly objectKey: string;
  readonly objectVersion: string | null;
  readonly status: ReplayableStatus;
  readonly landedAt: Date;
  readonly error: string | null;
}

export interface ReplayPlanItem extends ReplayCandidate {
  readonly action: 'replay' | 'skip';
  /** Why it is skipped. */
  readonly reason?: string;
  /** Object size from landing (HeadObject). */
  readonly size?: number;
}

export interface ReplayPlanRequest {
  readonly dataset: string;
  readonly landingBucket: string;
  readonly now: Date;
  readonly since?: Date;
  readonly stuckMinutes: number;
}

/** The runs a replay would re-submit, oldest first (audit.pipeline_runs, read as the loader login). */
export async function replayCandidates(executor: SqlExecutor, request: ReplayPlanRequest): Promise<ReplayCandidate[]> {
  const rows = await executor.query<{
    run_id: string;
    dataset: string;
    object_key: string;
    object_version: string | null;
    status: ReplayableStatus;
    landed_at: Date;
    error: string | null;
  }>(
    `SELECT run_id, dataset, object_key, object_version, status, COALESCE(landed_at, started_at) AS landed_at, error
       FROM audit.pipeline_runs
      WHERE dataset = :dataset
        AND (status IN ('FAILED', 'NO_VALID_ROWS', 'UNREADABLE')
             OR (status = 'RUNNING' AND updated_at < :stuckBefore))
        AND COALESCE(landed_at, started_at) >= COALESCE(CAST(:since AS timestamptz), '-infinity'::timestamptz)
      ORDER BY COALESCE(landed_at, started_at), run_id`,
    {
      dataset: request.dataset,
      stuckBefore: new Date(request.now.getTime() - request.stuckMinutes * 60_000),
      since: request.since ?? null,
    },
  );
  return rows.map((row) => ({
    runId: row.run_id,
    dataset: row.dataset,
    objectKey: row.object_key,
    objectVersion: row.object_version,
    status: row.status,
    landedAt: row.landed_at,
    error: row.error,
  }));
}

/** Checks each candidate against landing: the object version must still be there, under the same run id. */
export async function planReplay(
  executor: SqlExecutor,
  s3: S3Client,
  request: ReplayPlanRequest,
): Promise<ReplayPlanItem[]> {
  const plan: ReplayPlanItem[] = [];
  for (const candidate of await replayCandidates(executor, request)) {
    const object = { bucket: request.landingBucket, key: candidate.objectKey, versionId: candidate.objectVersion };
    if (runIdOf(object) !== candidate.runId) {
      plan.push({
        ...candidate,
        action: 'skip',
        reason: `run id is not that of s3://${request.landingBucket}/${candidate.objectKey} (landed in another bucket?)`,
      });
      continue;
    }
    try {
      const head = await s3.send(
        new HeadObjectCommand({
          Bucket: request.landingBucket,
          Key: candidate.objectKey,
          ...(candidate.objectVersion ? { VersionId: candidate.objectVersion } : {}),
        }),
      );
      plan.push({ ...candidate, action: 'replay', size: head.ContentLength });
    } catch (error) {
      const name = (error as Error).name;
      if (name !== 'NotFound' && name !== 'NoSuchKey' && name !== 'NoSuchVersion') throw error;
      plan.push({
        ...candidate,
        action: 'skip',
        reason: 'object version no longer in landing (deleted or expired by the lifecycle)',
      });
    }
  }
  return plan;
}

/** Sends one replay message per planned item; returns the run ids SQS refused, with its reason. */
export async function sendReplay(
  sqs: SQSClient,
  queueUrl: string,
  landingBucket: string,
  plan: readonly ReplayPlanItem[],
): Promise<{ sent: number; failed: { runId: string; reason: string }[] }> {
  const items = plan.filter((item) => item.action === 'replay');
  const failed: { runId: string; reason: string }[] = [];
  for (let start = 0; start < items.length; start += SQS_BATCH) {
    const chunk = items.slice(start, start + SQS_BATCH);
    const response = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((item, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(
            replayMessage({
              bucket: landingBucket,
              key: item.objectKey,
              versionId: item.objectVersion,
              size: item.size,
              landedAt: item.landedAt,
              previousStatus: item.status,
            }),
          ),
        })),
      }),
    );
    for (const failure of response.Failed ?? []) {
      failed.push({ runId: chunk[Number(failure.Id)].runId, reason: `${failure.Code}: ${failure.Message ?? ''}` });
    }
  }
  return { sent: items.length - failed.length, failed };
}

export function formatPlan(plan: readonly ReplayPlanItem[]): string[] {
  return formatRows(
    ['RUN', 'STATUS', 'LANDED', 'OBJECT', 'ACTION', 'WHY'],
    plan.map((item) => [
      item.runId,
      item.status,
      formatTime(item.landedAt),
      `${item.objectKey}${item.objectVersion ? ` (version ${item.objectVersion})` : ''}`,
      item.action,
      item.action === 'skip' ? (item.reason ?? '') : oneLine(item.error ?? ''),
    ]),
  );
}

/** The script: exit code 0 (planned, or sent), 1 (some message refused), 2 (could not start). */
export async function runReplay(options: OperatorOptions): Promise<number> {
  const { print } = options;
  try {
    const args = parseReplayArguments(options.argv);
    const context = await openEnvironment(options, args.env, ['LANDING_BUCKET_NAME']);
    if (!context.datasets.includes(args.dataset)) {
      // Runs of a dataset not (yet) in config/ are replayable too (UNKNOWN_DATASET): say so, do not refuse.
      print(
        `Note: ${args.dataset} is not in config/datasets/; its runs stay quarantined until it is added and deployed`,
      );
    }
    const landingBucket = context.outputs.LANDING_BUCKET_NAME;
    const now = (options.now ?? (() => new Date()))();
    const plan = await planReplay(context.executor, clients(context.clients).s3, {
      dataset: args.dataset,
      landingBucket,
      now,
      since: args.since,
      stuckMinutes: args.stuckMinutes,
    });
    const replays = plan.filter((item) => item.action === 'replay').length;
    const queueName = `${context.prefix}-landed-objects`;
    print(
      `Replay of ${args.dataset} in ${context.prefix} (account ${context.environment.account}, ${context.environment.region}) as ${context.caller}` +
        `${args.since ? `, runs landed since ${formatTime(args.since)}` : ''}: ${replays} to replay, ${plan.length - replays} skipped`,
    );
    if (plan.length === 0) {
      print('Nothing to replay: no FAILED, NO_VALID_ROWS, UNREADABLE or stuck RUNNING run.');
      return 0;
    }
    for (const line of formatPlan(plan)) print(line);
    if (!args.execute) {
      print(`DRY RUN: nothing sent. Run again with --execute to send ${replays} replay message(s) to ${queueName}.`);
      return 0;
    }
    if (replays === 0) {
      print('Nothing sent: every run was skipped.');
      return 0;
    }
    const { sqs } = clients(context.clients);
    const queue = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (!queue.QueueUrl) throw new UsageError(`Queue ${queueName} has no URL. Fix: deploy the environment first`);
    const result = await sendReplay(sqs, queue.QueueUrl, landingBucket, plan);
    print(
      `Sent ${result.sent} replay message(s) to ${queueName}. Follow them with: npx tsx scripts/status.ts --env ${args.env}`,
    );
    for (const failure of result.failed) print(`NOT SENT: run ${failure.runId}: ${failure.reason}`);
    return result.failed.length > 0 ? 1 : 0;
  } catch (error) {
    return reportError(error, print);
  }
}

function clients(aws: AwsClients): { s3: S3Client; sqs: SQSClient } {
  return { s3: aws.get(S3Client), sqs: aws.get(SQSClient) };
}

interface ReplayArguments {
  readonly env: string;
  readonly dataset: string;
  readonly since?: Date;
  readonly stuckMinutes: number;
  readonly execute: boolean;
}

function parseReplayArguments(argv: readonly string[]): ReplayArguments {
  let values: { env?: string; dataset?: string; since?: string; 'stuck-minutes'?: string; execute?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        env: { type: 'string' },
        dataset: { type: 'string' },
        since: { type: 'string' },
        'stuck-minutes': { type: 'string' },
        execute: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${REPLAY_USAGE}`);
  }
  if (!values.env) throw new UsageError(`--env is required. ${REPLAY_USAGE}`);
  if (!values.dataset) throw new UsageError(`--dataset is required. ${REPLAY_USAGE}`);
  const stuckText = values['stuck-minutes'];
  const stuckMinutes = stuckText === undefined ? DEFAULT_STUCK_MINUTES : Number(stuckText);
  if (!Number.isSafeInteger(stuckMinutes) || stuckMinutes < 1) {
    throw new UsageError(`--stuck-minutes is "${stuckText}", not a whole number >= 1. ${REPLAY_USAGE}`);
  }
  return {
    env: values.env,
    dataset: values.dataset,
    since: parseSince(values.since, REPLAY_USAGE),
    stuckMinutes,
    execute: values.execute ?? false,
  };
}
