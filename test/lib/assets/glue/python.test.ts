/** Runs the Python unit tests of the Glue scripts (test_curate_lib.py) as part of `npm test`. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { curatedTableSchema, LINEAGE_FIELDS } from '../../../../config/curated-schema';
import { exampleConfig, REPO_ROOT } from '../../../helpers/app';

const TEST_DIR = __dirname;
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const hasPython = python.status === 0;

if (!hasPython) {
  // Visible in the jest output, so a machine without python3 does not silently pass the Glue tests.
  console.warn(
    `SKIPPED: the Python tests of lib/assets/glue (${path.relative(process.cwd(), TEST_DIR)}) need python3, which is not on PATH. Fix: install python3 >= 3.8 and rerun npm test`,
  );
}

(hasPython ? test : test.skip)('the Spark-free curate logic passes python3 -m unittest', () => {
  const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', TEST_DIR, '-p', 'test_*.py'], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`python3 -m unittest failed (exit ${run.status}):\n${output}`);
  expect(output).toMatch(/Ran [1-9]\d* tests?/);
  expect(output).toMatch(/\nOK/);
});

/** Runs Python code with curate_lib importable and returns what it printed as JSON. */
function runPython(code: string): unknown {
  const run = spawnSync(
    'python3',
    [
      '-c',
      `import json, sys\nsys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'lib', 'assets', 'glue'))})\nimport curate_lib\n${code}`,
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    },
  );
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

(hasPython ? test : test.skip)(
  'the job and the Catalog stack agree on the lineage columns and the table column order',
  () => {
    expect(runPython('print(json.dumps(curate_lib.LINEAGE_COLUMNS))')).toEqual(
      LINEAGE_FIELDS.map((field) => [field.name, field.type]),
    );
    for (const dataset of exampleConfig().datasets) {
      const columns = runPython(
        `print(json.dumps(curate_lib.table_columns(curate_lib.parse_dataset(json.loads(${JSON.stringify(JSON.stringify(dataset))})))))`,
      );
      expect(columns).toEqual(curatedTableSchema(dataset).fields.map((field) => field.name));
    }
  },
);
