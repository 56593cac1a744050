import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATASETS, parseDatasets } from '../../../lambda/validate/datasets';
import { exampleConfig, REPO_ROOT } from '../../helpers/app';

describe('bundled datasets', () => {
  test('bundle every file of config/datasets, parsed exactly as the synth parses them', () => {
    const files = readdirSync(path.join(REPO_ROOT, 'config', 'datasets')).filter((file) => file.endsWith('.json'));
    expect([...DATASETS.keys()].sort()).toEqual(files.map((file) => path.basename(file, '.json')).sort());
    for (const dataset of exampleConfig().datasets) expect(DATASETS.get(dataset.name)).toEqual(dataset);
  });

  test('fails an invalid definition naming the dataset, the key and the fix', () => {
    const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'datasets', 'clicks.json'), 'utf8'));
    expect(() => parseDatasets([{ ...raw, primaryKey: ['nope'] }])).toThrow(
      /Bundled dataset "clicks" is invalid: primaryKey.0 is not a column of the dataset.*Fix: correct config\/datasets\/clicks.json/,
    );
  });
});
