/**
 * Every function of an environment gets exactly the variables its contract names: each `*_ENV` object exported by
 * lambda/<function>/contract.ts, plus the mart connection (MART_CONNECTION_ENV) for the functions that reach the mart
 * and PlatformFunction's own (Powertools, source maps). A variable a stack sets that no contract names, or one a
 * contract names that the stack forgets, fails here instead of at the function's first cold start.
 */
import { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { PlatformFunction } from '../../../lib/constructs/platform-function';
import { MART_CONNECTION_ENV } from '../../../lambda/shared/mart-contract';
import { DataPlatformStage } from '../../../stages/data-platform-stage';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';

const PLATFORM_VARIABLES = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS'];
const MART_VARIABLES = Object.values(MART_CONNECTION_ENV);

/** The variable names of every `*_ENV` object a function's contract exports. */
function contractVariables(handlerDir: string): string[] {
  const contract = require(`../../../lambda/${handlerDir}/contract`) as Record<string, unknown>;
  return Object.entries(contract)
    .filter(([name]) => name.endsWith('_ENV'))
    .flatMap(([, names]) => Object.values(names as Record<string, string>));
}

function platformFunctions(): PlatformFunction[] {
  const config = exampleConfig();
  const stage = new DataPlatformStage(testApp(), 'Stage', {
    platform: config.platform,
    environment: exampleEnvironment('prod'),
    datasets: config.datasets,
  });
  return stage.node.findAll().filter((construct) => construct instanceof PlatformFunction);
}

function variablesOf(fn: PlatformFunction): string[] {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const environment = Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
  return Object.keys(environment?.variables ?? {});
}

const functions = platformFunctions();

test('the stage has every function of lambda/', () => {
  expect([...new Set(functions.map((fn) => fn.handlerDir))].sort()).toEqual([
    'batch',
    'export-request',
    'export-status',
    'export-worker',
    'job-auditor',
    'load-mart',
    'mart-query',
    'migrate',
    'rotate-mart-secret',
    'upload-url',
    'validate',
  ]);
});

/** What the stack sets that the function's contract does not name, and what the contract names that is not set. */
function environmentDrift(fn: PlatformFunction): { unexpected: string[]; missing: string[] } {
  const set = variablesOf(fn);
  const reachesMart = MART_VARIABLES.some((name) => set.includes(name));
  const allowed = [...PLATFORM_VARIABLES, ...contractVariables(fn.handlerDir), ...(reachesMart ? MART_VARIABLES : [])];
  return {
    unexpected: set.filter((name) => !allowed.includes(name)),
    missing: allowed.filter((name) => !set.includes(name)),
  };
}

test.each(functions.map((fn) => [fn.node.path, fn] as const))('%s gets the variables of its contract', (_, fn) => {
  expect(environmentDrift(fn)).toEqual({ unexpected: [], missing: [] });
});

test('a variable no contract names, or one left unset, is drift (so the check above can fail)', () => {
  const upload = functions.find((fn) => fn.handlerDir === 'upload-url') as PlatformFunction;
  upload.addEnvironment('EXPORTS_TABLE', 'stray');
  expect(environmentDrift(upload).unexpected).toEqual(['EXPORTS_TABLE']);
  const status = functions.find((fn) => fn.handlerDir === 'export-status') as PlatformFunction;
  const cfn = status.node.defaultChild as lambda.CfnFunction;
  const { variables } = Stack.of(status).resolve(cfn.environment) as { variables: Record<string, string> };
  delete variables.URL_EXPIRY_SECONDS;
  cfn.environment = { variables };
  expect(environmentDrift(status).missing).toEqual(['URL_EXPIRY_SECONDS']);
});
