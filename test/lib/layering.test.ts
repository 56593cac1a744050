/**
 * The assembly runs one way: bin/ -> stages/ -> lib/ -> the functions' contracts. lib/ takes the stage factory from
 * bin/ and never imports stages/ or bin/; of lambda/ it imports only contracts (`contract.ts`, or `<name>-contract.ts`
 * for what several functions share), which are side-effect free (DESIGN.md layout). So a stack cannot grow a
 * dependency on the concrete stage, and synth never loads a function's runtime code (SDK clients, handlers).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

interface ModuleImport {
  /** What the statement names: a package, or a repository path (relative specifiers resolved, no extension). */
  readonly target: string;
  /** `import type` / `export type`: erased by the compiler, loads nothing at run time. */
  readonly typeOnly: boolean;
}

/** Every module a file imports or re-exports (including bare side-effect imports). */
function importsOf(file: string): ModuleImport[] {
  const source = readFileSync(file, 'utf8');
  const statements = [
    ...[...source.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?\bfrom\s+'([^']+)'/g)].map((m) => ({
      specifier: m[3],
      typeOnly: m[2] !== undefined,
    })),
    ...[...source.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)].map((m) => ({ specifier: m[1], typeOnly: false })),
  ];
  return statements.map(({ specifier, typeOnly }) => ({
    target: specifier.startsWith('.') ? path.relative(ROOT, path.resolve(path.dirname(file), specifier)) : specifier,
    typeOnly,
  }));
}

/** A module of lambda/ that lib/ may import. */
function isContract(target: string): boolean {
  const name = path.basename(target).replace(/\.ts$/, '');
  return target.startsWith(`lambda${path.sep}`) && (name === 'contract' || name.endsWith('-contract'));
}

const repositoryPath = (file: string) => path.relative(ROOT, file);
const contracts = typeScriptFiles(path.join(ROOT, 'lambda')).filter((file) =>
  isContract(repositoryPath(file).replace(/\.ts$/, '')),
);

test('nothing in lib/ imports stages/ or bin/', () => {
  const files = typeScriptFiles(path.join(ROOT, 'lib'));
  expect(files.length).toBeGreaterThan(20);
  const offending = files.flatMap((file) =>
    importsOf(file)
      .filter(({ target }) => /^(stages|bin)(\/|$)/.test(target))
      .map(({ target }) => `${repositoryPath(file)} imports ${target}`),
  );
  expect(offending).toEqual([]);
});

test('lib/, stages/ and bin/ import only the contracts of lambda/', () => {
  const files = ['lib', 'stages', 'bin'].flatMap((dir) => typeScriptFiles(path.join(ROOT, dir)));
  const offending = files.flatMap((file) =>
    importsOf(file)
      .filter(({ target }) => /^lambda(\/|$)/.test(target) && !isContract(target))
      .map(({ target }) => `${repositoryPath(file)} imports ${target}`),
  );
  expect(offending).toEqual([]);
});

test('every function has a contract.ts beside its handler', () => {
  const functions = readdirSync(path.join(ROOT, 'lambda'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) => readdirSync(path.join(ROOT, 'lambda', name)).includes('handler.ts'));
  expect(functions.length).toBeGreaterThanOrEqual(11);
  const missing = functions.filter((name) => !readdirSync(path.join(ROOT, 'lambda', name)).includes('contract.ts'));
  expect(missing).toEqual([]);
});

test('contracts load only zod/mini and other contracts (types may come from anywhere)', () => {
  expect(contracts.length).toBeGreaterThanOrEqual(14);
  const offending = contracts.flatMap((file) =>
    importsOf(file)
      .filter(({ target, typeOnly }) => !typeOnly && target !== 'zod/mini' && !isContract(target))
      .map(({ target }) => `${repositoryPath(file)} loads ${target}`),
  );
  expect(offending).toEqual([]);
});

test('loading a contract reads no environment variable and sets no global', () => {
  const environment = process.env;
  const read: string[] = [];
  process.env = new Proxy(environment, {
    get(target, name, receiver) {
      if (typeof name === 'string') read.push(name);
      return Reflect.get(target, name, receiver);
    },
  });
  // zod registers its own globals when first loaded; a contract must not change its configuration (e.g. a locale).
  require('zod/mini');
  const zodConfig = () => ({ ...(globalThis as { __zod_globalConfig?: object }).__zod_globalConfig });
  const zodConfigBefore = zodConfig();
  const globalsBefore = new Set(Object.keys(globalThis));
  try {
    for (const file of contracts) {
      jest.isolateModules(() => {
        require(file);
      });
    }
  } finally {
    process.env = environment;
  }
  expect(read).toEqual([]);
  expect(Object.keys(globalThis).filter((name) => !globalsBefore.has(name))).toEqual([]);
  expect(zodConfig()).toEqual(zodConfigBefore);
});

test('the import scan sees what the rules above reject (so they can fail)', () => {
  const bin = path.join(ROOT, 'bin', 'data-platform.ts');
  expect(importsOf(bin).map(({ target }) => target)).toContain(path.join('stages', 'data-platform-stage'));
  // A handler loads runtime modules: were it imported by lib/, the rule above would name them.
  const handler = importsOf(path.join(ROOT, 'lambda', 'load-mart', 'handler.ts'));
  expect(handler.filter(({ target, typeOnly }) => !typeOnly && !isContract(target)).length).toBeGreaterThan(3);
  expect(handler).toContainEqual({ target: path.join('lambda', 'shared', 'zod-locale'), typeOnly: false });
  expect(importsOf(path.join(ROOT, 'lambda', 'load-mart', 'contract.ts'))).toContainEqual({
    target: path.join('config', 'schema'),
    typeOnly: true,
  });
});
