/**
 * The dataset definitions, bundled into the function: esbuild inlines these JSON imports, so the function needs no
 * config file at run time. Each is validated with the same schema as the synth (`datasetSchema`) at cold start.
 *
 * Adding a dataset: add its import below (test/lambda/validate/datasets.test.ts fails until every file in
 * config/datasets/ is listed here).
 */
import clicks from '../../config/datasets/clicks.json';
import impressions from '../../config/datasets/impressions.json';
import { type DatasetConfig, datasetSchema } from '../../config/schema';

const BUNDLED: readonly unknown[] = [clicks, impressions];

/** Parses raw dataset definitions; throws naming the dataset and the problem when one is invalid. */
export function parseDatasets(raw: readonly unknown[]): ReadonlyMap<string, DatasetConfig> {
  const datasets = new Map<string, DatasetConfig>();
  for (const definition of raw) {
    const parsed = datasetSchema.safeParse(definition);
    if (!parsed.success) {
      const name = (definition as { name?: unknown } | null)?.name;
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`);
      throw new Error(
        `Bundled dataset ${JSON.stringify(name)} is invalid: ${problems.join('; ')}. Fix: correct config/datasets/${String(name)}.json (npx cdk synth reports the same)`,
      );
    }
    datasets.set(parsed.data.name, parsed.data);
  }
  return datasets;
}

export const DATASETS: ReadonlyMap<string, DatasetConfig> = parseDatasets(BUNDLED);
