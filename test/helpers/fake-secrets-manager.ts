/**
 * Secrets Manager as the rotation and migrate functions see it, for {@link startFakeAws}: secrets with versions and
 * staging labels, answering DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage and
 * GetRandomPassword with the shapes and errors the API reference documents:
 *
 * - GetSecretValue: AWSCURRENT by default; VersionId and VersionStage together must name the same version, else
 *   ResourceNotFoundException.
 * - PutSecretValue: the ClientRequestToken is the version id; repeating it with the same value is a no-op, with
 *   another value ResourceExistsException. A label given moves to the new version.
 * - UpdateSecretVersionStage: RemoveFromVersionId must be where the label is (else InvalidParameterException);
 *   moving AWSCURRENT moves AWSPREVIOUS to the version it left.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { FakeAwsAnswer, FakeAwsCall } from './fake-aws';

interface Version {
  readonly id: string;
  readonly secretString: string;
  stages: string[];
}

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  rotationEnabled: boolean;
  readonly versions: Map<string, Version>;
}

const error = (code: string, message: string, status = 400): FakeAwsAnswer => ({
  status,
  body: { __type: code, message },
});

export class FakeSecretsManager {
  readonly secrets = new Map<string, StoredSecret>();
  /** What GetRandomPassword answers next (tests may fix it). @default - 32 random letters and digits */
  nextPassword?: () => string;

  /** Adds a secret whose first version is AWSCURRENT; returns its ARN. */
  addSecret(name: string, value: object, options: { rotationEnabled?: boolean; versionId?: string } = {}): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:222222222222:secret:${name}-${randomUUID().slice(0, 6)}`;
    const id = options.versionId ?? randomUUID();
    this.secrets.set(arn, {
      arn,
      name,
      rotationEnabled: options.rotationEnabled ?? true,
      versions: new Map([[id, { id, secretString: JSON.stringify(value), stages: ['AWSCURRENT'] }]]),
    });
    return arn;
  }

  /** Starts a rotation as RotateSecret does: a version id staged AWSPENDING without a value yet. */
  startRotation(arn: string): string {
    // Secrets Manager keeps the pending label on a version id it will create with the token: modelled as a stage map
    // entry without a stored value (GetSecretValue of it is ResourceNotFoundException until createSecret puts it).
    const token = randomUUID();
    this.pendingTokens.set(arn, token);
    return token;
  }

  private readonly pendingTokens = new Map<string, string>();

  /** The JSON of the version that holds `stage`. */
  valueAt(arn: string, stage = 'AWSCURRENT'): Record<string, unknown> {
    const version = [...this.secret(arn).versions.values()].find((v) => v.stages.includes(stage));
    if (!version) throw new Error(`no version of ${arn} has ${stage}`);
    return JSON.parse(version.secretString) as Record<string, unknown>;
  }

  /** Version id -> stages, as DescribeSecret returns them. */
  stages(arn: string): Record<string, string[]> {
    const secret = this.secret(arn);
    const result: Record<string, string[]> = {};
    for (const version of secret.versions.values()) result[version.id] = [...version.stages];
    const pending = this.pendingTokens.get(arn);
    if (pending && !secret.versions.has(pending)) result[pending] = ['AWSPENDING'];
    return result;
  }

  private secret(arn: string): StoredSecret {
    const secret = this.secrets.get(arn);
    if (!secret) throw new Error(`no secret ${arn}`);
    return secret;
  }

  /** Handler for startFakeAws('secretsmanager', ...). */
  readonly handle = (call: FakeAwsCall): FakeAwsAnswer => {
    const operation = call.target?.replace(/^secretsmanager\./, '');
    const input = (call.json ?? {}) as Record<string, unknown>;
    if (operation === 'GetRandomPassword') {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      const length = Number(input.PasswordLength ?? 32);
      const password =
        this.nextPassword?.() ?? Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
      return { body: { RandomPassword: password } };
    }
    const secret = this.secrets.get(String(input.SecretId));
    if (!secret) return error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    switch (operation) {
      case 'DescribeSecret':
        return {
          body: {
            ARN: secret.arn,
            Name: secret.name,
            RotationEnabled: secret.rotationEnabled,
            VersionIdsToStages: this.stages(secret.arn),
          },
        };
      case 'GetSecretValue': {
        const stage = input.VersionStage as string | undefined;
        const id = input.VersionId as string | undefined;
        const version =
          id !== undefined
            ? secret.versions.get(id)
            : [...secret.versions.values()].find((v) => v.stages.includes(stage ?? 'AWSCURRENT'));
        if (!version || (stage !== undefined && !version.stages.includes(stage))) {
          return error(
            'ResourceNotFoundException',
            "Secrets Manager can't find the specified secret value for staging label or version id.",
          );
        }
        return {
          body: {
            ARN: secret.arn,
            Name: secret.name,
            VersionId: version.id,
            SecretString: version.secretString,
            VersionStages: [...version.stages],
          },
        };
      }
      case 'PutSecretValue': {
        const id = String(input.ClientRequestToken);
        const value = String(input.SecretString);
        const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
        const existing = secret.versions.get(id);
        if (existing) {
          if (existing.secretString !== value) {
            return error('ResourceExistsException', `A resource with the ID you requested already exists.`);
          }
          return { body: { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: existing.stages } };
        }
        for (const version of secret.versions.values()) {
          version.stages = version.stages.filter((s) => !stages.includes(s));
        }
        secret.versions.set(id, { id, secretString: value, stages: [...stages] });
        return { body: { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: stages } };
      }
      case 'UpdateSecretVersionStage': {
        const stage = String(input.VersionStage);
        const moveTo = input.MoveToVersionId as string | undefined;
        const removeFrom = input.RemoveFromVersionId as string | undefined;
        const holder = [...secret.versions.values()].find((v) => v.stages.includes(stage));
        if (holder && holder.id !== moveTo && holder.id !== removeFrom) {
          return error(
            'InvalidParameterException',
            `The staging label ${stage} is currently attached to version ${holder.id}, but you have not specified it as RemoveFromVersionId.`,
          );
        }
        const target = moveTo === undefined ? undefined : secret.versions.get(moveTo);
        if (moveTo !== undefined && !target) return error('ResourceNotFoundException', `No version ${moveTo}`);
        if (removeFrom !== undefined) {
          const from = secret.versions.get(removeFrom);
          if (from) from.stages = from.stages.filter((s) => s !== stage);
        }
        if (target && !target.stages.includes(stage)) {
          target.stages.push(stage);
          if (stage === 'AWSCURRENT' && holder && holder.id !== target.id) {
            for (const version of secret.versions.values()) {
              version.stages = version.stages.filter((s) => s !== 'AWSPREVIOUS');
            }
            holder.stages.push('AWSPREVIOUS');
          }
        }
        return { body: { ARN: secret.arn, Name: secret.name } };
      }
      default:
        return error('InvalidAction', `The action ${operation} is not valid for this endpoint.`);
    }
  };
}
