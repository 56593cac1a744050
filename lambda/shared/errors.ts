/**
 * Domain errors. Step Functions matches on `errorType` (the class name), so names are part of the contract with the
 * state machine's Retry/Catch rules: do not rename them casually.
 */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request or event is malformed: never worth retrying. */
export class InvalidInputError extends DomainError {}

/** Something the caller named does not exist (dataset, table, export id ...). */
export class NotFoundError extends DomainError {}

/** A dependency is temporarily unavailable (e.g. Aurora resuming from auto-pause): retry later. */
export class TransientError extends DomainError {}
