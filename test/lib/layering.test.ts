/**
 * The assembly runs one way: bin/ -> stages/ -> lib/. lib/ takes the stage factory from bin/ and never imports
 * stages/ or bin/ (DESIGN.md layout), so a stack or the pipeline cannot grow a dependency on the concrete stage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative module a file imports or re-exports, resolved to a path under the repository. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]);
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.relative(ROOT, path.resolve(path.dirname(file), specifier)));
}

test('nothing in lib/ imports stages/ or bin/', () => {
  const files = typeScriptFiles(path.join(ROOT, 'lib'));
  expect(files.length).toBeGreaterThan(20);
  const offending = files.flatMap((file) =>
    importsOf(file)
      .filter((target) => /^(stages|bin)(\/|$)/.test(target))
      .map((target) => `${path.relative(ROOT, file)} imports ${target}`),
  );
  expect(offending).toEqual([]);
});

test('the import scan sees an import of stages/ (so the rule above can fail)', () => {
  const bin = path.join(ROOT, 'bin', 'data-platform.ts');
  expect(importsOf(bin)).toContain(path.join('stages', 'data-platform-stage'));
});
