/**
 * Records the curated table definition of datasets in config/curated-schemas/<dataset>.json, after checking that the
 * change is one the Iceberg table can take (a new dataset, or nullable columns added at the end). Commit the written
 * files with the dataset change: the synth refuses a dataset whose table differs from its record.
 *
 *   npm run schema:accept                       every dataset (new ones and allowed changes)
 *   npm run schema:accept -- impressions clicks  only these
 *
 * Exit codes: 0 written or already up to date, 2 unknown dataset, 7 invalid configuration or a refused change (nothing
 * is written for that dataset). DATA_PLATFORM_CONFIG_DIR points at another config directory (tests use it).
 */
import * as path from 'node:path';
import { acceptCuratedSchemas } from '../config/curated-schema';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from '../config/load';

export const EXIT_USAGE = 2;
export const EXIT_REFUSED = 7;

export interface SchemaAcceptResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function schemaAccept(args: readonly string[], configDir: string = DEFAULT_CONFIG_DIR): SchemaAcceptResult {
  const relative = (file: string) => path.relative(process.cwd(), file) || file;
  let datasets: ReturnType<typeof loadConfig>['datasets'];
  try {
    ({ datasets } = loadConfig(configDir, { checkCuratedSchemas: false }));
  } catch (error) {
    if (error instanceof ConfigError) return { exitCode: EXIT_REFUSED, stdout: '', stderr: `${error.message}\n` };
    throw error;
  }
  const known = datasets.map((dataset) => dataset.name);
  const unknown = args.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    return {
      exitCode: EXIT_USAGE,
      stdout: '',
      stderr: `schema:accept: no dataset ${unknown.map((name) => JSON.stringify(name)).join(', ')}. Fix: name one of ${known.join(', ')}\n`,
    };
  }
  const chosen = args.length === 0 ? datasets : datasets.filter((dataset) => args.includes(dataset.name));
  const result = acceptCuratedSchemas(
    configDir,
    chosen.map((config) => ({ file: path.join(configDir, 'datasets', `${config.name}.json`), config })),
    relative,
  );
  const stdout = [
    ...result.written.map((file) => `wrote ${file}\n`),
    ...result.unchanged.map((name) => `${name}: already accepted\n`),
  ].join('');
  const stderr = result.refused.map((problem) => `refused: ${problem}\n`).join('');
  return { exitCode: result.refused.length > 0 ? EXIT_REFUSED : 0, stdout, stderr };
}

if (require.main === module) {
  const result = schemaAccept(process.argv.slice(2), process.env.DATA_PLATFORM_CONFIG_DIR ?? DEFAULT_CONFIG_DIR);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exit(result.exitCode);
}
