/**
 * Rotation of a data mart login secret (alternating users, see lambda/shared/mart-contract.ts), in Secrets
 * Manager's four steps. The function is not in the VPC and needs no endpoint: it changes passwords through the Data
 * API as the master user.
 *
 * - createSecret: a new version AWSPENDING names the other user of the login and a password from GetRandomPassword.
 * - setSecret: as the master, sets that user's password (as a SCRAM verifier) and records the version it came from
 *   (COMMENT ON ROLE). The user in use is never touched, so nothing fails during the rotation.
 * - testSecret: the Data API always authenticates with a secret's AWSCURRENT version, so the pending credentials
 *   cannot be used before they are current, and Aurora's master may not read password hashes (pg_authid). The step
 *   checks instead, as the master, that the pending user's password was set from exactly this version and that the
 *   user is fit for its login (exists, may log in, exactly its groups, no elevated attribute, password not expired).
 * - finishSecret: moves AWSCURRENT to the new version, then logs in through the Data API with the secret itself:
 *   the answer must be the new user. On a refused login the stage goes back to the previous version (whose user
 *   and password are untouched) and the step fails, so a broken password is never left current.
 *
 * Every step may be retried: each first looks at what is already done. Only secrets configured for a login are
 * accepted, and only that login's two users can ever get a password, so a tampered secret cannot reach the master.
 */
import { DomainError, TransientError } from '../shared/errors';
import { parseEvent } from '../shared/parse-event';
import { logger } from '../shared/logger';
import { alternateUser, MART_LOGINS, type MartLogin } from '../shared/mart-contract';
import { checkLoginUser, type LoginSecretValue, parseLoginSecret, setLoginPassword } from '../shared/mart-logins';
import type { SqlExecutor } from '../shared/sql';
import type { SecretsManagerApi } from '../shared/aws/secrets-manager';
import { type RotationEvent, rotationEventSchema } from './contract';

/** The rotation cannot proceed as asked: Secrets Manager records the step as failed. */
export class RotationError extends DomainError {}

