/**
 * The dataset definitions a function works with, injected at bundle time: the Orchestration stack bundles the
 * functions that need them with `bundleDefines: { [DATASETS_GLOBAL]: datasets }` (esbuild `define`), so they are the
 * ones the same synth validated, as a plain literal: no config file at run time, no schema parsed at cold start (zod
 * and the config schema cost ~35 ms), nothing generated to keep in step. The global's name is in ./datasets-contract.ts.
 */
import type { DatasetConfig } from '../../config/schema';
import { DATASETS_GLOBAL } from './datasets-contract';

// Replaced by esbuild with the definitions; its name is DATASETS_GLOBAL.
declare const __PLATFORM_DATASETS__: readonly DatasetConfig[] | undefined;

/** Datasets by name. */
export function datasetMap(datasets: readonly DatasetConfig[]): ReadonlyMap<string, DatasetConfig> {
  return new Map(datasets.map((dataset) => [dataset.name, dataset]));
}

/** The definitions bundled into the function, or `undefined` when it was built without them (e.g. under ts-jest). */
export function bundledDatasets(): ReadonlyMap<string, DatasetConfig> | undefined {
  return typeof __PLATFORM_DATASETS__ === 'undefined' ? undefined : datasetMap(__PLATFORM_DATASETS__);
}

/** The handler of a function bundled without its definitions: every invocation fails, naming the fix. */
export function bundledWithoutDatasets(functionName: string): () => Promise<never> {
  return async () => {
    throw new Error(
      `${functionName} was bundled without its dataset definitions (global ${DATASETS_GLOBAL}). Fix: build it with PlatformFunction's bundleDefines, as OrchestrationStack does`,
    );
  };
}
