/**
 * Validates one landed object (stage A's work on it): check the input -> stream and check the file -> report counts
 * and locations, with the function's metrics. See contract.ts for the input, the output and what is thrown.
 */
import type { DatasetConfig } from '../../config/schema';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvalidInputError } from '../shared/errors';
import { parseEvent } from '../shared/parse-event';
import { logger, metrics } from '../shared/logger';
import { STAGE_A_METRICS } from '../shared/metrics-contract';
import { VALIDATION_DEFAULTS, type ValidateOutput, type ValidationSettings, validateInputSchema } from './contract';
import type { ObjectStore } from './object-store';
import { validateFile } from './validate-file';

export interface ValidateDependencies {
  readonly store: ObjectStore;
  readonly artifactsBucket: string;
  /** The dataset definitions by name (bundled by the synth; tests pass their own). */
  readonly datasets: ReadonlyMap<string, DatasetConfig>;
  /** Limits and time-budget margin. @default VALIDATION_DEFAULTS */
  readonly settings?: ValidationSettings;
  /** Clock of the deadline and of ingest dates. @default Date.now */
  readonly now?: () => number;
}

/** Builds the validator around its dependencies (tests and local runs pass their own S3 client). */
export function createValidator(
  dependencies: ValidateDependencies,
): (event: unknown, deadline?: Date) => Promise<ValidateOutput> {
  const settings = dependencies.settings ?? VALIDATION_DEFAULTS;
  const now = dependencies.now ?? Date.now;
  return async (event, deadline) => {
    const input = parseEvent(validateInputSchema, event, {
      what: 'validate input',
      fix: 'pass { bucket, key, dataset, runId, versionId? } (lambda/validate/contract.ts)',
    });
    const dataset = dependencies.datasets.get(input.dataset);
    if (dataset === undefined) {
      throw new InvalidInputError(
        `Unknown dataset ${JSON.stringify(input.dataset)}. Fix: use one of ${[...dependencies.datasets.keys()].join(', ')}, or add config/datasets/${input.dataset}.json and redeploy`,
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
      deadline: deadline?.getTime(),
      now: () => new Date(now()),
    });

    const { output } = result;
    metrics.addDimension('dataset', output.dataset);
    metrics.addMetric(STAGE_A_METRICS.rowsAccepted, MetricUnit.Count, output.rowsValid);
    metrics.addMetric(STAGE_A_METRICS.rowsRejected, MetricUnit.Count, output.rowsRejected);
    metrics.addMetric(
      output.status === 'UNREADABLE' ? STAGE_A_METRICS.filesUnreadable : STAGE_A_METRICS.filesRead,
      MetricUnit.Count,
      1,
    );
    // A file stopped by a limit is worth an alarm of its own: a bomb, a runaway producer, or a limit set too low.
    if (output.limit !== undefined) metrics.addMetric('FilesStoppedByLimit', MetricUnit.Count, 1);
    metrics.addMetric('BytesRead', MetricUnit.Bytes, result.decode.bytesOut);
    metrics.publishStoredMetrics();
    // One line per counted value (its own dimension set), bounded by the dataset's config, not by the data.
    for (const { column, value, rows } of result.dimensionCounts) {
      const line = metrics.singleMetric();
      line.addDimension('dataset', output.dataset);
      line.addDimension(column, value);
      line.addMetric(STAGE_A_METRICS.rowsAcceptedByDimension, MetricUnit.Count, rows);
    }
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
