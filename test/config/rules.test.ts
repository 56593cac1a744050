/**
 * Config rules that protect production and catch what would break later (at deploy or on the first file), each
 * asserted with its whole message: production guardrails and their waivers, AWS tag rules, dataset collisions,
 * JSON syntax and encoding, Aurora capacity, route throttling keys, and the printer in bin/.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import { RESERVED_COLUMN_NAMES } from '../../config/schema';
import { API_ROUTE_KEYS } from '../../lib/assets/api/routes';
import { STAGED_METADATA } from '../../lambda/validate/contract';
import { exampleConfig, REPO_ROOT } from '../helpers/app';

/** These tests are about the config rules; the curated schema records have their own (test/config/curated-schema.test.ts). */
const RULES_ONLY = { checkCuratedSchemas: false };

type Json = Record<string, unknown>;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the example config in a temp dir, with edits applied (a function edits the JSON, a string replaces the file). */
function configWith(edits: Record<string, ((json: Json) => void) | string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-rules-'));
  dirs.push(dir);
  cpSync(path.join(REPO_ROOT, 'config'), dir, { recursive: true, filter: (source) => !source.endsWith('.ts') });
  for (const [file, edit] of Object.entries(edits)) {
    const target = path.join(dir, file);
    if (typeof edit === 'string') {
      writeFileSync(target, edit);
      continue;
    }
    const json = JSON.parse(readFileSync(target, 'utf8')) as Json;
    edit(json);
    writeFileSync(target, JSON.stringify(json, null, 2));
  }
  return dir;
}

/** The problems loadConfig reports, with the temp dir shown as `config/` (the path `cdk synth` would print). */
function problems(dir: string): string[] {
  try {
    loadConfig(dir, RULES_ONLY);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const shown = `${path.relative(process.cwd(), dir)}/`;
    return (error as ConfigError).problems.map((problem) => problem.split(shown).join('config/'));
  }
  throw new Error('expected loadConfig to fail');
}

const section = (json: Json, key: string) => json[key] as Json;
const prod = 'environments/prod.json';
const dev = 'environments/dev.json';

