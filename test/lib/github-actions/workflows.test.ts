/**
 * The GitHub Actions workflows (`npm run workflows`): their structure for both pipeline modes and both approval
 * settings, the committed files being up to date, and their validity per @action-validator/cli.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AppConfig, EnvironmentConfig } from '../../../config/schema';
import { generatedFiles } from '../../../lib/github-actions/render';
import { ACTIONS, type Job, type Step, workflowsFor } from '../../../lib/github-actions/workflows';
import { staleFiles } from '../../../scripts/workflows';
import { exampleConfig, REPO_ROOT } from '../../helpers/app';

/** The example config with the GitHub engine, in `mode`, with environment edits. */
function gitHubConfig(
  mode: 'branch-per-environment' | 'promotion' = 'branch-per-environment',
  editEnvironment: (environment: EnvironmentConfig) => EnvironmentConfig = (environment) => environment,
): AppConfig {
  const example = structuredClone(exampleConfig());
  return {
    ...example,
    platform: {
      ...example.platform,
      delivery: { engine: 'github-actions', github: {} },
      pipeline: { ...example.platform.pipeline, mode },
    },
    environments: example.environments.map(editEnvironment),
  };
}

const runs = (job: Job) => job.steps.flatMap((step) => (step.run ? [step.run] : []));
const stepNamed = (job: Job, name: string): Step => {
  const step = job.steps.find((candidate) => candidate.name === name);
  if (!step) throw new Error(`no step "${name}" in job "${job.name}": ${job.steps.map((s) => s.name).join(', ')}`);
  return step;
};
const usesOf = (job: Job) => job.steps.flatMap((step) => (step.uses ? [step.uses] : []));

