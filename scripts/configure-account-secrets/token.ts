/**
 * Reading and checking a GitHub token without ever showing it: from stdin when it is piped in, otherwise from a
 * prompt that echoes nothing. The token is never taken from argv (it would land in shell history and `ps`).
 */
import { SetupError, EXIT_ABORTED, EXIT_INVALID_TOKEN } from './errors';

/** Classic personal access token: "ghp_" and 36 letters or digits. */
const CLASSIC_TOKEN = /^ghp_[A-Za-z0-9]{36}$/;
/** Fine-grained personal access token: "github_pat_", 22 characters, "_", 59 characters. */
const FINE_GRAINED_TOKEN = /^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/;

export type TokenKind = 'classic' | 'fine-grained';

/**
 * Returns the kind of a well-formed token; throws a SetupError otherwise. The message gives the length only, never
 * any character of what was received.
 */
export function checkGitHubTokenShape(token: string): TokenKind {
  if (CLASSIC_TOKEN.test(token)) return 'classic';
  if (FINE_GRAINED_TOKEN.test(token)) return 'fine-grained';
  throw new SetupError(
    EXIT_INVALID_TOKEN,
    `the token received (${token.length} characters, not shown) is not a GitHub personal access token: expected "ghp_" followed by 36 letters or digits (classic) or "github_pat_" followed by 82 characters (fine-grained). Fix: create a token at https://github.com/settings/tokens with access to the repository (classic: scopes repo and admin:repo_hook) and pass it on stdin or at the prompt`,
  );
}

/** Reads the whole stream (a piped token) and trims the surrounding whitespace and newline. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Minimal view of a TTY input stream, so the prompt can be tested with a fake. */
export interface TtyInput {
  setRawMode(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
}

/**
 * Asks for a secret on a terminal in raw mode: nothing is echoed, Backspace works, Enter ends, Ctrl-C aborts.
 * `prompt` goes to `output` (stderr), so stdout keeps only the result.
 */
export function promptHidden(prompt: string, input: TtyInput, output: NodeJS.WritableStream): Promise<string> {
  output.write(prompt);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (result: () => void) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      result();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish(() => resolve(value.trim()));
          return;
        }
        if (char === '\u0003') {
          finish(() => reject(new SetupError(EXIT_ABORTED, 'aborted at the token prompt: nothing was changed')));
          return;
        }
        value = char === '\u007f' || char === '\b' ? value.slice(0, -1) : value + char;
      }
    };
    input.on('data', onData);
  });
}