describe('production guardrails', () => {
  test('fails on a production environment whose storage is destroyed with its stacks', () => {
    expect(problems(configWith({ [prod]: (j) => (section(j, 'storage').removalPolicy = 'destroy') }))).toEqual([
      'config/environments/prod.json: key "storage.removalPolicy" has value "destroy": would delete the buckets, the key and the database with their data when a stack of this production environment is deleted. Fix: set "retain", or explain in "storage.removalPolicyWaiver" (at least 10 characters) why this data may be destroyed',
    ]);
  });

  test('accepts destroy in production with a written waiver', () => {
    const dir = configWith({
      [prod]: (j) => {
        section(j, 'storage').removalPolicy = 'destroy';
        section(j, 'storage').removalPolicyWaiver = '  Pre-launch Prod, no customer data until 2026-12-01 (CTO)  ';
      },
    });
    expect(loadConfig(dir, RULES_ONLY).environments[2].storage).toMatchObject({
      removalPolicy: 'destroy',
      removalPolicyWaiver: 'Pre-launch Prod, no customer data until 2026-12-01 (CTO)',
    });
  });

  test('fails on a waiver of fewer than 10 characters', () => {
    const dir = configWith({
      [prod]: (j) => {
        section(j, 'storage').removalPolicy = 'destroy';
        section(j, 'storage').removalPolicyWaiver = ' because  ';
      },
    });
    expect(problems(dir)).toEqual([
      'config/environments/prod.json: key "storage.removalPolicyWaiver" has value " because  ": must say in at least 10 characters why this production environment\'s data may be deleted with its stacks. Fix: write the reason, e.g. who agreed and until when',
    ]);
  });

  test('fails on a removal policy waiver that waives nothing', () => {
    const dir = configWith({ [dev]: (j) => (section(j, 'storage').removalPolicyWaiver = 'Dev data is synthetic') });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: key "storage.removalPolicyWaiver" has value "Dev data is synthetic": waives nothing: it only applies to a production environment with "removalPolicy": "destroy" (this one is not production, removalPolicy "destroy"). Fix: remove it',
    ]);
  });

  test.each(['off', 'optional'])('fails on Cognito mfa "%s" in a production environment', (mfa) => {
    const dir = configWith({ [prod]: (j) => ((section(j, 'api').auth as Json).mfa = mfa) });
    expect(problems(dir)).toEqual([
      `config/environments/prod.json: key "api.auth.mfa" has value "${mfa}": lets users of this production API sign in with a password alone. Fix: set "mfa": "required", or explain in "api.auth.mfaWaiver" (at least 10 characters) why this user pool may do without`,
    ]);
  });

  test('accepts optional MFA in production with a written waiver', () => {
    const dir = configWith({
      [prod]: (j) =>
        (section(j, 'api').auth = {
          type: 'cognito',
          mfa: 'optional',
          mfaWaiver: 'Kiosk accounts only, behind the corporate SSO proxy',
        }),
    });
    expect(loadConfig(dir, RULES_ONLY).environments[2].api.auth).toMatchObject({ type: 'cognito', mfa: 'optional' });
  });

  test('fails on an MFA waiver that waives nothing', () => {
    const dir = configWith({ [dev]: (j) => ((section(j, 'api').auth as Json).mfaWaiver = 'Developers only, no data') });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: key "api.auth.mfaWaiver" has value "Developers only, no data": waives nothing: it only applies to a production environment whose "mfa" is not "required" (this one is not production, mfa "optional"). Fix: remove it',
    ]);
  });

  test('fails on production logs kept less than a year, set or by default', () => {
    const dir = configWith({
      [prod]: (j) => {
        delete j.logRetentionDays;
        section(j, 'network').flowLogRetentionDays = 180;
      },
    });
    expect(problems(dir)).toEqual([
      'config/environments/prod.json: key "logRetentionDays" is not set (default 90): keeps the logs of a production environment less than 365 days. Fix: use one of 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
      'config/environments/prod.json: key "network.flowLogRetentionDays" has value 180: keeps the logs of a production environment less than 365 days. Fix: use one of 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
    ]);
  });

  test('turns on Enhanced Monitoring every 60 s in production and off elsewhere unless set', () => {
    const environments = exampleConfig().environments;
    expect(environments.map((e) => [e.name, e.dataMart.enhancedMonitoringSeconds])).toEqual([
      ['dev', 0],
      ['test', 0],
      ['prod', 60],
    ]);
    const dir = configWith({ [dev]: (j) => (section(j, 'dataMart').enhancedMonitoringSeconds = 30) });
    expect(loadConfig(dir, RULES_ONLY).environments[0].dataMart.enhancedMonitoringSeconds).toBe(30);
  });

  test('fails on an Enhanced Monitoring interval RDS does not offer', () => {
    const dir = configWith({ [prod]: (j) => (section(j, 'dataMart').enhancedMonitoringSeconds = 45) });
    expect(problems(dir)).toEqual([
      'config/environments/prod.json: key "dataMart.enhancedMonitoringSeconds" has value 45: must be one of 0, 1, 5, 10, 15, 30, 60 seconds (0 turns Enhanced Monitoring off). Fix: e.g. 60',
    ]);
  });
});

describe('tags', () => {
  const tags = (value: Record<string, unknown>) => ({ 'platform.json': (j: Json) => (j.tags = value) });

  test.each(['aws:owner', 'AWS:Owner', 'Aws:cost'])('fails on a tag key with the reserved prefix (%s)', (key) => {
    expect(problems(configWith(tags({ [key]: 'x' })))).toEqual([
      `config/platform.json: key "tags" has key "${key}": starts with "aws:", a prefix AWS reserves for its own tags (deploys fail). Fix: drop the prefix`,
    ]);
  });

  test('fails on a tag value with the reserved prefix', () => {
    expect(problems(configWith(tags({ owner: 'aws:team' })))).toEqual([
      'config/platform.json: key "tags.owner" has value "aws:team": starts with "aws:", a prefix AWS reserves for its own tags (deploys fail). Fix: drop the prefix',
    ]);
  });

  test('fails on tag keys and values AWS refuses: characters and lengths', () => {
    const longKey = 'k'.repeat(129);
    const dir = configWith(tags({ 'cost#centre': 'a', [longKey]: 'b', '': 'c', owner: 'v'.repeat(257), team: 'a&b' }));
    expect(problems(dir)).toEqual([
      'config/platform.json: key "tags" has key "cost#centre": holds characters AWS refuses in tag keys. Fix: use only (Unicode letters, digits, spaces and _ . : / = + - @)',
      `config/platform.json: key "tags" has key "${longKey}": is 129 characters; AWS tag keys are 1 to 128. Fix: shorten it`,
      'config/platform.json: key "tags" has key "": is 0 characters; AWS tag keys are 1 to 128. Fix: shorten it',
      `config/platform.json: key "tags.owner" has value "${'v'.repeat(257)}": is 257 characters; AWS tag values are at most 256. Fix: shorten it`,
      'config/platform.json: key "tags.team" has value "a&b": holds characters AWS refuses in tag values. Fix: use only (Unicode letters, digits, spaces and _ . : / = + - @)',
    ]);
  });

  test('fails on the tag key the platform sets itself', () => {
    expect(problems(configWith(tags({ environment: 'all' })))).toEqual([
      'config/platform.json: key "tags" has key "environment": is the tag the platform sets to the environment name on every resource. Fix: use another key',
    ]);
  });

  test('fails on more tags than leave room for those the platform and aws-cdk-lib set', () => {
    const many = Object.fromEntries(Array.from({ length: 46 }, (_, i) => [`tag${i}`, 'x']));
    expect(problems(configWith(tags(many)))).toEqual([
      'config/platform.json: key "tags" has 46 tags: AWS allows 50 tags per resource and the platform and aws-cdk-lib set up to 5. Fix: keep at most 45',
    ]);
  });

  test('accepts Unicode letters, digits, spaces and the allowed symbols, counting characters not bytes', () => {
    const accepted = { 'Coût centre': 'équipe données 42', 'team/ads:owner=x+y@z.-_': 'é'.repeat(256) };
    expect(loadConfig(configWith(tags(accepted))).platform.tags).toEqual(accepted);
  });
});

