/**
 * Who can read which data mart secret, over the synthesized IAM of a whole environment stage: every policy of every
 * stack (cross-stack references resolved to what they name), walked statement by statement.
 */
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { DataPlatformStage } from '../../stages/data-platform-stage';
import { exampleConfig, exampleEnvironment, testApp } from '../helpers/app';

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

/** A synthesized stage: templates by stack id, and a resolver of cross-stack references. */
function synthesize(envName: 'dev' | 'test' | 'prod') {
  const config = exampleConfig();
  const stage = new DataPlatformStage(testApp(), `Stage-${envName}`, {
    platform: config.platform,
    environment: exampleEnvironment(envName),
    datasets: config.datasets,
  });
  const stacks = stage.synth().stacks as CloudFormationStackArtifact[];
  const byName = new Map(stacks.map((stack) => [stack.stackName, stack]));
  const idOf = (stack: CloudFormationStackArtifact) => stack.stackName.split('-').pop() as string;

  /** Replaces Fn::GetStackOutput / Fn::ImportValue by the producing stack's output value, as `[stack, value]`. */
  function resolve(value: Json, stack: CloudFormationStackArtifact): { stack: string; value: Json } {
    const node = value as Record<string, Json> | null;
    const byOutput = node?.['Fn::GetStackOutput'] as { StackName: string; OutputName: string } | undefined;
    if (byOutput) {
      const producer = byName.get(byOutput.StackName);
      if (!producer) throw new Error(`unknown stack ${byOutput.StackName}`);
      return resolve(producer.template.Outputs[byOutput.OutputName].Value, producer);
    }
    const byExport = node?.['Fn::ImportValue'];
    if (typeof byExport === 'string') {
      for (const producer of stacks) {
        for (const output of Object.values<{ Value: Json; Export?: { Name: string } }>(
          producer.template.Outputs ?? {},
        )) {
          if (output.Export?.Name === byExport) return resolve(output.Value, producer);
        }
      }
      throw new Error(`unknown export ${byExport}`);
    }
    return { stack: idOf(stack), value };
  }

  /** What a secret reference names: master, a login (reader, loader), '*' or something else. */
  function secretKind(resource: Json, stack: CloudFormationStackArtifact): string {
    const { stack: owner, value } = resolve(resource, stack);
    if (value === '*') return '*';
    const text = JSON.stringify(value);
    if (owner === 'mart' && text.includes('MasterUserSecret.SecretArn')) return 'master';
    const login = /"Ref":"(Reader|Loader)LoginSecretAttachment/.exec(text)?.[1];
    if (owner === 'mart' && login) return login.toLowerCase();
    return `other:${owner}:${text}`;
  }

  /** `stack/role` for a policy's Roles entry (a Ref in its stack, or a role of another stack by reference). */
  function roleName(role: Json, stack: CloudFormationStackArtifact): string {
    const { stack: owner, value } = resolve(role, stack);
    const ref = (value as { Ref?: string }).Ref;
    return `${owner}/${(ref ?? JSON.stringify(value)).replace(/[0-9A-F]{8}$/, '')}`;
  }

  /** Every (principal, action, secret kind) granted by the stage's identity policies. */
  const grants: { principal: string; action: string; secret: string }[] = [];
  for (const stack of stacks) {
    for (const [id, resource] of Object.entries<Resource>(stack.template.Resources ?? {})) {
      const documents: { roles: Json[]; document: { Statement: Record<string, Json>[] } }[] = [];
      if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
        documents.push({
          roles: (resource.Properties?.Roles as Json[] | undefined) ?? [],
          document: resource.Properties?.PolicyDocument as { Statement: Record<string, Json>[] },
        });
      }
      if (resource.Type === 'AWS::IAM::Role') {
        for (const inline of (resource.Properties?.Policies as { PolicyDocument: never }[] | undefined) ?? []) {
          documents.push({ roles: [{ Ref: id }], document: inline.PolicyDocument });
        }
      }
      for (const { roles, document } of documents) {
        for (const statement of document.Statement) {
          if (statement.Effect !== 'Allow') continue;
          const actions = [statement.Action].flat() as string[];
          const secretActions = actions.filter((action) => /^(secretsmanager:|\*$)/.test(action));
          for (const action of secretActions) {
            for (const secretResource of [statement.Resource].flat()) {
              for (const role of roles) {
                grants.push({ principal: roleName(role, stack), action, secret: secretKind(secretResource, stack) });
              }
            }
          }
        }
      }
    }
  }

  const readers = (secret: string) =>
    [
      ...new Set(
        grants
          .filter((g) => g.secret === secret && /^secretsmanager:(GetSecretValue|\*)$|^\*$/.test(g.action))
          .map((g) => g.principal),
      ),
    ].sort();
  return { stacks, grants, readers, secretKind, roleName, idOf };
}

