/**
 * A small check runner: runs named checks one after another (later checks may depend on what earlier ones
 * created, e.g. data-path checks), times each, bounds each by a timeout, and never stops at the first failure.
 */
import type { CheckContext } from './context';

/** One named check. `run` resolves with a short detail for the report, or throws to fail. */
export interface Check {
  /** `<module>/<what>`, e.g. `storage/landing encryption`. */
  readonly name: string;
  readonly run: (context: CheckContext) => Promise<string>;
  /**
   * Longest time the check may take.
   *
   * @default - the runner's `defaultTimeoutMs`
   */
  readonly timeoutMs?: number;
}

/**
 * A group of checks over one part of the platform (storage, network, and later the data path).
 * The runner verifies every module's required outputs before running anything.
 */
export interface CheckModule {
  readonly name: string;
  /** Environment variables (stage outputs) the module reads. */
  readonly requiredOutputs: readonly string[];
  readonly checks: (context: CheckContext) => readonly Check[];
}

export interface CheckResult {
  readonly name: string;
  readonly passed: boolean;
  readonly durationMs: number;
  readonly detail: string;
}

/** A check's expectation was not met; the message says what was expected and what was found. */
export class CheckFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailedError';
  }
}

/** A bounded wait or a check ran out of time. */
export class CheckTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckTimeoutError';
  }
}

/** Time source of the runner; tests replace it so that waits take no real time. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RunOptions {
  /** @default 120_000 */
  readonly defaultTimeoutMs?: number;
  /** Called after each check, e.g. to print progress. @default - nothing */
  readonly onResult?: (result: CheckResult) => void;
}

export async function runChecks(
  checks: readonly Check[],
  context: CheckContext,
  options: RunOptions = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const timeoutMs = check.timeoutMs ?? options.defaultTimeoutMs ?? 120_000;
    const started = context.clock.now();
    let result: CheckResult;
    try {
      const detail = await withTimeout(check.run(context), timeoutMs, check.name);
      result = { name: check.name, passed: true, durationMs: context.clock.now() - started, detail };
    } catch (error) {
      result = { name: check.name, passed: false, durationMs: context.clock.now() - started, detail: describe(error) };
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

/**
 * Polls `probe` until it returns a value other than undefined, at most `timeoutMs`. `describeState` tells the
 * timeout message what was last seen (e.g. "state pending").
 */
export async function waitFor<T>(
  context: CheckContext,
  what: string,
  probe: () => Promise<{ value?: T; state: string }>,
  timeoutMs: number = context.waitTimeoutMs,
): Promise<T> {
  const deadline = context.clock.now() + timeoutMs;
  for (;;) {
    const { value, state } = await probe();
    if (value !== undefined) return value;
    if (context.clock.now() >= deadline) {
      throw new CheckTimeoutError(
        `timed out after ${formatDuration(timeoutMs)} waiting for ${what} (last seen: ${state})`,
      );
    }
    await context.clock.sleep(context.pollIntervalMs);
  }
}

/** The results as a fixed-width table: check, result, milliseconds, detail. */
export function formatTable(results: readonly CheckResult[]): string {
  const rows = results.map((r) => [r.name, r.passed ? 'PASS' : 'FAIL', String(Math.round(r.durationMs)), r.detail]);
  const header = ['CHECK', 'RESULT', 'MS', 'DETAIL'];
  const widths = [0, 1, 2].map((column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 2 ? cell.padStart(widths[column]) : column < 3 ? cell.padEnd(widths[column]) : cell,
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w)).concat('------')), ...rows.map(line)].join('\n');
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckTimeoutError(`${name} did not finish within ${formatDuration(timeoutMs)}`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function describe(error: unknown): string {
  if (error instanceof CheckFailedError || error instanceof CheckTimeoutError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`.replace(/\s+/g, ' ');
  return String(error);
}