describe('dataset configs that would break later', () => {
  const dataset = (name: string) => `datasets/${name}.json`;
  const mart = (json: Json) => json.mart as Json;
  const columns = (json: Json) => json.columns as Json[];
  /** A copy of clicks under another name (mart off, so it claims no mart table). */
  const copyOfClicks = (name: string): string =>
    JSON.stringify({
      ...JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'datasets', 'clicks.json'), 'utf8')),
      name,
      mart: { enabled: false },
    });

  test('fails on two datasets loading into the same mart table', () => {
    const dir = configWith({ [dataset('impressions')]: (j) => (mart(j).table = 'clicks') });
    expect(problems(dir)).toEqual([
      'config/datasets/impressions.json: key "mart.table" has value "clicks": is also the mart table of dataset "clicks" (config/datasets/clicks.json); both would load into mart.clicks and overwrite each other\'s rows. Fix: give one of them another "mart.table"',
    ]);
  });

  test('fails on a mart table named like another mart-enabled dataset, reported where it is set', () => {
    const dir = configWith({
      [dataset('clicks')]: (j) => (mart(j).table = 'impressions'),
      [dataset('impressions')]: (j) => delete mart(j).table,
    });
    expect(problems(dir)).toEqual([
      'config/datasets/clicks.json: key "mart.table" has value "impressions": is also the mart table of dataset "impressions" (config/datasets/impressions.json, by default its name); both would load into mart.impressions and overwrite each other\'s rows. Fix: give one of them another "mart.table"',
    ]);
  });

  test('accepts a mart table name shared with a dataset whose mart is off', () => {
    const dir = configWith({ [dataset('impressions')]: (j) => (mart(j).enabled = false) });
    expect(() => loadConfig(dir, RULES_ONLY)).not.toThrow();
  });

  test('accepts an ingest_date column in a dataset partitioned by another column', () => {
    const dir = configWith({
      [dataset('impressions')]: (j) => columns(j).push({ name: 'ingest_date', type: 'date', nullable: true }),
    });
    expect(loadConfig(dir, RULES_ONLY).datasets[1].columns.map((c) => c.name)).toContain('ingest_date');
  });

  test.each([...RESERVED_COLUMN_NAMES])('fails on a column named like the lineage column %s', (name) => {
    const dir = configWith({ [dataset('clicks')]: (j) => columns(j).push({ name, type: 'string' }) });
    expect(problems(dir)).toEqual([
      `config/datasets/clicks.json: key "columns[7].name" has value "${name}": is a column the platform adds to every row (reserved: _batch_id, _ingest_date, _record, _run_id). Fix: rename the column`,
    ]);
  });

  test('reserves every column name the validate function and the Glue scripts add', () => {
    const sources = [
      ...readdirSync(path.join(REPO_ROOT, 'lib', 'assets', 'glue')).map((f) => path.join('lib', 'assets', 'glue', f)),
      ...readdirSync(path.join(REPO_ROOT, 'lambda', 'validate')).map((f) => path.join('lambda', 'validate', f)),
    ].filter((file) => /\.(py|ts)$/.test(file));
    const used = new Set(
      sources.flatMap((file) =>
        [...readFileSync(path.join(REPO_ROOT, file), 'utf8').matchAll(/["'`](_[a-z][a-z0-9_]*)["'`]/g)].map(
          (match) => match[1],
        ),
      ),
    );
    // The curate job's work columns are namespaced; every other name is a column of staged or curated rows.
    expect([...used].filter((name) => !name.startsWith('_curate_')).sort()).toEqual([...RESERVED_COLUMN_NAMES].sort());
    expect(Object.values(STAGED_METADATA).every((name) => used.has(name))).toBe(true);
  });

  test('fails on a decimal precision Spark, Parquet and Athena cannot hold', () => {
    const dir = configWith({
      [dataset('clicks')]: (j) => {
        columns(j)[5].type = 'decimal(39,4)';
        columns(j).push({ name: 'ratio', type: 'decimal(0,0)' });
      },
    });
    const fix =
      'must be one of string, integer, bigint, double, decimal(p,s), boolean, date, timestamp. Fix: e.g. "decimal(12,4)" (1 <= p <= 38, s <= p)';
    expect(problems(dir)).toEqual([
      `config/datasets/clicks.json: key "columns[5].type" has value "decimal(39,4)": ${fix}`,
      `config/datasets/clicks.json: key "columns[7].type" has value "decimal(0,0)": ${fix}`,
    ]);
  });

  test('fails on a mart table name too long for its primary key name', () => {
    const dir = configWith({ [dataset('clicks')]: (j) => (mart(j).table = 'c'.repeat(59)) });
    expect(problems(dir)).toEqual([
      `config/datasets/clicks.json: key "mart.table" has value "${'c'.repeat(59)}": must be at most 58 characters (PostgreSQL names its primary key "<table>_pkey" within 63). Fix: shorten it`,
    ]);
  });

  test('fails on a long dataset name that is also its mart table', () => {
    const name = `clicks_${'x'.repeat(52)}`;
    const file = JSON.stringify({ ...JSON.parse(copyOfClicks(name)), mart: { enabled: true } });
    expect(problems(configWith({ [dataset(name)]: file }))).toEqual([
      `config/datasets/${name}.json: key "mart.table" is not set: defaults to the dataset name, which is longer than the 58 characters a mart table may have (PostgreSQL names its primary key "<table>_pkey" within 63). Fix: set a shorter "mart.table"`,
    ]);
  });

  test('fails on two dataset names that make the same construct IDs', () => {
    const dir = configWith({
      [dataset('ad_clicks')]: copyOfClicks('ad_clicks'),
      [dataset('ad__clicks')]: copyOfClicks('ad__clicks'),
    });
    expect(problems(dir)).toEqual([
      'config/datasets/ad_clicks.json: key "name" has value "ad_clicks": maps to the same stack resources as dataset "ad__clicks" (config/datasets/ad__clicks.json): construct IDs drop the "_" (AdClicks). Fix: rename one of them (no repeated or trailing "_")',
    ]);
  });

  test('accepts SQL reserved words as column names (every SQL the platform writes quotes identifiers)', () => {
    const dir = configWith({
      [dataset('clicks')]: (j) =>
        columns(j).push(
          { name: 'order', type: 'integer' },
          { name: 'user', type: 'string' },
          { name: 'select', type: 'boolean' },
        ),
    });
    expect(loadConfig(dir, RULES_ONLY).datasets[0].columns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['order', 'user', 'select']),
    );
  });
});

