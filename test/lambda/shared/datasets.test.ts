/**
 * The dataset definitions reach the functions at bundle time (esbuild `define` through PlatformFunction's
 * bundleDefines): bundled here exactly as the synth does and loaded in a fresh Node.js process, as in Lambda. The batch
 * function answers an unknown dataset before any AWS call, so it shows which definitions it carries.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { bundledDatasets, datasetMap } from '../../../lambda/shared/datasets';
import { DATASETS_GLOBAL } from '../../../lambda/shared/datasets-contract';
import { functionBundleOptions } from '../../../lib/constructs/platform-function';
import { exampleConfig } from '../../helpers/app';

const outDir = mkdtempSync(path.join(tmpdir(), 'datasets-bundle-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const SETTINGS = {
  maxBytes: 1_048_576,
  maxWaitSeconds: 300,
  pollSeconds: 60,
  maxAttempts: 3,
  retryDelaySeconds: 300,
  batchLeaseSeconds: 3600,
  startLeaseSeconds: 300,
  maxIterations: 200,
};

/** Bundles lambda/<fn> with `defines`, loads it and calls its handler with `event`: what it returned or threw. */
function invokeBundle(fn: string, name: string, defines: Record<string, unknown>, event: unknown): string {
  const outfile = path.join(outDir, name, 'index.js');
  buildSync(functionBundleOptions(fn, outfile, defines));
  const script = `require(${JSON.stringify(outfile)}).handler(${JSON.stringify(event)}).then((r) => console.log('returned', JSON.stringify(r)), (e) => console.log('threw', e.name + ': ' + e.message));`;
  return execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      ARTIFACTS_BUCKET: 'artifacts',
      CURATED_BUCKET: 'curated',
      BATCH_SETTINGS: JSON.stringify(SETTINGS),
      BATCH_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:222222222222:stateMachine:dp-dev-batches',
      BATCH_START_LEASE_SECONDS: '300',
      MART_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart',
      MART_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:mart-AbCdEf',
      MART_DATABASE: 'mart',
      POWERTOOLS_SERVICE_NAME: fn,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  }).trim();
}

const unknownDataset = { action: 'acquire', dataset: 'views', executionName: 'views-1', iteration: 0 };

describe('bundled dataset definitions', () => {
  test('are the ones injected at bundle time, as parsed by the synth', () => {
    const datasets = exampleConfig().datasets;
    const renamed = datasets.map((dataset) => ({ ...dataset, name: `${dataset.name}_v2` }));
    expect(invokeBundle('batch', 'example', { [DATASETS_GLOBAL]: datasets }, unknownDataset)).toBe(
      'threw InvalidInputError: Unknown dataset "views". Fix: use one of clicks, impressions',
    );
    expect(invokeBundle('batch', 'renamed', { [DATASETS_GLOBAL]: renamed }, unknownDataset)).toBe(
      'threw InvalidInputError: Unknown dataset "views". Fix: use one of clicks_v2, impressions_v2',
    );
  });

  test.each(['batch', 'validate'])(
    'fail every invocation of %s, naming the fix, when it was bundled without them',
    (fn) => {
      expect(invokeBundle(fn, `${fn}-none`, {}, unknownDataset)).toBe(
        `threw Error: ${fn} was bundled without its dataset definitions (global __PLATFORM_DATASETS__). Fix: build it with PlatformFunction's bundleDefines, as OrchestrationStack does`,
      );
    },
  );

  test('are absent outside a bundle, so tests pass theirs to createHandler', () => {
    expect(bundledDatasets()).toBeUndefined();
    const map = datasetMap(exampleConfig().datasets);
    expect([...map.keys()]).toEqual(['clicks', 'impressions']);
    expect(map.get('clicks')).toBe(exampleConfig().datasets[0]);
  });
});
