/**
 * validate: called by the state machine for each landed object. Parse the event -> stream and check the file ->
 * report counts and locations. See contract.ts for the input, the output and what is thrown.
 *
 * The invocation's time is a budget: reading stops `etl.validation.timeBudgetMarginSeconds` before the function would
 * time out, and the file is quarantined with a reason instead of timing out (which the state machine would retry,
 * to time out again).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '../shared/aws/s3';
import { requireEnv } from '../shared/env';
import { InvalidInputError } from '../shared/errors';
import { logger, metrics } from '../shared/logger';
import {
  parseValidationSettings,
  VALIDATE_ENV,
  VALIDATION_DEFAULTS,
  type ValidateOutput,
  type ValidationSettings,
  validateInputSchema,
} from './contract';
import { DATASETS } from './datasets';
import { type ObjectStore, S3ObjectStore } from './object-store';
import { showValue } from './show-value';
import { validateFile } from './validate-file';

export interface ValidateDependencies {
  readonly store: ObjectStore;
  readonly artifactsBucket: string;
  /** Limits and time-budget margin. @default VALIDATION_DEFAULTS */
  readonly settings?: ValidationSettings;
  /** Clock of the deadline. @default Date.now */
  readonly now?: () => number;
}

/** The part of the Lambda context the handler uses: without one (a local run), there is no time budget. */
export interface ValidateContext {
  getRemainingTimeInMillis(): number;
}

/** Builds the handler around its dependencies (tests and local state machine runs pass their own S3 client). */
export function createHandler(
  dependencies: ValidateDependencies,
): (event: unknown, context?: ValidateContext) => Promise<ValidateOutput> {
  const settings = dependencies.settings ?? VALIDATION_DEFAULTS;
  const now = dependencies.now ?? Date.now;
  return async (event, context) => {
    // Taken first: everything after this, parsing included, spends the invocation's time.
    const deadline =
      context === undefined
        ? undefined
        : now() + context.getRemainingTimeInMillis() - settings.timeBudgetMarginSeconds * 1000;
    const parsed = validateInputSchema.safeParse(event);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
      throw new InvalidInputError(
        `Invalid validate input ${showValue(event, 500)}: ${problems.join('; ')}. Fix: pass { bucket, key, dataset, runId, versionId? } (lambda/validate/contract.ts)`,
      );
    }
    const input = parsed.data;
    const dataset = DATASETS.get(input.dataset);
    if (dataset === undefined) {
      throw new InvalidInputError(
        `Unknown dataset ${JSON.stringify(input.dataset)}. Fix: use one of ${[...DATASETS.keys()].join(', ')}, or add config/datasets/${input.dataset}.json and redeploy`,
      );
    }
    const firstSegment = input.key.split('/')[0];
    if (firstSegment !== input.dataset) {
      throw new InvalidInputError(
        `Key ${JSON.stringify(input.key)} is not under the dataset's prefix "${input.dataset}/" (first segment ${JSON.stringify(firstSegment)}). Fix: land files at <dataset>/ingest_date=YYYY-MM-DD/<id>.<ext>`,
      );
    }
    logger.appendKeys({ dataset: input.dataset, runId: input.runId });
    logger.info('Validating', { bucket: input.bucket, key: input.key, versionId: input.versionId, size: input.size });

    const result = await validateFile({
      store: dependencies.store,
      input,
      dataset,
      artifactsBucket: dependencies.artifactsBucket,
      limits: settings,
      deadline,
      now: () => new Date(now()),
    });

    const { output } = result;
    metrics.addDimension('dataset', output.dataset);
    metrics.addMetric('RowsValid', MetricUnit.Count, output.rowsValid);
    metrics.addMetric('RowsRejected', MetricUnit.Count, output.rowsRejected);
    metrics.addMetric(output.status === 'UNREADABLE' ? 'FilesUnreadable' : 'FilesRead', MetricUnit.Count, 1);
    // A file stopped by a limit is worth an alarm of its own: a bomb, a runaway producer, or a limit set too low.
    if (output.limit !== undefined) metrics.addMetric('FilesStoppedByLimit', MetricUnit.Count, 1);
    metrics.addMetric('BytesRead', MetricUnit.Bytes, result.decode.bytesOut);
    metrics.publishStoredMetrics();
    if (output.limit !== undefined) logger.warn('Stopped by a limit', { limit: output.limit, reason: output.reason });
    logger.info('Validated', {
      ...output,
      format: result.format,
      gzip: result.decode.gzip,
      stagedParts: result.stagedParts,
    });
    return output;
  };
}

const artifactsBucket = requireEnv(VALIDATE_ENV.artifactsBucket);
const settings = parseValidationSettings(process.env);

// Active tracing on the function records each invocation in X-Ray. Per-call S3 subsegments would need the X-Ray SDK
// (Powertools Tracer), which doubles the bundle (~110 KB) and its load time: not worth it for one S3 client.
export const handler = createHandler({
  store: new S3ObjectStore(new S3Client()),
  artifactsBucket,
  settings,
});