describe('syntax, encoding and values CDK would refuse', () => {
  test('accepts a file saved with a UTF-8 byte order mark', () => {
    const text = readFileSync(path.join(REPO_ROOT, 'config', dev), 'utf8');
    expect(loadConfig(configWith({ [dev]: `\uFEFF${text}` }), RULES_ONLY).environments[0].name).toBe('dev');
  });

  test('fails on a JSON syntax error with its line, column and text', () => {
    const dir = configWith({ [dev]: '{\n  "name": "dev",\n  "account": "222222222222",\n}\n' });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: is not valid JSON: unexpected "}" at line 4, column 1: }. Fix: correct the syntax there (a trailing comma, a missing comma, quote or bracket, and comments are the usual causes)',
    ]);
  });

  test('fails on a JSON file that ends too early, on CRLF lines', () => {
    const dir = configWith({ [dev]: '{\r\n  "name": "dev",\r\n  "network": {' });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: is not valid JSON: the file ends before the JSON value does at line 3, column 15: "network": {. Fix: correct the syntax there (a trailing comma, a missing comma, quote or bracket, and comments are the usual causes)',
    ]);
  });

  test('fails on a comment in JSON', () => {
    const dir = configWith({ [dev]: '{\n  // the dev account\n  "name": "dev"\n}' });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: is not valid JSON: unexpected "/" at line 2, column 3: // the dev account. Fix: correct the syntax there (a trailing comma, a missing comma, quote or bracket, and comments are the usual causes)',
    ]);
  });

  test('fails on Aurora capacities that are not half-ACU steps or out of range', () => {
    const dir = configWith({
      [dev]: (j) => (j.dataMart = { minCapacityAcu: 0.3, maxCapacityAcu: 0.5 }),
      [prod]: (j) => (j.dataMart = { minCapacityAcu: 1.25, maxCapacityAcu: 300 }),
    });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: key "dataMart.minCapacityAcu" has value 0.3: must be a multiple of 0.5: Aurora Serverless v2 capacity moves in half-ACU steps. Fix: e.g. 0 (pauses when idle), 0.5 or 2',
      'config/environments/dev.json: key "dataMart.maxCapacityAcu" has value 0.5: must be between 1 and 256 ACUs. Fix: e.g. 4',
      'config/environments/prod.json: key "dataMart.minCapacityAcu" has value 1.25: must be a multiple of 0.5: Aurora Serverless v2 capacity moves in half-ACU steps. Fix: e.g. 0 (pauses when idle), 0.5 or 2',
      'config/environments/prod.json: key "dataMart.maxCapacityAcu" has value 300: must be between 1 and 256 ACUs. Fix: e.g. 4',
    ]);
  });

  test('accepts half-ACU capacities', () => {
    const dir = configWith({ [dev]: (j) => (j.dataMart = { minCapacityAcu: 0.5, maxCapacityAcu: 2.5 }) });
    expect(loadConfig(dir, RULES_ONLY).environments[0].dataMart).toMatchObject({
      minCapacityAcu: 0.5,
      maxCapacityAcu: 2.5,
    });
  });

  test('fails on a routeThrottling key that names no route', () => {
    const dir = configWith({
      [prod]: (j) => (section(j, 'api').routeThrottling = { 'POST /v1/export': { rateLimit: 1, burstLimit: 1 } }),
    });
    expect(problems(dir)).toEqual([
      `config/environments/prod.json: key "api.routeThrottling" has key "POST /v1/export": names no route of the API. Fix: use one of ${API_ROUTE_KEYS.join(', ')}`,
    ]);
  });

  test('accepts a routeThrottling key for a dataset route shared by all datasets', () => {
    const dir = configWith({
      [prod]: (j) =>
        (section(j, 'api').routeThrottling = {
          'POST /v1/datasets/{dataset}/objects': { rateLimit: 5, burstLimit: 10 },
        }),
    });
    expect(Object.keys(loadConfig(dir, RULES_ONLY).environments[2].api.routeThrottling)).toEqual([
      'POST /v1/datasets/{dataset}/objects',
    ]);
  });

  test('fails on a VPC CIDR too small for three subnet groups in every AZ', () => {
    const azs = ['a', 'b', 'c', 'd', 'e', 'f'].map((letter) => `eu-west-1${letter}`);
    const dir = configWith({
      [dev]: (j) => Object.assign(section(j, 'network'), { vpcCidr: '10.10.0.0/24', availabilityZones: azs }),
    });
    expect(problems(dir)).toEqual([
      'config/environments/dev.json: key "network.vpcCidr" has value "10.10.0.0/24": is too small: it leaves /29 subnets for 3 subnet groups in 6 availability zones, and AWS subnets are at most /28. Fix: use a larger block (e.g. a /20 or /16) or fewer availability zones',
    ]);
  });
});

describe('bin/data-platform.ts', () => {
  test('fails on a bad config with the one message on stderr, exit code 1 and no stack trace', () => {
    const dir = configWith({ [dev]: '{ "name": "dev", }' });
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'bin/data-platform.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATA_PLATFORM_CONFIG_DIR: dir },
      encoding: 'utf8',
    });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `Invalid configuration: ${path.relative(REPO_ROOT, dir)}/environments/dev.json: is not valid JSON: unexpected "}" at line 1, column 18: { "name": "dev", }. Fix: correct the syntax there (a trailing comma, a missing comma, quote or bracket, and comments are the usual causes)\n`,
    });
  }, 60_000);
});
