/**
 * The contract between the state machine and the audit Lambda. One function, three actions, chosen by `action`:
 *
 * - `claim`: first step of every execution. Records the run as RUNNING for (dataset, object key, object version), or
 *   answers ALREADY_PROCESSED when that object version already has a run that did not fail (EventBridge delivers at
 *   least once, and producers may re-send the same version). A FAILED object version may be claimed again.
 * - `finish`: the run ended without an error: SUCCEEDED, or NO_VALID_ROWS / UNREADABLE (quarantined, nothing to load).
 * - `fail`: a step failed; records the Step Functions error name and cause. Creates the row when the claim itself
 *   failed, so that no failure goes unrecorded.
 *
 * The Orchestration stack builds its states from these names; change them only together with it.
 */
import * as z from 'zod/mini';
import '../shared/zod-locale';

export const AUDIT_ACTIONS = ['claim', 'finish', 'fail'] as const;

/** The object a run processes and the execution that processes it (built by the state machine's first state). */
export const runSchema = z.object({
  dataset: z.string().check(z.minLength(1)),
  bucket: z.string().check(z.minLength(3)),
  key: z.string().check(z.minLength(1)),
  /** Unversioned buckets have no version id; the audit row then stores 'null', as S3 does. */
  versionId: z.nullish(z.string().check(z.minLength(1))),
  size: z.nullish(z.int().check(z.nonnegative())),
  /** The execution name: unique per state machine, so it names the run everywhere (staging, mart batch, audit). */
  runId: z.string().check(z.minLength(1), z.maxLength(128)),
  executionArn: z.optional(z.string().check(z.minLength(1))),
});
export type Run = z.infer<typeof runSchema>;

/** The validate step's output (lambda/validate/contract.ts), as far as the audit row needs it. */
export const validationSummarySchema = z.looseObject({
  rowsTotal: z.int().check(z.nonnegative()),
  rowsValid: z.int().check(z.nonnegative()),
  rowsRejected: z.int().check(z.nonnegative()),
  quarantineKey: z.nullish(z.string()),
  reason: z.nullish(z.string()),
});

export const FINISH_STATUSES = ['SUCCEEDED', 'NO_VALID_ROWS', 'UNREADABLE'] as const;

export const auditInputSchema = z.discriminatedUnion(
  'action',
  [
    z.object({ action: z.literal('claim'), run: runSchema }),
    z.object({
      action: z.literal('finish'),
      run: runSchema,
      status: z.enum(FINISH_STATUSES),
      validation: validationSummarySchema,
      /** The curate step's result (SUCCEEDED only). */
      curate: z.optional(z.looseObject({ jobRunId: z.string().check(z.minLength(1)) })),
      /** The mart load step's result (SUCCEEDED, datasets loaded into the mart). */
      load: z.optional(z.looseObject({ rowsLoaded: z.optional(z.int().check(z.nonnegative())) })),
    }),
    z.object({
      action: z.literal('fail'),
      run: runSchema,
      /** Step Functions' `Error` (e.g. `States.TaskFailed`, `TransientError`). */
      error: z.string().check(z.minLength(1)),
      /** Step Functions' `Cause`: often a JSON document; stored as text, truncated. */
      cause: z.nullish(z.string()),
    }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `"action" must be one of ${AUDIT_ACTIONS.join(', ')}. Fix: send { "action": "claim", "run": {...} }`
        : undefined,
  },
);
export type AuditInput = z.infer<typeof auditInputSchema>;

export const CLAIM_OUTCOMES = ['CLAIMED', 'ALREADY_PROCESSED'] as const;
export interface ClaimOutput {
  readonly outcome: (typeof CLAIM_OUTCOMES)[number];
  readonly runId: string;
  /** For ALREADY_PROCESSED: the run that holds the object version, and its status. */
  readonly existingRunId?: string;
  readonly existingStatus?: string;
}
export interface RecordOutput {
  readonly recorded: true;
  readonly runId: string;
  readonly status: string;
}
export type AuditOutput = ClaimOutput | RecordOutput;

// The audit and job-auditor functions reach the mart as the loader login: MART_CONNECTION_ENV of
// lambda/shared/mart-connection.ts names their environment variables.
