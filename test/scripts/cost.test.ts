/**
 * `npm run cost`: the fixed monthly cost at idle of a small committed cloud assembly (test/fixtures/cost: a pipeline
 * stack in the deployment account, one stage with a nested stack), line by line, and of the example config, whose
 * Markdown table the README shows.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { addPipelines } from '../../lib/pipeline/pipelines';
import { DEV_IDLE_BUDGET, runCost } from '../../scripts/cost';
import { readAssembly } from '../../scripts/cost/assembly';
import { kmsKeyMonthly } from '../../scripts/cost/catalog';
import { budgetCheck, costByAccount, FREE_TIER_ITEM, formatMarkdown } from '../../scripts/cost/report';
import { exampleConfig, featureFlags, REPO_ROOT } from '../helpers/app';
import { createDataPlatformStage } from '../../stages/data-platform-stage';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'cost');

describe('cost of the fixture assembly', () => {
  const accounts = costByAccount(readAssembly(FIXTURE));
  const dev = accounts.find((account) => account.label === 'Dev')!;
  const deployment = accounts.find((account) => account.label === 'deployment')!;

  test('has one section per account: the stage, then the deployment account of the pipeline stack', () => {
    expect(accounts.map((a) => [a.label, a.account, a.regions])).toEqual([
      ['Dev', '222222222222', ['eu-west-1']],
      ['deployment', '111111111111', ['eu-west-1']],
    ]);
  });

  test('prices every line of the stage exactly, nested stack included, free tier deducted once', () => {
    expect(dev.lines.map((line) => [line.item, line.quantity, line.year1, line.year3])).toEqual([
      ['Aurora Serverless v2 reader (minimum 1 ACU)', 1, 87.6, 87.6],
      ['Aurora Serverless v2 writer (minimum 1 ACU)', 1, 87.6, 87.6],
      ['NAT gateway', 1, 32.85, 32.85],
      ['VPC interface endpoint (per AZ)', 2, 14.6, 14.6],
      ['CloudWatch dashboard', 4, 12, 12],
      ['WAF web ACL', 1, 5, 5],
      ['Public IPv4 address (Elastic IP)', 1, 3.65, 3.65],
      ['KMS key (rotated every 90 days)', 1, 3, 3],
      ['KMS key (rotated every 365 days)', 1, 1, 3],
      ['WAF rule', 2, 2, 2],
      ['KMS key (not rotated)', 1, 1, 1],
      // One in the stack, one in its nested stack.
      ['Secrets Manager secret', 2, 0.8, 0.8],
      // 1 (single metric) + 2 (metric math over two metrics) + 3 (anomaly detection band).
      ['CloudWatch alarm metric (standard resolution)', 6, 0.6, 0.6],
      ['CloudWatch composite alarm', 1, 0.5, 0.5],
      ['Secrets Manager secret (RDS-managed master secret)', 1, 0.4, 0.4],
      // The nested stack's secret is replicated to a second region.
      ['Secrets Manager secret replica', 1, 0.4, 0.4],
      ['CloudWatch alarm metric (high resolution)', 1, 0.3, 0.3],
      ['CloudTrail trail', 1, 0, 0],
      // 3 of the 4 dashboards ($9) and the 6 standard alarm metrics ($0.60).
      [FREE_TIER_ITEM, 1, -9.6, -9.6],
    ]);
    expect([dev.year1, dev.year3]).toEqual([243.7, 245.7]);
  });

  test('lists what it cannot price as unpriced, never as $0', () => {
    expect(dev.unpriced.map((line) => [line.type, line.resources])).toEqual([
      ['AWS::CloudFormation::Stack', ['App/Dev/Main/Lost']],
      ['AWS::WAFv2::WebACL', ['App/Dev/Main/WebAcl']],
      ['AWS::Foo::Bar', ['App/Dev/Main/Mystery']],
      ['AWS::Glue::TableOptimizer', ['App/Dev/Main/Maintenance/Retention']],
    ]);
    expect(dev.free.map((entry) => [entry.type, entry.count])).toEqual([
      ['AWS::CloudFormation::Stack', 1],
      ['AWS::EC2::VPCEndpoint', 1],
      ['AWS::Glue::TableOptimizer', 1],
      ['AWS::IAM::Role', 1],
      ['AWS::SQS::Queue', 1],
    ]);
  });

  test('prices the deployment account: a V1 pipeline $1, a V2 pipeline $0 at idle, its key with rotation', () => {
    expect(deployment.lines.map((line) => [line.item, line.quantity, line.year1, line.year3])).toEqual([
      ['KMS key (rotated every 365 days)', 1, 1, 3],
      ['CodePipeline V1 pipeline', 1, 1, 1],
      ['CodePipeline V2 pipeline', 1, 0, 0],
    ]);
    expect([deployment.year1, deployment.year3]).toEqual([2, 4]);
  });

  test('prints the totals of every account and the budget check', () => {
    const printed: string[] = [];
    expect(runCost(['--assembly', FIXTURE], (text) => printed.push(text))).toBe(0);
    const output = printed.join('\n');
    expect(output).toMatch(/All accounts\s+\$245\.70\s+\$249\.70\s+4/);
    expect(printed.at(-1)).toBe(
      'Dev idle budget: $245.70/month in year 3, including the KMS rotation surcharge, against $5.00: OVER BUDGET (4 unpriced resource(s) not included)',
    );
  });
});

describe('KMS rotation surcharge', () => {
  test('a yearly rotated key costs $1, $2, then $3 a month; a key rotated every 90 days reaches $3 in year 1', () => {
    expect([1, 2, 3, 4].map((year) => kmsKeyMonthly(365, year))).toEqual([1, 2, 3, 3]);
    expect([1, 3].map((year) => kmsKeyMonthly(90, year))).toEqual([3, 3]);
    expect([1, 3].map((year) => kmsKeyMonthly(undefined, year))).toEqual([1, 1]);
  });
});

test('fails with the fix when there is no cloud assembly', () => {
  const printed: string[] = [];
  expect(runCost(['--assembly', path.join(FIXTURE, 'missing')], (text) => printed.push(text))).toBe(2);
  expect(printed).toEqual([
    `ERROR: ${path.join(FIXTURE, 'missing', 'manifest.json')} not found: no cloud assembly in ${path.join(FIXTURE, 'missing')}. Fix: run \`npx cdk synth -q\` first (or pass --assembly <dir>)`,
  ]);
});

describe('cost of the example config', () => {
  let outdir: string;
  let markdown: string;
  let devYear3: number;
  let devCheck: string;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'cost-synth-'));
    // As `cdk synth` writes it (path and asset metadata on), without bundling the Lambda assets.
    const app = new App({
      outdir,
      context: {
        ...featureFlags(),
        'aws:cdk:bundling-stacks': [],
        'aws:cdk:enable-asset-metadata': true,
        'aws:cdk:enable-path-metadata': true,
      },
    });
    addPipelines(app, exampleConfig(), createDataPlatformStage);
    app.synth();
    const accounts = costByAccount(readAssembly(outdir));
    markdown = formatMarkdown(accounts);
    const dev = accounts.find((account) => account.label === 'Dev')!;
    devYear3 = dev.year3;
    devCheck = budgetCheck(dev, DEV_IDLE_BUDGET);
  }, 180_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test('Dev idles under $5 a month including the KMS rotation surcharge of year 3', () => {
    expect(devYear3).toBeLessThan(DEV_IDLE_BUDGET);
    expect(devCheck).toContain(': OK');
  });

  test('the README table ("What an environment costs") is the output of `npm run cost -- --markdown`', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const table = /<!-- cost-table:begin[^>]*-->\n([\s\S]*?)\n<!-- cost-table:end -->/.exec(readme)?.[1];
    expect(table).toBe(markdown);
  });
});
