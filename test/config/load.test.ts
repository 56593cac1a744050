import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import { cidrsOverlap, parseCidr } from '../../config/schema';
import { REPO_ROOT } from '../helpers/app';

type Json = Record<string, unknown>;

/** A copy of the example config in a temp dir, with edits applied to one file. */
function configWith(edits: Record<string, (json: Json) => void>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-'));
  cpSync(path.join(REPO_ROOT, 'config'), dir, {
    recursive: true,
    filter: (source) => !source.endsWith('.ts'),
  });
  for (const [file, edit] of Object.entries(edits)) {
    const target = path.join(dir, file);
    const json = JSON.parse(readFileSync(target, 'utf8')) as Json;
    edit(json);
    writeFileSync(target, JSON.stringify(json, null, 2));
  }
  return dir;
}

function loadError(dir: string): string {
  try {
    loadConfig(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('expected loadConfig to fail');
}

const network = (json: Json) => json.network as Json;

describe('loadConfig', () => {
  test('loads the example config: three environments in pipeline order, two datasets, defaults resolved', () => {
    const config = loadConfig(path.join(REPO_ROOT, 'config'));
    expect(config.environments.map((e) => e.name)).toEqual(['dev', 'test', 'prod']);
    expect(config.datasets.map((d) => d.name)).toEqual(['clicks', 'impressions']);
    expect(config.platform.pipeline.mode).toBe('branch-per-environment');
    const test = config.environments[1];
    expect(test.storage.lifecycle.abortIncompleteMultipartUploadDays).toBe(7);
    expect(test.network.natGateways).toBe(0);
    expect(config.environments[2]).toMatchObject({ production: true, approval: { manual: true } });
  });

  test('fails on a malformed account ID, naming file, key, value and fix', () => {
    const message = loadError(configWith({ 'environments/dev.json': (j) => (j.account = '12345') }));
    expect(message).toContain('environments/dev.json');
    expect(message).toContain('key "account" has value "12345"');
    expect(message).toContain('12-digit AWS account ID');
    expect(message).toContain('Fix:');
  });

  test('fails on an account ID given as a number', () => {
    const message = loadError(configWith({ 'platform.json': (j) => ((j.deployment as Json).account = 111111111111) }));
    expect(message).toMatch(/platform\.json: key "deployment\.account" has value 111111111111: .*Fix: quote/);
  });

  test('fails on a prefix too long for derived bucket and role names', () => {
    const message = loadError(configWith({ 'platform.json': (j) => (j.prefix = 'dataplatform-x') }));
    expect(message).toContain('key "prefix" has value "dataplatform-x": must be lower-case letters');
    expect(message).toContain('at most 12 characters');
  });

  test('fails on an unknown region', () => {
    const message = loadError(configWith({ 'environments/test.json': (j) => (j.region = 'eu-middle-9') }));
    expect(message).toContain('key "region" has value "eu-middle-9": must be an AWS region code');
  });

  test('fails on an availability zone that is not in the region', () => {
    const message = loadError(
      configWith({ 'environments/dev.json': (j) => (network(j).availabilityZones = ['eu-west-1a', 'us-east-1b']) }),
    );
    expect(message).toContain('key "network.availabilityZones[1]" has value "us-east-1b"');
    expect(message).toContain('is not an availability zone of region eu-west-1');
  });

  test('fails on an invalid CIDR', () => {
    const message = loadError(configWith({ 'environments/dev.json': (j) => (network(j).vpcCidr = '10.10.0.1/16') }));
    expect(message).toContain('key "network.vpcCidr" has value "10.10.0.1/16"');
    expect(message).toContain('host bits are zero');
  });

  test('fails on CIDRs that overlap across environments', () => {
    const message = loadError(configWith({ 'environments/test.json': (j) => (network(j).vpcCidr = '10.10.128.0/17') }));
    expect(message).toContain('environments/test.json: key "network.vpcCidr" has value "10.10.128.0/17"');
    expect(message).toContain('overlaps 10.10.0.0/16 of dev');
  });

  test('fails on duplicate environment names', () => {
    const dir = configWith({});
    cpSync(path.join(dir, 'environments/dev.json'), path.join(dir, 'environments/dev2.json'));
    const copy = JSON.parse(readFileSync(path.join(dir, 'environments/dev2.json'), 'utf8')) as Json;
    copy.branch = 'dev2';
    (copy.network as Json).vpcCidr = '10.40.0.0/16';
    writeFileSync(path.join(dir, 'environments/dev2.json'), JSON.stringify(copy));
    const message = loadError(dir);
    expect(message).toContain('environments/dev2.json: key "name" has value "dev": already used by');
  });

  test('fails on two environments deploying from the same branch', () => {
    const message = loadError(configWith({ 'environments/test.json': (j) => (j.branch = 'dev') }));
    expect(message).toContain('key "branch" has value "dev": already deploys dev');
  });

  test('fails on an unknown source type', () => {
    const message = loadError(configWith({ 'platform.json': (j) => ((j.source as Json).type = 'gitlab') }));
    expect(message).toContain('key "source.type" has value "gitlab": is not a known source type');
    expect(message).toContain('"github-connection" (recommended), "github-token" or "codecommit"');
  });

  test('fails on a production environment without manual approval', () => {
    const message = loadError(configWith({ 'environments/prod.json': (j) => (j.approval = { manual: false }) }));
    expect(message).toContain('environments/prod.json: key "approval.manual" has value false');
    expect(message).toContain('approval.waiver');
  });

  test('accepts a production environment without approval when the waiver explains why', () => {
    const dir = configWith({
      'environments/prod.json': (j) =>
        (j.approval = { manual: false, waiver: 'Continuous deployment agreed with audit' }),
    });
    expect(loadConfig(dir).environments[2].approval.manual).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  test('fails on an unknown key and suggests the closest one', () => {
    const message = loadError(
      configWith({
        'environments/dev.json': (j) => {
          network(j).natGateway = 1;
          delete network(j).natGateways;
        },
      }),
    );
    expect(message).toContain('key "network.natGateway" is not a known setting. Fix: did you mean "natGateways"?');
  });

  test('fails on an unknown top-level key in platform.json', () => {
    const message = loadError(configWith({ 'platform.json': (j) => (j.prefx = 'dp') }));
    expect(message).toContain('key "prefx" is not a known setting. Fix: did you mean "prefix"?');
  });

  test('fails when an environment name does not match its file name', () => {
    const message = loadError(configWith({ 'environments/test.json': (j) => (j.name = 'staging') }));
    expect(message).toContain('key "name" has value "staging": must match the file name');
  });

  test('fails when the pipeline order does not list every environment', () => {
    const message = loadError(
      configWith({ 'platform.json': (j) => ((j.pipeline as Json).environmentOrder = ['dev', 'prod']) }),
    );
    expect(message).toContain('key "pipeline.environmentOrder"');
    expect(message).toContain('missing test');
  });

  test('fails on more NAT gateways than availability zones', () => {
    const message = loadError(configWith({ 'environments/dev.json': (j) => (network(j).natGateways = 3) }));
    expect(message).toContain('key "network.natGateways" has value 3: is more than the 2 availability zones');
  });

  test('fails on an upload size limit above what one S3 PUT can write', () => {
    const message = loadError(
      configWith({ 'environments/dev.json': (j) => (j.api = { ...(j.api as Json), maxUploadBytes: 6_000_000_000 }) }),
    );
    expect(message).toContain(
      '/environments/dev.json: key "api.maxUploadBytes" has value 6000000000: must be at most 5368709120 (5 GiB), the largest object one S3 PUT can write. Fix: lower it',
    );
  });

  test('fails on a login rotation interval Secrets Manager would refuse, naming file, key, value and fix', () => {
    for (const days of [0, 366, 1.5]) {
      const message = loadError(
        configWith({
          'environments/test.json': (j) => (j.dataMart = { ...(j.dataMart as Json), loginRotationDays: days }),
        }),
      );
      expect(message).toContain('environments/test.json');
      expect(message).toContain(`key "dataMart.loginRotationDays" has value ${days}`);
      expect(message).toContain('Fix:');
    }
    expect(loadConfig(path.join(REPO_ROOT, 'config')).environments.map((e) => e.dataMart.loginRotationDays)).toEqual([
      30, 30, 30,
    ]);
  });

  test('fails on a missing required key', () => {
    const message = loadError(configWith({ 'environments/dev.json': (j) => delete j.alarms }));
    expect(message).toContain('key "alarms" is missing: is required');
  });

  test('fails on invalid JSON with the file name', () => {
    const dir = configWith({});
    writeFileSync(path.join(dir, 'environments/dev.json'), '{ "name": "dev", }');
    expect(loadError(dir)).toMatch(
      /environments\/dev\.json: is not valid JSON: unexpected "}" at line 1, column 18: .*Fix:/,
    );
  });

  test('fails on an existing KMS key from another account', () => {
    const message = loadError(
      configWith({
        'environments/dev.json': (j) =>
          ((j.storage as Json).existingKmsKeyArn =
            'arn:aws:kms:eu-west-1:999999999999:key/0a1b2c3d-0000-4000-8000-000000000000'),
      }),
    );
    expect(message).toContain("is not in this environment's account and region (222222222222, eu-west-1)");
  });

  test('fails on an event buffer Firehose does not accept, naming the key and the range', () => {
    const message = loadError(
      configWith({ 'environments/dev.json': (j) => (j.events = { bufferSizeMiB: 256, bufferIntervalSeconds: 60 }) }),
    );
    expect(message).toMatch(/environments\/dev\.json: key "events\.bufferSizeMiB" has value 256: .*Fix: 1 to 128/);
  });

  test('defaults the event buffering where an environment does not set it', () => {
    const prod = loadConfig(path.join(REPO_ROOT, 'config')).environments[2];
    expect(prod.events).toEqual({ bufferSizeMiB: 64, bufferIntervalSeconds: 300 });
  });

  test('fails on a dataset whose primary key is not a column', () => {
    const message = loadError(configWith({ 'datasets/clicks.json': (j) => (j.primaryKey = ['click_uuid']) }));
    expect(message).toContain('datasets/clicks.json: key "primaryKey[0]" has value "click_uuid"');
    expect(message).toContain('is not a column of the dataset');
  });

  test('fails on a dataset column with an unknown type', () => {
    const message = loadError(configWith({ 'datasets/clicks.json': (j) => ((j.columns as Json[])[5].type = 'money') }));
    expect(message).toContain('key "columns[5].type" has value "money"');
  });

  test('reports every problem at once, one per line', () => {
    const message = loadError(
      configWith({
        'environments/dev.json': (j) => {
          j.account = 'x';
          j.region = 'nowhere';
        },
      }),
    );
    expect(message).toMatch(/^Invalid configuration \(\d+ problems\):\n {2}- /);
  });
});

describe('CIDR helpers', () => {
  test('parse only network addresses with a /16 to /24 prefix', () => {
    expect(parseCidr('10.0.0.0/16')).toEqual({ network: 0x0a000000, prefix: 16 });
    expect(parseCidr('10.0.0.0/8')).toBeUndefined();
    expect(parseCidr('256.0.0.0/16')).toBeUndefined();
    expect(parseCidr('10.0.1.0/16')).toBeUndefined();
  });

  test('detect overlap in both directions and not between disjoint ranges', () => {
    expect(cidrsOverlap('10.0.0.0/16', '10.0.128.0/24')).toBe(true);
    expect(cidrsOverlap('10.0.128.0/24', '10.0.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/16', '10.1.0.0/16')).toBe(false);
  });
});

describe('loadConfig: operations (metric dimensions, ratios, freshness, audit trail)', () => {
  const metrics = (json: Json) => json.metrics as { dimensions: Json[]; ratios: Json[] };

  test('loads the example: dimensions and ratio of the datasets, freshness default, audit trail per environment', () => {
    const config = loadConfig(path.join(REPO_ROOT, 'config'));
    const clicks = config.datasets.find((d) => d.name === 'clicks')!;
    expect(clicks.metrics).toEqual({
      dimensions: [{ column: 'is_fraud_suspected' }],
      ratios: [{ label: 'Click-through rate', denominator: 'impressions' }],
    });
    const [dev, , prod] = config.environments;
    // Default: batch wait + Glue timeout + 16 minutes of mart load + 30.
    expect(dev.etl.freshnessAlarmMinutes).toBe(5 + 30 + 16 + 30);
    expect(prod.etl.freshnessAlarmMinutes).toBe(15 + 120 + 16 + 30);
    expect(dev.auditTrail).toEqual({ type: 'create', retentionDays: 30 });
    expect(prod.auditTrail).toEqual({ type: 'create', retentionDays: 365 });
  });

  test('fails on a metric dimension of a numeric column (unbounded values), naming file, key, value and fix', () => {
    const message = loadError(
      configWith({ 'datasets/clicks.json': (j) => (metrics(j).dimensions = [{ column: 'campaign_id' }]) }),
    );
    expect(message).toContain('datasets/clicks.json: key "metrics.dimensions[0].column" has value "campaign_id"');
    expect(message).toContain('has type bigint');
    expect(message).toContain('Fix: pick a string column with an enum');
  });

  test('fails on more than two dimension columns', () => {
    const message = loadError(
      configWith({
        'datasets/impressions.json': (j) =>
          (metrics(j).dimensions = [{ column: 'placement' }, { column: 'device_type' }, { column: 'viewable' }]),
      }),
    );
    expect(message).toContain('key "metrics.dimensions"');
    expect(message).toContain('must name at most 2 columns');
  });

  test('fails on a string dimension without enum or values, and on a value outside the enum', () => {
    const message = loadError(
      configWith({
        'datasets/impressions.json': (j) =>
          (metrics(j).dimensions = [{ column: 'country' }, { column: 'placement', values: ['banner', 'popup'] }]),
      }),
    );
    expect(message).toContain('key "metrics.dimensions[0].values" is missing');
    expect(message).toContain('its values are unbounded. Fix: list up to 10 values');
    expect(message).toContain(
      'key "metrics.dimensions[1].values[1]" has value "popup": is not in the enum of placement',
    );
  });

  test('fails on more than ten values for one dimension', () => {
    const values = Array.from({ length: 11 }, (_, i) => `C${i}`);
    const message = loadError(
      configWith({ 'datasets/impressions.json': (j) => (metrics(j).dimensions = [{ column: 'country', values }]) }),
    );
    expect(message).toContain('key "metrics.dimensions[0].values"');
    expect(message).toContain('must list at most 10 values');
  });

  test('fails on a dimension column named like a dimension every metric has', () => {
    const message = loadError(
      configWith({
        'datasets/impressions.json': (j) => {
          (j.columns as Json[]).push({ name: 'service', type: 'string', enum: ['a', 'b'] });
          metrics(j).dimensions = [{ column: 'service' }];
        },
      }),
    );
    expect(message).toContain('key "metrics.dimensions[0].column" has value "service"');
    expect(message).toContain('is a dimension every stage A metric already has');
  });

  test('fails on a ratio over a dataset that is not configured', () => {
    const message = loadError(
      configWith({ 'datasets/clicks.json': (j) => (metrics(j).ratios = [{ label: 'CTR', denominator: 'views' }]) }),
    );
    expect(message).toContain('datasets/clicks.json: key "metrics.ratios[0].denominator" has value "views"');
    expect(message).toContain('Fix: use one of clicks, impressions');
  });

  test('fails on a freshness threshold a healthy batch would cross', () => {
    const message = loadError(
      configWith({ 'environments/dev.json': (j) => ((j.etl as Json).freshnessAlarmMinutes = 40) }),
    );
    expect(message).toContain('environments/dev.json: key "etl.freshnessAlarmMinutes" has value 40');
    expect(message).toContain('(51 minutes: etl.batch.maxWaitMinutes 5 + etl.glueTimeoutMinutes 30 + 16');
    expect(message).toContain('Fix: at least 52');
  });

  test('fails on a production audit trail kept less than a year, and on an unknown trail type', () => {
    const short = loadError(
      configWith({ 'environments/prod.json': (j) => (j.auditTrail = { type: 'create', retentionDays: 90 }) }),
    );
    expect(short).toContain('environments/prod.json: key "auditTrail.retentionDays" has value 90');
    expect(short).toContain('Fix: at least 365');
    const unknown = loadError(configWith({ 'environments/dev.json': (j) => (j.auditTrail = { type: 'lake' }) }));
    expect(unknown).toContain('key "auditTrail.type"');
    expect(unknown).toContain('Fix: use "create" or "organization"');
  });
});
