/**
 * shellcheck over every shell script in scripts/ and scripts/lib/ (and the test fakes). When shellcheck is not
 * installed the test is skipped with a visible message: install it with `apt-get install shellcheck`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT_DIRS = ['scripts', 'scripts/lib', 'test/scripts'];

const scripts = SCRIPT_DIRS.flatMap((dir) =>
  readdirSync(path.join(REPO_ROOT, dir))
    .filter((file) => file.endsWith('.sh'))
    .map((file) => path.join(dir, file)),
);

const shellcheckVersion = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
const available = shellcheckVersion.status === 0;
if (!available) {
  process.stdout.write('SKIPPED shellcheck.test.ts: shellcheck is not installed (apt-get install shellcheck)\n');
}
const testIfShellcheck = available ? test : test.skip;

test('finds the bootstrap scripts and their shared library', () => {
  expect(scripts).toEqual(
    expect.arrayContaining([
      'scripts/bootstrap-deployment-account.sh',
      'scripts/bootstrap-target-account.sh',
      'scripts/lib/common.sh',
    ]),
  );
});

testIfShellcheck.each(scripts)('%s is shellcheck clean', (script) => {
  // -x follows `source` lines; SCRIPTDIR resolves them relative to the script, as bash does at run time.
  const result = spawnSync('shellcheck', ['-x', '--source-path=SCRIPTDIR', '--severity=info', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
});
