/**
 * The dataset definitions the function validates against, injected at bundle time: OrchestrationStack bundles it
 * with `bundleDefines: { [VALIDATE_DATASETS_GLOBAL]: datasets }` (esbuild `define`), so the definitions are the ones
 * the same synth validated, as a plain literal: no config file at run time, no schema parsed at cold start (zod and
 * the config schema cost ~35 ms), nothing generated to keep in step.
 */
import type { DatasetConfig } from '../../config/schema';

// Replaced by esbuild with the definitions; the name is VALIDATE_DATASETS_GLOBAL (contract.ts).
declare const __VALIDATE_DATASETS__: readonly DatasetConfig[] | undefined;

/** Datasets by name. */
export function datasetMap(datasets: readonly DatasetConfig[]): ReadonlyMap<string, DatasetConfig> {
  return new Map(datasets.map((dataset) => [dataset.name, dataset]));
}

/** The definitions bundled into the function, or `undefined` when it was built without them (e.g. under ts-jest). */
export function bundledDatasets(): ReadonlyMap<string, DatasetConfig> | undefined {
  return typeof __VALIDATE_DATASETS__ === 'undefined' ? undefined : datasetMap(__VALIDATE_DATASETS__);
}