const DATA_MART_SECRET_READERS = {
  master: ['mart/MigrateFunctionServiceRole', 'mart/RotateLoginSecretsFunctionServiceRole'],
  reader: [
    'api/ExportsExportWorkerFunctionServiceRole',
    'api/MartsMartQueryFunctionServiceRole',
    'mart/MigrateFunctionServiceRole',
    'mart/RotateLoginSecretsFunctionServiceRole',
  ],
  // The integration-test role too: it checks its run and removes its sample rows as the loader (no tester login).
  loader: [
    'iam/IntegrationTestRole',
    'mart/LoadMartFunctionServiceRole',
    'mart/MigrateFunctionServiceRole',
    'mart/RotateLoginSecretsFunctionServiceRole',
    'orchestration/BatchFunctionServiceRole',
    'orchestration/JobAuditorFunctionServiceRole',
    'orchestration/ValidateFunctionServiceRole',
  ],
};

describe.each(['dev', 'test', 'prod'] as const)('the %s stage', (envName) => {
  const stage = synthesize(envName);

  test('lets only the migrate and rotation functions read the master secret', () => {
    expect(stage.readers('master')).toEqual(DATA_MART_SECRET_READERS.master);
  });

  test('gives each login secret to exactly the functions of its purpose (and migrate and rotation)', () => {
    expect({
      reader: stage.readers('reader'),
      loader: stage.readers('loader'),
    }).toEqual({
      reader: DATA_MART_SECRET_READERS.reader,
      loader: DATA_MART_SECRET_READERS.loader,
    });
  });

  test('lets the API functions reference the reader secret and no other', () => {
    const api = stage.grants.filter((g) => g.principal.startsWith('api/') && g.principal.includes('Function'));
    expect(api.length).toBeGreaterThan(0);
    expect([...new Set(api.map((g) => `${g.action} ${g.secret}`))].sort()).toEqual([
      'secretsmanager:GetSecretValue reader',
    ]);
  });

  test('grants no secret read on a wildcard or on any secret but the data mart ones', () => {
    const reads = stage.grants.filter((g) => g.action !== 'secretsmanager:GetRandomPassword');
    expect(reads.filter((g) => !['master', 'reader', 'loader'].includes(g.secret))).toEqual([]);
    // GetRandomPassword has no resource-level permission: only the rotation function holds it.
    expect([
      ...new Set(stage.grants.filter((g) => g.action === 'secretsmanager:GetRandomPassword').map((g) => g.principal)),
    ]).toEqual(['mart/RotateLoginSecretsFunctionServiceRole']);
  });

  test('lets only the rotation function change a login secret', () => {
    const writes = stage.grants.filter((g) =>
      /^secretsmanager:(PutSecretValue|UpdateSecretVersionStage|UpdateSecret|DeleteSecret|RotateSecret)$/.test(
        g.action,
      ),
    );
    expect([...new Set(writes.map((g) => g.principal))]).toEqual(['mart/RotateLoginSecretsFunctionServiceRole']);
    expect([...new Set(writes.map((g) => g.secret))].sort()).toEqual(['loader', 'reader']);
  });

  test('outputs the loader secret for the integration test, and no stack exports the master secret', () => {
    for (const stack of stage.stacks) {
      for (const [name, output] of Object.entries<{ Value: Json }>(stack.template.Outputs ?? {})) {
        const kind =
          JSON.stringify(output.Value).includes('SecretArn') || name.includes('Secret')
            ? stage.secretKind(output.Value, stack)
            : undefined;
        expect({ name, kind }).not.toEqual({ name, kind: 'master' });
        if (name === 'DataMartLoaderSecretArn') expect(kind).toBe('loader');
      }
    }
    const outputs = stage.stacks.flatMap((stack) => Object.keys(stack.template.Outputs ?? {}));
    expect(outputs).toContain('DataMartLoaderSecretArn');
    expect(outputs).not.toContain('DataMartSecretArn');
    expect(outputs).not.toContain('DataMartTestSecretArn');
  });

  test("attaches the integration-test role's policies in the stacks that own what they name", () => {
    const attached = stage.stacks.flatMap((stack) =>
      Object.entries<Resource>(stack.template.Resources ?? {})
        .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy')
        .filter(([, resource]) =>
          ((resource.Properties?.Roles as Json[] | undefined) ?? []).some(
            (role) => stage.roleName(role, stack) === 'iam/IntegrationTestRole',
          ),
        )
        .map(([id]) => `${stage.idOf(stack)}/${id.replace(/[0-9A-F]{8}$/, '')}`),
    );
    // IAM auth (test): it signs its requests; a user pool created by the stack (dev, prod): it manages test users.
    const callsApi = envName === 'test' ? 'api/InvokePolicy' : 'api/TestUsersPolicy';
    expect(attached.sort()).toEqual([
      'api/DataPathTestPolicy',
      callsApi,
      'catalog/IntegrationTestQueryPolicy',
      'iam/IntegrationTestPolicy',
    ]);
  });
});
