import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GENERATED_FILE, renderGeneratedModule } from '../../../lambda/validate/bundle-datasets';
import { DATASETS, staleBundledDatasets } from '../../../lambda/validate/datasets';
import { exampleConfig, REPO_ROOT } from '../../helpers/app';

describe('bundled datasets', () => {
  test('bundle every file of config/datasets, parsed exactly as the synth parses them', () => {
    const files = readdirSync(path.join(REPO_ROOT, 'config', 'datasets')).filter((file) => file.endsWith('.json'));
    expect([...DATASETS.keys()].sort()).toEqual(files.map((file) => path.basename(file, '.json')).sort());
    for (const dataset of exampleConfig().datasets) expect(DATASETS.get(dataset.name)).toEqual(dataset);
  });

  test('the generated module is what the generator writes today (run npx tsx lambda/validate/bundle-datasets.ts)', () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(renderGeneratedModule(exampleConfig().datasets));
  });

  test('a dataset edited or added without regenerating is reported by name', () => {
    const [clicks, impressions] = exampleConfig().datasets;
    expect(staleBundledDatasets([clicks, impressions])).toBeUndefined();
    const edited = { ...clicks, description: 'changed' };
    const added = { ...impressions, name: 'conversions' };
    expect(staleBundledDatasets([edited, added])).toBe('"clicks" differs, "conversions" is missing');
  });
});
