/**
 * What every check receives: the environment under test, its stage outputs, AWS clients bound to the target region
 * and credentials, and the clock used for bounded waits.
 */
import type { Clock } from './runner';

/** Temporary credentials, as STS returns them and every SDK client accepts them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** The part of an AWS SDK v3 client constructor the checks use. */
type ClientConstructor<T> = new (config: { region: string; credentials?: AwsCredentials; maxAttempts?: number }) => T;

/**
 * AWS clients created on first use, one per client class, all in the target region with the same credentials.
 * New check modules ask for any client: `context.clients.get(SFNClient)`.
 */
export class AwsClients {
  private readonly cache = new Map<unknown, unknown>();

  constructor(
    readonly region: string,
    /** Undefined: the default provider chain (the caller's own credentials). */
    readonly credentials?: AwsCredentials,
  ) {}

  get<T>(client: ClientConstructor<T>): T {
    let instance = this.cache.get(client) as T | undefined;
    if (instance === undefined) {
      instance = new client({ region: this.region, credentials: this.credentials, maxAttempts: 5 });
      this.cache.set(client, instance);
    }
    return instance;
  }
}

export interface CheckContext {
  /** Environment name, e.g. `dev`. */
  readonly environment: string;
  readonly region: string;
  /** Stage outputs by environment variable name (e.g. `LANDING_BUCKET_NAME`); all required ones are present. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly clients: AwsClients;
  readonly clock: Clock;
  /** Longest bounded wait (e.g. for an endpoint to become available). */
  readonly waitTimeoutMs: number;
  /** Pause between two polls of a bounded wait. */
  readonly pollIntervalMs: number;
}

/** The value of a stage output the module declared in `requiredOutputs` (checked before any check runs). */
export function output(context: CheckContext, name: string): string {
  const value = context.outputs[name];
  if (value === undefined) {
    throw new Error(`Stage output ${name} was read but not declared in the module's requiredOutputs. Fix: declare it`);
  }
  return value;
}
