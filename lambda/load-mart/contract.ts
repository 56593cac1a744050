/**
 * The contract of the load-mart function, the stage B state machine's LoadMart step (side-effect free: the DataMart
 * stack imports it). Input: `{ dataset, batchId, bucket, prefix }` (prefix: `martBatchPrefix` of ../batch/contract.ts);
 * output: the counts of the load. Errors, matched by name in the state machine: InvalidInputError (bad input, not
 * retried), MartLoadError (bad batch: mart unchanged), TransientError (the cluster is resuming: retried with backoff).
 */
import * as z from 'zod/mini';
import { BATCH_ID, DATASET_NAME } from '../batch/contract';
import type { DatasetConfig } from '../../config/schema';
import { martDatasets, martTableName } from '../shared/mart-contract';

/**
 * The environment of the function besides the Data API target (the cluster, the loader login's secret and the
 * database: MART_CONNECTION_ENV of ../shared/mart-contract.ts). The DataMart stack sets them.
 */
export const LOAD_MART_ENV = {
  /** JSON object: dataset name -> mart table, for the datasets with the mart enabled. */
  martTables: 'MART_TABLES',
} as const;

export const loadMartInputSchema = z.object({
  dataset: z.string().check(z.regex(DATASET_NAME)),
  batchId: z.string().check(z.regex(BATCH_ID)),
  bucket: z.string().check(z.minLength(3), z.maxLength(63)),
  prefix: z
    .string()
    .check(
      z.regex(/^_mart\/[a-z][a-z0-9_]*\/batch_id=[^/]+\/$/, { error: 'must be "_mart/<dataset>/batch_id=<batchId>/"' }),
    ),
});
export type LoadMartInput = z.infer<typeof loadMartInputSchema>;

export interface MartLoadResult {
  readonly rowsStaged: number;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  /** Rows already present with the same values. */
  readonly rowsUnchanged: number;
}

export interface LoadMartOutput extends MartLoadResult {
  readonly dataset: string;
  readonly batchId: string;
  readonly table: string;
}

/** The value of MART_TABLES: dataset -> mart table, for the datasets with the mart enabled. */
export function loadMartTables(datasets: readonly DatasetConfig[]): Record<string, string> {
  return Object.fromEntries(martDatasets(datasets).map((dataset) => [dataset.name, martTableName(dataset)]));
}
