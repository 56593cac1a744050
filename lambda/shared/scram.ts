/**
 * PostgreSQL SCRAM-SHA-256 password verifiers (RFC 5802 / RFC 7677, in the form PostgreSQL stores in pg_authid):
 *
 *   SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
 *
 * `ALTER ROLE ... PASSWORD '<verifier>'` stores such a string as it is, so the password itself never reaches the
 * server: not the statement text that log_statement, log_min_error_statement or pg_stat_statements may record, not
 * the Data API's request. This is what psql's \password and libpq's PQencryptPasswordConn do.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's defaults (scram_iterations, SCRAM_DEFAULT_SALT_LEN). */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * Printable ASCII without space: SASLprep (which PostgreSQL applies to the password) leaves it unchanged, so the
 * verifier computed here matches what the server computes from the same password at login.
 */
const SASLPREP_STABLE = /^[\x21-\x7e]+$/;

/** A verifier as PostgreSQL writes it; nothing else may be inlined into ALTER ROLE. */
export const SCRAM_VERIFIER =
  /^SCRAM-SHA-256\$\d{4,7}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$/;

export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(SALT_BYTES),
  iterations: number = SCRAM_ITERATIONS,
): string {
  if (!SASLPREP_STABLE.test(password)) {
    // The password itself is never part of a message.
    throw new Error(
      `The password (${password.length} characters) has characters outside printable ASCII or spaces, which SASLprep would change. Fix: generate it with GetRandomPassword and IncludeSpace false`,
    );
  }
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
