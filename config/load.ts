/**
 * Loads and validates the whole configuration once. Any problem becomes a {@link ConfigError} whose message names the
 * file, the key path, the value received and the fix; `bin/data-platform.ts` prints it and exits non-zero.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import { checkCuratedSchemas } from './curated-schema';
import {
  type AppConfig,
  cidrsOverlap,
  type DatasetConfig,
  datasetSchema,
  type EnvironmentConfig,
  environmentSchema,
  type PlatformConfig,
  platformSchema,
} from './schema';
import { valueAt } from './value-at';

/** The directory holding platform.json, environments/ and datasets/. */
export const DEFAULT_CONFIG_DIR = path.resolve(__dirname);

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /**
   * Check each dataset against its accepted curated table (config/curated-schemas/, see curated-schema.ts). Off only
   * for the command that records them.
   * @default true
   */
  readonly checkCuratedSchemas?: boolean;
}

export function loadConfig(configDir: string = DEFAULT_CONFIG_DIR, options: LoadOptions = {}): AppConfig {
  const problems: string[] = [];
  const relative = (file: string) => path.relative(process.cwd(), file) || file;

  const platformFile = path.join(configDir, 'platform.json');
  const platform = parseFile(platformFile, platformSchema, problems, relative);

  const environments = jsonFiles(path.join(configDir, 'environments')).map((file) => ({
    file,
    config: parseFile(file, environmentSchema, problems, relative),
  }));
  const datasets = jsonFiles(path.join(configDir, 'datasets')).map((file) => ({
    file,
    config: parseFile(file, datasetSchema, problems, relative),
  }));

  if (environments.length === 0) {
    problems.push(
      `${relative(path.join(configDir, 'environments'))}: holds no <env>.json. Fix: add one per environment`,
    );
  }

  checkEnvironments(environments, problems, relative);
  for (const { file, config } of datasets) {
    const expected = path.basename(file, '.json');
    if (config && config.name !== expected) {
      problems.push(
        `${relative(file)}: key "name" has value ${show(config.name)}: must match the file name. Fix: set "name": "${expected}" or rename the file`,
      );
    }
  }

  checkDatasets(datasets, problems, relative);
  const validDatasets = datasets.flatMap(({ file, config }) => (config ? [{ file, config }] : []));
  if ((options.checkCuratedSchemas ?? true) && validDatasets.length === datasets.length) {
    problems.push(...checkCuratedSchemas(configDir, validDatasets, relative));
  }

  if (platform && environments.every((e) => e.config)) {
    const names = environments.map((e) => e.config!.name);
    const order = platform.pipeline.environmentOrder;
    const missing = names.filter((name) => !order.includes(name));
    const unknown = order.filter((name) => !names.includes(name));
    if (missing.length > 0 || unknown.length > 0) {
      problems.push(
        `${relative(platformFile)}: key "pipeline.environmentOrder" has value ${show(order)}: must list every environment exactly once (${missing.length ? `missing ${missing.join(', ')}` : `no file for ${unknown.join(', ')}`}). Fix: list ${show(names)} in deployment order`,
      );
    }
  }

  // GitHub Actions runs on GitHub: it cannot deliver from a CodeCommit repository.
  if (platform?.delivery.engine === 'github-actions' && platform.source.type === 'codecommit') {
    problems.push(
      `${relative(platformFile)}: key "delivery.engine" has value "github-actions": needs the code on GitHub, but "source.type" is "codecommit". Fix: set "delivery.engine": "codepipeline", or move the repository to GitHub and set "source" to "github-connection" or "github-token"`,
    );
  }

  if (problems.length > 0 || !platform) throw new ConfigError(problems);

  const byName = new Map(environments.map((e) => [e.config!.name, e.config!]));
  return {
    platform,
    environments: platform.pipeline.environmentOrder.map((name) => byName.get(name)!),
    datasets: datasets.map((d) => d.config!).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function checkEnvironments(
  environments: { file: string; config: EnvironmentConfig | undefined }[],
  problems: string[],
  relative: (file: string) => string,
): void {
  const valid = environments.filter((e): e is { file: string; config: EnvironmentConfig } => e.config !== undefined);
  valid.forEach(({ file, config }, index) => {
    const earlier = valid.slice(0, index);
    const sameName = earlier.find((other) => other.config.name === config.name);
    if (sameName) {
      problems.push(
        `${relative(file)}: key "name" has value ${show(config.name)}: already used by ${relative(sameName.file)}. Fix: give each environment its own name`,
      );
    } else if (config.name !== path.basename(file, '.json')) {
      problems.push(
        `${relative(file)}: key "name" has value ${show(config.name)}: must match the file name. Fix: set "name": "${path.basename(file, '.json')}" or rename the file`,
      );
    }
    const sameBranch = earlier.find((other) => other.config.branch === config.branch);
    if (sameBranch) {
      problems.push(
        `${relative(file)}: key "branch" has value ${show(config.branch)}: already deploys ${sameBranch.config.name} (${relative(sameBranch.file)}). Fix: give each environment its own branch`,
      );
    }
    const overlapping = earlier.find((other) => cidrsOverlap(other.config.network.vpcCidr, config.network.vpcCidr));
    if (overlapping) {
      problems.push(
        `${relative(file)}: key "network.vpcCidr" has value ${show(config.network.vpcCidr)}: overlaps ${overlapping.config.network.vpcCidr} of ${overlapping.config.name} (${relative(overlapping.file)}). Fix: give each environment a disjoint range, e.g. 10.10.0.0/16, 10.20.0.0/16, 10.30.0.0/16`,
      );
    }
  });
}

type Loaded<T> = { file: string; config: T | undefined };

/** Rules across dataset files: one mart table per dataset, distinct construct IDs. */
function checkDatasets(
  datasets: Loaded<DatasetConfig>[],
  problems: string[],
  relative: (file: string) => string,
): void {
  const valid = datasets.filter((d): d is { file: string; config: DatasetConfig } => d.config !== undefined);
  const tables = new Map<string, { file: string; config: DatasetConfig }>();
  for (const dataset of valid.filter((d) => d.config.mart.enabled)) {
    const table = dataset.config.mart.table ?? dataset.config.name;
    const owner = tables.get(table);
    if (!owner) {
      tables.set(table, dataset);
      continue;
    }
    // Reported on the file that names the table explicitly (the other one may only have its default).
    const [first, second] = dataset.config.mart.table === undefined ? [dataset, owner] : [owner, dataset];
    const key = second.config.mart.table === undefined ? '"name"' : '"mart.table"';
    problems.push(
      `${relative(second.file)}: key ${key} has value ${show(table)}: is also the mart table of dataset "${first.config.name}" (${relative(first.file)}${first.config.mart.table === undefined ? ', by default its name' : ''}); both would load into mart.${table} and overwrite each other's rows. Fix: give one of them another "mart.table"`,
    );
  }
  const names = valid.map((d) => d.config.name);
  for (const dataset of valid) {
    dataset.config.metrics.ratios.forEach((ratio, index) => {
      if (!names.includes(ratio.denominator)) {
        problems.push(
          `${relative(dataset.file)}: key "metrics.ratios[${index}].denominator" has value ${show(ratio.denominator)}: is not a configured dataset. Fix: use one of ${names.join(', ')}`,
        );
      }
    });
  }
  const ids = new Map<string, { file: string; config: DatasetConfig }>();
  for (const dataset of valid) {
    const id = datasetConstructId(dataset.config.name);
    const other = ids.get(id);
    if (other) {
      problems.push(
        `${relative(dataset.file)}: key "name" has value ${show(dataset.config.name)}: maps to the same stack resources as dataset "${other.config.name}" (${relative(other.file)}): construct IDs drop the "_" (${id}). Fix: rename one of them (no repeated or trailing "_")`,
      );
    } else {
      ids.set(id, dataset);
    }
  }
}

/** The PascalCase a dataset name takes in construct IDs (orchestration and catalog stacks: `<Id>Flow`, `<Id>Table`). */
export function datasetConstructId(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

function jsonFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.endsWith('.json'))
    .sort()
    .map((entry) => path.join(dir, entry));
}

function parseFile<T extends z.ZodType>(
  file: string,
  schema: T,
  problems: string[],
  relative: (file: string) => string,
): z.output<T> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    problems.push(`${relative(file)}: cannot be read. Fix: create it (see README, Configuration reference)`);
    return undefined;
  }
  // Editors on Windows save UTF-8 with a byte order mark; JSON.parse refuses it, so it is dropped.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    problems.push(`${relative(file)}: ${describeSyntaxError(text, error as Error)}`);
    return undefined;
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) problems.push(describeIssue(relative(file), raw, issue, schema));
  return undefined;
}