describe('branch-per-environment workflows', () => {
  const workflows = workflowsFor(gitHubConfig());
  const byFile = Object.fromEntries(workflows.map((w) => [w.file, w.workflow]));

  test('one workflow per environment, run by a push to its branch', () => {
    expect(workflows.map((w) => w.file)).toEqual(['deploy-dev.yml', 'deploy-test.yml', 'deploy-prod.yml']);
    expect(byFile['deploy-dev.yml'].on).toEqual({ push: { branches: ['dev'] } });
    expect(byFile['deploy-test.yml'].on).toEqual({ push: { branches: ['test'] } });
    expect(byFile['deploy-prod.yml'].on).toEqual({ push: { branches: ['main'] } });
  });

  test('asks for an OIDC token and read access to the code, nothing else', () => {
    for (const { workflow } of workflows)
      expect(workflow.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
  });

  test('tests once, then deploys the environment: synth, OIDC role, cdk deploy of its stage, integration test', () => {
    const { jobs } = byFile['deploy-dev.yml'];
    expect(Object.keys(jobs)).toEqual(['test', 'deploy-dev']);
    expect(runs(jobs.test)).toEqual(['npm ci', 'npm test']);
    const deploy = jobs['deploy-dev'];
    expect(deploy.needs).toEqual(['test']);
    expect(runs(deploy)).toEqual([
      'npm ci',
      'npx cdk synth --quiet',
      "npx cdk deploy --app cdk.out 'Dev/*' --require-approval never",
      'npx tsx scripts/integration-test.ts --env dev --from-stacks',
    ]);
    expect(stepNamed(deploy, 'Integration test').env).toEqual({
      INTEGRATION_TEST_ROLE_ARN: 'arn:aws:iam::222222222222:role/dp-dev-integration-test',
    });
    expect(stepNamed(deploy, 'Assume dp-dev-github-deploy (OIDC)').with).toMatchObject({
      'role-to-assume': 'arn:aws:iam::222222222222:role/dp-dev-github-deploy',
      'aws-region': 'eu-west-1',
    });
    // Credentials only after synth: npm ci, npm test and cdk synth run without any AWS access.
    const names = deploy.steps.map((step) => step.name);
    expect(names.indexOf('Assume dp-dev-github-deploy (OIDC)')).toBe(names.indexOf('Synthesize') + 1);
  });

  test('sets up Node.js 22 with the npm cache and keeps no git credentials', () => {
    const deploy = byFile['deploy-dev.yml'].jobs['deploy-dev'];
    expect(stepNamed(deploy, 'Set up Node.js').with).toEqual({ 'node-version': 22, cache: 'npm' });
    expect(stepNamed(deploy, 'Check out').with).toEqual({ 'persist-credentials': false });
  });

  test('deploys an environment one run at a time, without cancelling a deploy in progress', () => {
    expect(byFile['deploy-dev.yml'].jobs['deploy-dev'].concurrency).toEqual({
      group: 'deploy-dp-dev',
      'cancel-in-progress': false,
    });
    expect(byFile['deploy-prod.yml'].jobs['deploy-prod'].concurrency?.group).toBe('deploy-dp-prod');
  });

  test('pins every action by a full commit SHA', () => {
    const all = workflows.flatMap(({ workflow }) => Object.values(workflow.jobs).flatMap(usesOf));
    expect(all.length).toBeGreaterThan(0);
    for (const used of all) expect(used).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    expect(new Set(all)).toEqual(new Set(Object.values(ACTIONS).map((action) => `${action.name}@${action.sha}`)));
  });

  test('runs deploy and diff jobs only in the configured repository, not in forks', () => {
    const prod = byFile['deploy-prod.yml'].jobs;
    expect(prod['deploy-prod'].if).toBe("github.repository == 'my-org/data-platform'");
    expect(prod['diff-prod'].if).toBe("github.repository == 'my-org/data-platform'");
  });

  test('an environment without approval deploys outside any GitHub Environment and has no diff job', () => {
    const { jobs } = byFile['deploy-test.yml'];
    expect(Object.keys(jobs)).toEqual(['test', 'deploy-test']);
    expect(jobs['deploy-test'].environment).toBeUndefined();
  });

  test('production with approval: cdk diff to the run summary and broadening check, then the deploy in its GitHub Environment', () => {
    const { jobs } = byFile['deploy-prod.yml'];
    expect(Object.keys(jobs)).toEqual(['test', 'diff-prod', 'deploy-prod']);
    expect(jobs['deploy-prod'].environment).toEqual({ name: 'prod' });
    expect(jobs['deploy-prod'].needs).toEqual(['test', 'diff-prod']);
    const diff = jobs['diff-prod'];
    expect(stepNamed(diff, 'Assume dp-prod-github-diff (OIDC)').with?.['role-to-assume']).toBe(
      'arn:aws:iam::444444444444:role/dp-prod-github-diff',
    );
    const summary = stepNamed(diff, 'Diff to the run summary').run ?? '';
    expect(summary).toContain("npx cdk diff --app cdk.out 'Prod/*' --method template 2>&1");
    expect(summary).toContain('>> "$GITHUB_STEP_SUMMARY"');
    const broadening = stepNamed(diff, 'Permissions broadening check').run ?? '';
    expect(broadening).toContain(
      "npx cdk diff --app cdk.out 'Prod/*' --method template --security-only --fail-on broadening",
    );
    expect(broadening).toContain('GITHUB_STEP_SUMMARY');
    // The reviewers see the warning and decide; the job does not stop the run.
    expect(broadening).toContain('::warning title=Permissions broadening::');
    expect(broadening).not.toContain('exit 1');
  });

  test('production without approval (waiver): no GitHub Environment, and a broadening change stops the run', () => {
    const config = gitHubConfig('branch-per-environment', (environment) =>
      environment.production
        ? { ...environment, approval: { manual: false, waiver: 'Continuous deployment agreed with audit' } }
        : environment,
    );
    const prod = workflowsFor(config).find((w) => w.file === 'deploy-prod.yml')!.workflow;
    expect(prod.jobs['deploy-prod'].environment).toBeUndefined();
    const broadening = stepNamed(prod.jobs['diff-prod'], 'Permissions broadening check').run ?? '';
    expect(broadening).toContain('::error title=Permissions broadening::');
    expect(broadening).toContain('exit 1');
  });

  test('a non-production environment with approval deploys in its GitHub Environment', () => {
    const config = gitHubConfig('branch-per-environment', (environment) =>
      environment.name === 'test' ? { ...environment, approval: { manual: true } } : environment,
    );
    const test = workflowsFor(config).find((w) => w.file === 'deploy-test.yml')!.workflow;
    expect(test.jobs['deploy-test'].environment).toEqual({ name: 'test' });
    expect(Object.keys(test.jobs)).toEqual(['test', 'deploy-test']);
  });
});

describe('promotion workflow', () => {
  const workflows = workflowsFor(gitHubConfig('promotion'));

  test('is one workflow on the promotion branch', () => {
    expect(workflows.map((w) => w.file)).toEqual(['deploy.yml']);
    expect(workflows[0].workflow.on).toEqual({ push: { branches: ['main'] } });
    expect(workflows[0].workflow.name).toBe('Deploy dev -> test -> prod');
  });

  test('deploys Dev -> Test -> Prod, each after the previous integration test passed, prod after its diff', () => {
    const { jobs } = workflows[0].workflow;
    expect(Object.keys(jobs)).toEqual(['test', 'deploy-dev', 'deploy-test', 'diff-prod', 'deploy-prod']);
    expect(jobs['deploy-dev'].needs).toEqual(['test']);
    expect(jobs['deploy-test'].needs).toEqual(['test', 'deploy-dev']);
    expect(jobs['diff-prod'].needs).toEqual(['test', 'deploy-test']);
    expect(jobs['deploy-prod'].needs).toEqual(['test', 'deploy-test', 'diff-prod']);
    // The integration test is the deploy job's last step: a failure stops the jobs that need it.
    for (const name of ['dev', 'test', 'prod']) {
      expect(runs(jobs[`deploy-${name}`]).at(-1)).toBe(
        `npx tsx scripts/integration-test.ts --env ${name} --from-stacks`,
      );
    }
    expect(jobs['deploy-prod'].environment).toEqual({ name: 'prod' });
  });

  test('keeps one concurrency group per environment', () => {
    const { jobs } = workflows[0].workflow;
    expect(['dev', 'test', 'prod'].map((name) => jobs[`deploy-${name}`].concurrency?.group)).toEqual([
      'deploy-dp-dev',
      'deploy-dp-test',
      'deploy-dp-prod',
    ]);
  });
});

describe('generated files', () => {
  test('none in .github/workflows/ with the CodePipeline engine (no second delivery); the example is under docs/', () => {
    const files = generatedFiles(exampleConfig());
    expect(files.map((file) => file.path)).toEqual([
      'docs/examples/github-actions/deploy-dev.yml',
      'docs/examples/github-actions/deploy-test.yml',
      'docs/examples/github-actions/deploy-prod.yml',
    ]);
  });

  test('the GitHub engine writes .github/workflows/, with each pinned version beside its SHA', () => {
    const files = generatedFiles(gitHubConfig('promotion'));
    expect(files.map((file) => file.path)).toEqual(['.github/workflows/deploy.yml']);
    expect(files[0].content).toMatch(/^# Generated by `npm run workflows`/);
    expect(files[0].content).toContain(
      `uses: ${ACTIONS.checkout.name}@${ACTIONS.checkout.sha} # ${ACTIONS.checkout.version}\n`,
    );
  });

  test('reports generated files the configuration no longer produces, never hand-written workflows', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'workflows-root-'));
    try {
      const files = generatedFiles(gitHubConfig('promotion'));
      mkdirSync(path.join(root, '.github', 'workflows'), { recursive: true });
      mkdirSync(path.join(root, 'docs', 'examples', 'github-actions'), { recursive: true });
      writeFileSync(path.join(root, files[0].path), files[0].content);
      // Left from branch-per-environment mode, and from the time the engine was CodePipeline:
      writeFileSync(path.join(root, '.github/workflows/deploy-dev.yml'), generatedFiles(gitHubConfig())[0].content);
      writeFileSync(
        path.join(root, 'docs/examples/github-actions/deploy-dev.yml'),
        generatedFiles(exampleConfig())[0].content,
      );
      writeFileSync(path.join(root, '.github/workflows/lint.yml'), 'name: lint\non: push\n');
      expect(staleFiles(files, root).sort()).toEqual([
        '.github/workflows/deploy-dev.yml',
        'docs/examples/github-actions/deploy-dev.yml',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('the committed files are what `npm run workflows` generates from config/', () => {
    const stale = staleFiles(generatedFiles(exampleConfig()), REPO_ROOT);
    if (stale.length > 0) throw new Error(`Stale generated workflows: ${stale.join(', ')}. Fix: run npm run workflows`);
    expect(stale).toEqual([]);
  });
});

describe('@action-validator/cli', () => {
  const cli = path.join(REPO_ROOT, 'node_modules', '@action-validator', 'cli', 'cli.mjs');
  const configs: [string, AppConfig][] = [
    ['the example', exampleConfig()],
    ['branch-per-environment', gitHubConfig()],
    ['promotion', gitHubConfig('promotion')],
    [
      'production with a waiver',
      gitHubConfig('promotion', (environment) =>
        environment.production
          ? { ...environment, approval: { manual: false, waiver: 'Agreed with audit' } }
          : environment,
      ),
    ],
  ];

  test.each(configs)('accepts every workflow generated for %s', (_, config) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'workflows-'));
    try {
      const files = generatedFiles(config);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const target = path.join(dir, path.basename(file.path));
        writeFileSync(target, file.content);
        const result = spawnSync(process.execPath, [cli, target], { encoding: 'utf8' });
        expect({ file: file.path, status: result.status, output: result.stdout + result.stderr }).toEqual({
          file: file.path,
          status: 0,
          output: '',
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses a workflow with a misspelt job key (the validator is not a no-op)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'workflows-'));
    try {
      const target = path.join(dir, 'broken.yml');
      writeFileSync(target, 'name: broken\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n');
      const result = spawnSync(process.execPath, [cli, target], { encoding: 'utf8' });
      expect(result.status).toBe(1);
      expect(result.stdout + result.stderr).toContain("Additional property 'stepz' is not allowed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
