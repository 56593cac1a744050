/**
 * The dataset definitions reach the validate function at bundle time (esbuild `define` through PlatformFunction's
 * bundleDefines): bundled here exactly as the synth does and loaded in a fresh Node.js process, as in Lambda.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { VALIDATE_DATASETS_GLOBAL } from '../../../lambda/validate/contract';
import { bundledDatasets, datasetMap } from '../../../lambda/validate/datasets';
import { functionBundleOptions } from '../../../lib/constructs/platform-function';
import { exampleConfig } from '../../helpers/app';

const outDir = mkdtempSync(path.join(tmpdir(), 'validate-bundle-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Bundles lambda/validate with `defines`, loads it and calls its handler with `event`: what it returned or threw. */
function invokeBundle(name: string, defines: Record<string, unknown>, event: unknown): string {
  const outfile = path.join(outDir, name, 'index.js');
  buildSync(functionBundleOptions('validate', outfile, defines));
  const script = `require(${JSON.stringify(outfile)}).handler(${JSON.stringify(event)}).then((r) => console.log('returned', JSON.stringify(r)), (e) => console.log('threw', e.name + ': ' + e.message));`;
  return execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      ARTIFACTS_BUCKET: 'artifacts',
      POWERTOOLS_SERVICE_NAME: 'validate',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  }).trim();
}

const unknownDataset = {
  bucket: 'landing',
  key: 'views/ingest_date=2026-11-22/a.ndjson',
  dataset: 'views',
  runId: 'r1',
};

describe('validate dataset definitions', () => {
  test('are the ones injected at bundle time, as parsed by the synth', () => {
    const datasets = exampleConfig().datasets;
    const renamed = datasets.map((dataset) => ({ ...dataset, name: `${dataset.name}_v2` }));
    expect(invokeBundle('example', { [VALIDATE_DATASETS_GLOBAL]: datasets }, unknownDataset)).toBe(
      'threw InvalidInputError: Unknown dataset "views". Fix: use one of clicks, impressions, or add config/datasets/views.json and redeploy',
    );
    expect(invokeBundle('renamed', { [VALIDATE_DATASETS_GLOBAL]: renamed }, unknownDataset)).toBe(
      'threw InvalidInputError: Unknown dataset "views". Fix: use one of clicks_v2, impressions_v2, or add config/datasets/views.json and redeploy',
    );
  });

  test('fails every invocation, naming the fix, when the function was bundled without them', () => {
    expect(invokeBundle('none', {}, unknownDataset)).toBe(
      "threw Error: validate was bundled without its dataset definitions (global __VALIDATE_DATASETS__). Fix: build it with PlatformFunction's bundleDefines, as OrchestrationStack does",
    );
  });

  test('are absent outside a bundle, so tests pass theirs to createHandler', () => {
    expect(bundledDatasets()).toBeUndefined();
    const map = datasetMap(exampleConfig().datasets);
    expect([...map.keys()]).toEqual(['clicks', 'impressions']);
    expect(map.get('clicks')).toBe(exampleConfig().datasets[0]);
  });
});
