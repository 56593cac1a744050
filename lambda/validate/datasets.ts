/**
 * The dataset definitions, bundled into the function (see bundle-datasets.ts): the function needs no config file at
 * run time, and does not re-validate at cold start what the synth validated.
 */
import type { DatasetConfig } from '../../config/schema';
import { BUNDLED_DATASETS } from './datasets.generated';

export const DATASETS: ReadonlyMap<string, DatasetConfig> = new Map(
  BUNDLED_DATASETS.map((dataset) => [dataset.name, dataset]),
);

/**
 * Why the bundled definitions cannot serve `datasets` (the synthesized config), or `undefined` when they match: a
 * dataset added or edited without regenerating would otherwise be validated against an old definition.
 */
export function staleBundledDatasets(datasets: readonly DatasetConfig[]): string | undefined {
  const problems = datasets
    .filter((dataset) => JSON.stringify(DATASETS.get(dataset.name)) !== JSON.stringify(dataset))
    .map((dataset) => (DATASETS.has(dataset.name) ? `"${dataset.name}" differs` : `"${dataset.name}" is missing`));
  return problems.length === 0 ? undefined : problems.join(', ');
}