export interface RotationDependencies {
  readonly secrets: SecretsManagerApi;
  /** The Data API as the master user. */
  readonly master: SqlExecutor;
  /** The Data API with a login secret's ARN: it authenticates with that secret's AWSCURRENT version. */
  readonly asLogin: (secretArn: string) => SqlExecutor;
  /** Secret ARN -> login: the only secrets this function rotates. */
  readonly logins: Readonly<Record<string, MartLogin>>;
  /** Logins through the new version tried in finishSecret. @default 6 */
  readonly verifyAttempts?: number;
  /** Wait between them (the cluster may be resuming; the Data API may still use the previous version). @default 5000 */
  readonly verifyDelayMs?: number;
  /** Waits between attempts of a step while the cluster resumes; the last repeats. @default 2, 5, 10, 20 s */
  readonly resumeDelaysMs?: readonly number[];
  /** How long a step keeps retrying a resuming cluster (the function's timeout is 5 minutes). @default 180000 */
  readonly resumeBudgetMs?: number;
  /** @default - real timers */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

/** Characters of generated passwords: letters and digits (~190 bits in 32), nothing a JSON or SQL string escapes. */
export const PASSWORD_REQUEST = {
  PasswordLength: 32,
  ExcludePunctuation: true,
  IncludeSpace: false,
  RequireEachIncludedType: true,
} as const;

export type RotationOutcome =
  | 'created'
  | 'already created'
  | 'password set'
  | 'tested'
  | 'finished'
  | 'finished (not confirmed)'
  | 'already current';

export function createRotationHandler(dependencies: RotationDependencies) {
  const { secrets, master, logins } = dependencies;
  const attempts = Math.max(1, dependencies.verifyAttempts ?? 6);
  const delayMs = dependencies.verifyDelayMs ?? 5_000;
  const sleep = dependencies.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const resumeDelays = dependencies.resumeDelaysMs ?? [2_000, 5_000, 10_000, 20_000];
  const resumeBudgetMs = dependencies.resumeBudgetMs ?? 180_000;

  /** Runs a step again while the cluster resumes from auto-pause (every step is safe to repeat). */
  async function whileResuming<T>(work: () => Promise<T>): Promise<T> {
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const delay = resumeDelays[Math.min(attempt, resumeDelays.length - 1)];
        if (!(error instanceof TransientError) || waited + delay > resumeBudgetMs) throw error;
        logger.info('data mart not available yet, retrying the step', { attempt: attempt + 1, delayMs: delay });
        waited += delay;
        await sleep(delay);
      }
    }
  }

  /** A version of the secret, parsed and checked against its login; `where` names it in errors. */
  async function readVersion(
    event: RotationEvent,
    login: MartLogin,
    selector: { VersionStage: string; VersionId?: string },
  ): Promise<{ value: LoginSecretValue; versionId: string }> {
    const answer = await secrets.getSecretValue({ SecretId: event.SecretId, ...selector });
    const versionId = answer.VersionId ?? selector.VersionId ?? '';
    const where = `secret ${event.SecretId} version ${versionId} (${selector.VersionStage})`;
    return { value: parseLoginSecret(answer.SecretString, login, where), versionId };
  }

  async function pendingExists(event: RotationEvent): Promise<boolean> {
    try {
      await secrets.getSecretValue({
        SecretId: event.SecretId,
        VersionId: event.ClientRequestToken,
        VersionStage: 'AWSPENDING',
      });
      return true;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return false;
      throw error;
    }
  }

  async function createSecret(event: RotationEvent, login: MartLogin): Promise<RotationOutcome> {
    const current = await readVersion(event, login, { VersionStage: 'AWSCURRENT' });
    if (await pendingExists(event)) {
      // Checked like any version: a retry must not carry on with a tampered one.
      await readVersion(event, login, { VersionStage: 'AWSPENDING', VersionId: event.ClientRequestToken });
      return 'already created';
    }
    const next = alternateUser(login, current.value.username) as string;
    const { RandomPassword } = await secrets.getRandomPassword(PASSWORD_REQUEST);
    if (!RandomPassword) throw new TransientError('GetRandomPassword returned no password; retry');
    const value: LoginSecretValue = { ...current.value, username: next, password: RandomPassword };
    try {
      await secrets.putSecretValue({
        SecretId: event.SecretId,
        ClientRequestToken: event.ClientRequestToken,
        SecretString: JSON.stringify(value),
        VersionStages: ['AWSPENDING'],
      });
    } catch (error) {
      // A concurrent attempt of the same step created the version first.
      if ((error as Error).name !== 'ResourceExistsException') throw error;
      await readVersion(event, login, { VersionStage: 'AWSPENDING', VersionId: event.ClientRequestToken });
      return 'already created';
    }
    logger.info('pending version created', { user: next, previousUser: current.value.username });
    return 'created';
  }

  async function setSecret(event: RotationEvent, login: MartLogin): Promise<RotationOutcome> {
    const current = await readVersion(event, login, { VersionStage: 'AWSCURRENT' });
    const pending = await readVersion(event, login, {
      VersionStage: 'AWSPENDING',
      VersionId: event.ClientRequestToken,
    });
    if (pending.value.username === current.value.username) {
      throw new RotationError(
        `The pending version ${event.ClientRequestToken} of ${event.SecretId} names ${pending.value.username}, the user in use: changing its password would break every caller until finishSecret. Fix: cancel this rotation (cancel-rotate-secret) and rotate again, which names the other user`,
      );
    }
    await setLoginPassword(master, login, pending.value, event.ClientRequestToken);
    logger.info('password set', { user: pending.value.username });
    return 'password set';
  }

  async function testSecret(event: RotationEvent, login: MartLogin): Promise<RotationOutcome> {
    const pending = await readVersion(event, login, {
      VersionStage: 'AWSPENDING',
      VersionId: event.ClientRequestToken,
    });
    await checkLoginUser(master, login, pending.value.username, event.ClientRequestToken);
    logger.info('pending user checked', { user: pending.value.username });
    return 'tested';
  }

  async function finishSecret(
    event: RotationEvent,
    login: MartLogin,
    currentVersion: string,
  ): Promise<RotationOutcome> {
    const pending = await readVersion(event, login, {
      VersionStage: 'AWSPENDING',
      VersionId: event.ClientRequestToken,
    });
    const previous = await readVersion(event, login, { VersionStage: 'AWSCURRENT', VersionId: currentVersion });
    await secrets.updateSecretVersionStage({
      SecretId: event.SecretId,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: event.ClientRequestToken,
      RemoveFromVersionId: currentVersion,
    });
    logger.info('new version is current', { user: pending.value.username, previousVersion: currentVersion });

    let stale = false;
    let failure: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const [row] = await dependencies
          .asLogin(event.SecretId)
          .query<{ login: string }>('SELECT current_user::text AS login');
        if (row?.login === pending.value.username) return 'finished';
        if (row?.login !== previous.value.username) {
          failure = `the Data API logged in as ${JSON.stringify(row?.login)}, neither the new nor the previous user`;
          break;
        }
        // The Data API still authenticates with the previous version (both work): ask again.
        stale = true;
        failure = undefined;
      } catch (error) {
        failure = `${(error as Error).name}: ${(error as Error).message}`;
        // A refused login is final; a resuming cluster is worth waiting for.
        if (!(error instanceof TransientError)) break;
      }
      if (attempt < attempts) await sleep(delayMs);
    }
    if (failure === undefined && stale) {
      // Both users work; the next rotation starts from whichever version is current.
      logger.warn('the Data API still logs in with the previous version; the new one could not be confirmed yet', {
        user: pending.value.username,
      });
      return 'finished (not confirmed)';
    }
    await secrets.updateSecretVersionStage({
      SecretId: event.SecretId,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: currentVersion,
      RemoveFromVersionId: event.ClientRequestToken,
    });
    throw new RotationError(
      `Logging in with the new version ${event.ClientRequestToken} of ${event.SecretId} (user ${pending.value.username}) failed: ${failure}. AWSCURRENT is back on version ${currentVersion} (user ${previous.value.username}, unchanged). Fix: check the function's logs and the user's state, then rotate again`,
    );
  }

  return async (event: unknown): Promise<{ step: string; outcome: RotationOutcome }> => {
    const input = parseEvent(rotationEventSchema, event, {
      what: 'rotation event',
      fix: 'only Secrets Manager invokes this function, with { SecretId, ClientRequestToken, Step }',
      errorClass: RotationError,
    });
    const login = logins[input.SecretId];
    if (login === undefined) {
      throw new RotationError(
        `Secret ${input.SecretId} is not a data mart login secret (this function rotates ${Object.entries(logins)
          .map(([arn, name]) => `${name}: ${arn}`)
          .join(', ')}). Fix: rotate that secret with its own function`,
      );
    }
    logger.appendKeys({ step: input.Step, login, secretVersion: input.ClientRequestToken });
    try {
      const metadata = await secrets.describeSecret({ SecretId: input.SecretId });
      if (metadata.RotationEnabled === false) {
        throw new RotationError(
          `Secret ${input.SecretId} does not have rotation enabled. Fix: add its rotation schedule`,
        );
      }
      const versions = metadata.VersionIdsToStages ?? {};
      const stages = versions[input.ClientRequestToken];
      if (!stages) {
        throw new RotationError(
          `Secret ${input.SecretId} has no version ${input.ClientRequestToken} staged for rotation. Fix: start the rotation with rotate-secret`,
        );
      }
      if (stages.includes('AWSCURRENT')) {
        logger.info('version is already current: nothing to do');
        return { step: input.Step, outcome: 'already current' };
      }
      if (!stages.includes('AWSPENDING')) {
        throw new RotationError(
          `Version ${input.ClientRequestToken} of ${input.SecretId} is not AWSPENDING (stages: ${stages.join(', ') || 'none'}). Fix: start a new rotation`,
        );
      }
      let outcome: RotationOutcome;
      switch (input.Step) {
        case 'createSecret':
          outcome = await createSecret(input, login);
          break;
        case 'setSecret':
          outcome = await whileResuming(() => setSecret(input, login));
          break;
        case 'testSecret':
          outcome = await whileResuming(() => testSecret(input, login));
          break;
        case 'finishSecret': {
          const currentVersion = Object.entries(versions).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
          if (!currentVersion) {
            throw new RotationError(
              `Secret ${input.SecretId} has no AWSCURRENT version. Fix: restore one before rotating`,
            );
          }
          outcome = await finishSecret(input, login, currentVersion);
          break;
        }
      }
      logger.info('rotation step done', { outcome, users: MART_LOGINS[login].users });
      return { step: input.Step, outcome };
    } finally {
      logger.resetKeys();
    }
  };
}
