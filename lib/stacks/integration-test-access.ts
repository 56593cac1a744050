/**
 * Everything the post-deploy integration test (scripts/integration-test.ts) may do beyond the inspection policy the
 * Iam stack gives its role, in one place. The stage calls {@link grantIntegrationTest} once, after every stack
 * exists, instead of each stack taking the role as a prop: the list of what the test may touch reads top to bottom
 * here, and no stack's props carry a role only the test uses.
 *
 * Each policy is a `GrantPolicy` of the stack that owns the resources it names (the role's own policy, in the Iam
 * stack, must not name resources of later stacks: a cycle), under a fixed construct ID:
 * - Catalog: `IntegrationTestQueryPolicy` (CatalogStack.grantCuratedQuery);
 * - Api: `InvokePolicy` (IAM auth), `TestUsersPolicy` (a user pool created by the stack), `DataPathTestPolicy`.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { martBatchPrefix } from '../../lambda/batch/contract';
import { GrantPolicy } from '../constructs/grant-policy';
import { acknowledgeWildcardResources } from '../constructs/nag-acknowledgements';
import { API_STAGE_NAME, type ApiStack } from './api-stack';
import type { CatalogStack } from './catalog-stack';
import type { MartAccess } from './data-mart-stack';
import type { StorageStack } from './storage-stack';

/** The stacks of one environment whose resources the integration test uses. */
export interface IntegrationTestTargets {
  readonly api: ApiStack;
  readonly catalog: Pick<CatalogStack, 'grantCuratedQuery'>;
  /** The test logs in to the mart as the loader (there is no tester login: see lambda/shared/mart-contract.ts). */
  readonly dataMart: MartAccess;
  readonly storage: Pick<StorageStack, 'zones'>;
  /** Every configured dataset: the test's samples are of the mart-enabled ones. */
  readonly datasets: readonly DatasetConfig[];
  readonly environment: EnvironmentConfig;
}

/** Grants `role` (IamStack.integrationTestRole) what the integration test needs, in the stacks that own it. */
export function grantIntegrationTest(role: iam.IRole, targets: IntegrationTestTargets): void {
  // It queries the curated table of its sample through the workgroup, as an analyst would.
  targets.catalog.grantCuratedQuery('IntegrationTestQueryPolicy', role);
  grantIntegrationTestApi(role, targets);
}

/**
 * The Api stack's share of {@link grantIntegrationTest}: calling the API, and the data path behind it. On its own for
 * the tests of the Api stack, which build no Catalog stack.
 */
export function grantIntegrationTestApi(role: iam.IRole, targets: Omit<IntegrationTestTargets, 'catalog'>): void {
  allowApiCalls(role, targets.api, targets.environment);
  allowDataPathTest(role, targets);
}

/**
 * With IAM auth the test signs its requests: execute-api:Invoke on the stage. With a user pool the stack creates, it
 * manages throwaway test users in it and signs them in. (An existing pool or authorizer gives it no identity.)
 */
function allowApiCalls(role: iam.IRole, api: ApiStack, environment: EnvironmentConfig): void {
  const { auth } = environment.api;
  if (auth.type === 'iam') {
    const everyRoute = api.api.arnForExecuteApi('*', '/*', API_STAGE_NAME);
    const invokePolicy = new iam.Policy(api, 'InvokePolicy', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [everyRoute] })],
    });
    acknowledgeWildcardResources(invokePolicy, [
      {
        resource: everyRoute,
        reason: 'Every route of this API on its one stage: the test calls the whole API (all routes require IAM auth)',
      },
    ]);
  }
  const pool = api.auth.userPool;
  if (auth.type === 'cognito' && pool) {
    pool.grant(
      new GrantPolicy(api, 'TestUsersPolicy', { roles: [role] }),
      'cognito-idp:AdminCreateUser',
      'cognito-idp:AdminSetUserPassword',
      'cognito-idp:AdminInitiateAuth',
      'cognito-idp:AdminDeleteUser',
    );
  }
}

/**
 * What the data-path check (scripts/integration-test/checks/data-path.ts) needs beyond calling the API: follow its
 * run and batch in audit, query the mart and delete its own sample rows through the Data API as the loader login
 * (never the master; single statements), remove its batch's `_mart/` CSV from curated, and, when the environment's
 * auth gives the test no identity for the API, put its sample straight into landing. It follows the batch through
 * audit only, so it needs no Step Functions permission. In the Api stack, which already depends on Storage and
 * DataMart.
 */
function allowDataPathTest(role: iam.IRole, targets: Omit<IntegrationTestTargets, 'catalog'>): void {
  const { api, dataMart, environment } = targets;
  const { curated, landing } = targets.storage.zones;
  const datasets = targets.datasets.filter((dataset) => dataset.mart.enabled).map((dataset) => dataset.name);
  if (datasets.length === 0) return;
  const policy = new GrantPolicy(api, 'DataPathTestPolicy', { roles: [role] });
  // As the loader, single statements only.
  dataMart.grantDataApi(policy, 'loader', { transactions: false });
  // `_mart/<dataset>/batch_id=*/*`: the CSV of any batch of the dataset (the test's batch id is known only at run time).
  for (const name of datasets) {
    curated.grantDelete(
      policy,
      `${martBatchPrefix(name, '*')}*`,
      "The mart batches of this dataset under curated _mart/: the test removes its own batch's CSV",
    );
  }
  const auth = environment.api.auth;
  // No identity for the API (existing pool or authorizer), or a pool whose MFA a throwaway user cannot answer.
  const putsIntoLanding =
    auth.type === 'cognito-existing' ||
    auth.type === 'lambda-authorizer' ||
    (auth.type === 'cognito' && auth.mfa === 'required');
  if (putsIntoLanding) {
    for (const name of datasets) {
      landing.grantWrite(
        policy,
        `${name}/ingest_date=*`,
        'New objects of this dataset under landing/<dataset>/ingest_date=*/, as the API writes them',
        { multipart: false },
      );
    }
  }
}
