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
