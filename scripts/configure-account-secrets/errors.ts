/** Exit codes of scripts/configure-account-secrets.ts (documented in its --help). */
export const EXIT_UNEXPECTED = 1;
export const EXIT_USAGE = 2;
export const EXIT_NO_CREDENTIALS = 4;
export const EXIT_WRONG_ACCOUNT = 5;
export const EXIT_ABORTED = 6;
export const EXIT_INVALID_CONFIG = 7;
export const EXIT_CONNECTION_NOT_READY = 8;
export const EXIT_INVALID_TOKEN = 9;

/** A failure the user can fix: the CLI prints the message (what is wrong, the value, the fix) and exits with `exitCode`. */
export class SetupError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SetupError';
  }
}
