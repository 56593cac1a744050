/**
 * What the job-auditor Lambda receives: the EventBridge "Glue Job State Change" event of the curate job, for the final
 * states only (the Orchestration stack's rule filters them).
 */
import * as z from 'zod/mini';

export const FINAL_JOB_STATES = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED'] as const;

export const glueJobStateChangeSchema = z.object({
  source: z.literal('aws.glue'),
  'detail-type': z.literal('Glue Job State Change'),
  /** When the state changed (ISO 8601). */
  time: z.iso.datetime({ offset: true }),
  detail: z.object({
    jobName: z.string().check(z.minLength(1)),
    jobRunId: z.string().check(z.minLength(1)),
    state: z.enum(FINAL_JOB_STATES),
    severity: z.optional(z.string()),
    message: z.optional(z.string()),
  }),
});
export type GlueJobStateChange = z.infer<typeof glueJobStateChangeSchema>;

/** The job argument that names the stage B batch (set by the stage B state machine's curate step). */
export const BATCH_ID_ARGUMENT = '--batch_id';
