/**
 * Finds the `:name` parameters of a statement, skipping everything that only looks like one: string literals
 * ('...', E'...'), dollar-quoted bodies ($$...$$, $tag$...$tag$), quoted identifiers ("..."), `::type` casts and
 * comments (-- and nested block comments). Both executors use it: `pg` to rewrite `:name` into `$n`, the Data API to
 * send only the parameters the statement uses.
 */
export interface NamedParameter {
  readonly name: string;
  /** Offset of the colon. */
  readonly start: number;
  /** Offset just past the name. */
  readonly end: number;
}

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_]/;

export function findNamedParameters(sql: string): NamedParameter[] {
  const found: NamedParameter[] = [];
  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    const next = sql[i + 1];
    if (char === "'") {
      i = skipQuoted(sql, i, "'");
    } else if (char === '"') {
      i = skipQuoted(sql, i, '"');
    } else if (char === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? sql.length : newline + 1;
    } else if (char === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (char === '$' && !NAME_PART.test(sql[i - 1] ?? '')) {
      i = skipDollarQuoted(sql, i);
    } else if (char === ':' && next === ':') {
      i += 2; // a cast: `::type`
    } else if (char === ':' && NAME_START.test(next ?? '') && sql[i - 1] !== ':') {
      let end = i + 1;
      while (end < sql.length && NAME_PART.test(sql[end])) end++;
      found.push({ name: sql.slice(i + 1, end), start: i, end });
      i = end;
    } else {
      i++;
    }
  }
  return found;
}

/** Distinct parameter names in order of first use. */
export function parameterNames(sql: string): string[] {
  return [...new Set(findNamedParameters(sql).map((parameter) => parameter.name))];
}

/** Skips a '...' or "..." token whose quote is escaped by doubling it; returns the offset after it. */
function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  // E'...' strings may also escape with a backslash.
  const backslashEscapes = quote === "'" && /[Ee]/.test(sql[start - 1] ?? '');
  while (i < sql.length) {
    if (backslashEscapes && sql[i] === '\\') {
      i += 2;
    } else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** Skips $tag$...$tag$; a `$` that does not open a dollar quote (e.g. `$1`) is stepped over. */
function skipDollarQuoted(sql: string, start: number): number {
  const match = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start));
  if (!match) return start + 1;
  const tag = match[0];
  const close = sql.indexOf(tag, start + tag.length);
  return close === -1 ? sql.length : close + tag.length;
}

/**
 * Splits a script into statements at top-level semicolons (not inside literals, dollar quotes, quoted identifiers or
 * comments). The Data API runs one statement per call, so migrations are sent statement by statement.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < script.length) {
    const char = script[i];
    const next = script[i + 1];
    if (char === "'" || char === '"') {
      i = skipQuoted(script, i, char);
    } else if (char === '-' && next === '-') {
      const newline = script.indexOf('\n', i);
      i = newline === -1 ? script.length : newline + 1;
    } else if (char === '/' && next === '*') {
      i = skipBlockComment(script, i);
    } else if (char === '$' && !NAME_PART.test(script[i - 1] ?? '')) {
      i = skipDollarQuoted(script, i);
    } else if (char === ';') {
      statements.push(script.slice(start, i));
      i++;
      start = i;
    } else {
      i++;
    }
  }
  statements.push(script.slice(start));
  return statements.map((statement) => statement.trim()).filter((statement) => !isOnlyComments(statement));
}

/** True when nothing but whitespace and comments is left (e.g. a file's trailing comment). */
function isOnlyComments(statement: string): boolean {
  let i = 0;
  while (i < statement.length) {
    if (/\s/.test(statement[i])) {
      i++;
    } else if (statement.startsWith('--', i)) {
      const newline = statement.indexOf('\n', i);
      i = newline === -1 ? statement.length : newline + 1;
    } else if (statement.startsWith('/*', i)) {
      i = skipBlockComment(statement, i);
    } else {
      return false;
    }
  }
  return true;
}