/**
 * Where and what the JSON syntax error is, as line and column (1-based) and the character found there. JSON.parse only
 * gives a character position, in words that differ between Node.js versions, so only the position is taken from it.
 */
export function describeSyntaxError(text: string, error: Error): string {
  const match = /at position (\d+)/.exec(error.message);
  const position = match ? Math.min(Number(match[1]), text.length) : text.length;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - (before.lastIndexOf('\n') + 1) + 1;
  const found =
    position >= text.length
      ? 'the file ends before the JSON value does'
      : `unexpected ${JSON.stringify(String.fromCodePoint(text.codePointAt(position) ?? 0))}`;
  const lineText = text.split('\n')[line - 1].replace(/\r$/, '').trim();
  const excerpt = lineText === '' ? '' : `: ${lineText.length > 80 ? `${lineText.slice(0, 77)}...` : lineText}`;
  return `is not valid JSON: ${found} at line ${line}, column ${column}${excerpt}. Fix: correct the syntax there (a trailing comma, a missing comma, quote or bracket, and comments are the usual causes)`;
}

function describeIssue(file: string, raw: unknown, issue: z.core.$ZodIssue, schema: z.ZodType): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const keyPath = formatPath([...issue.path, key]);
        const known = knownKeys(schema, issue.path);
        const suggestion = closest(key, known);
        const fix = suggestion
          ? `did you mean "${suggestion}"?`
          : `remove it${known.length ? ` (known keys here: ${known.join(', ')})` : ''}`;
        return `${file}: key "${keyPath}" is not a known setting. Fix: ${fix}`;
      })
      .join('\n  - ');
  }
  const value = valueAt(raw, issue.path);
  const keyPath = formatPath(issue.path) || '(top level)';
  // A rule may word what it received (a record key, a count) or name the default it judged when the key is unset.
  const params =
    issue.code === 'custom' ? (issue.params as { received?: string; default?: unknown } | undefined) : undefined;
  const received =
    params?.received ??
    (value !== undefined
      ? `has value ${show(value)}`
      : params !== undefined && 'default' in params
        ? `is not set (default ${show(params.default)})`
        : 'is missing');
  let message = issue.message;
  if (issue.code === 'invalid_type' && value === undefined)
    message = 'is required. Fix: add it (see README, Configuration reference)';
  else if (!message.includes('Fix:')) message = `${message}. Fix: see README, Configuration reference`;
  return `${file}: key "${keyPath}" ${received}: ${message}`;
}

function formatPath(keys: readonly PropertyKey[]): string {
  return keys.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc ? `${acc}.${String(key)}` : String(key);
  }, '');
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The keys a strict object at `keys` accepts, read from the schema's JSON Schema (used for "did you mean"). */
function knownKeys(schema: z.ZodType, keys: readonly PropertyKey[]): string[] {
  let node: JsonSchemaNode | undefined;
  try {
    node = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as JsonSchemaNode;
  } catch {
    return [];
  }
  const candidates = (n: JsonSchemaNode): JsonSchemaNode[] => [
    n,
    ...(n.anyOf ?? []),
    ...(n.oneOf ?? []),
    ...(n.allOf ?? []),
  ];
  let nodes = node ? candidates(node) : [];
  for (const key of keys) {
    nodes = nodes.flatMap((n) => {
      const next = typeof key === 'number' ? n.items : n.properties?.[String(key)];
      return next ? candidates(next) : [];
    });
  }
  return [...new Set(nodes.flatMap((n) => Object.keys(n.properties ?? {})))];
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  allOf?: JsonSchemaNode[];
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

export type { AppConfig, DatasetConfig, EnvironmentConfig, PlatformConfig };
