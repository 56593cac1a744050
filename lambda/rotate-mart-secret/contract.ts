/**
 * The contract of the login-secret rotation function (side-effect free: the DataMart stack imports it).
 * Secrets Manager invokes the function with `{ SecretId, ClientRequestToken, Step }` for each of the four steps.
 */
import * as z from 'zod/mini';
import { MART_LOGIN_NAMES, type MartLogin } from '../shared/mart-contract';

export const ROTATE_ENV = {
  /** JSON object: login (reader, loader) -> ARN of its secret. Only these secrets are rotated. */
  loginSecrets: 'MART_LOGIN_SECRETS',
} as const;

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export const rotationEventSchema = z.looseObject({
  SecretId: z.string().check(z.regex(/^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/)),
  ClientRequestToken: z.string().check(z.regex(/^[A-Za-z0-9_-]{32,64}$/)),
  Step: z.enum(ROTATION_STEPS),
});
export type RotationEvent = z.infer<typeof rotationEventSchema>;

/** Parses the MART_LOGIN_SECRETS value into secret ARN -> login; fails naming what is wrong. */
export function parseLoginSecrets(text: string): Readonly<Record<string, MartLogin>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(
      `${ROTATE_ENV.loginSecrets} is not JSON. Fix: set it to {"<login>": "<secret ARN>"} (DataMart stack)`,
    );
  }
  const byArn: Record<string, MartLogin> = {};
  for (const login of MART_LOGIN_NAMES) {
    const arn = (value as Record<string, unknown> | null)?.[login];
    if (typeof arn !== 'string' || !arn.startsWith('arn:')) {
      throw new Error(
        `${ROTATE_ENV.loginSecrets} has no secret ARN for login ${login}. Fix: set every login's ARN (DataMart stack)`,
      );
    }
    byArn[arn] = login;
  }
  return byArn;
}
