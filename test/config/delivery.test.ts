/** platform.json `delivery`: the engine that delivers the environments (CodePipeline or GitHub Actions). */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import type { AppConfig } from '../../config/schema';
import { REPO_ROOT } from '../helpers/app';

type Json = Record<string, unknown>;

/** Loads a copy of the example config whose platform.json went through `edit`; the error message when it fails. */
function loadWithPlatform(edit: (platform: Json) => void): AppConfig | string {
  const dir = mkdtempSync(path.join(tmpdir(), 'delivery-config-'));
  try {
    cpSync(path.join(REPO_ROOT, 'config'), dir, { recursive: true, filter: (source) => !source.endsWith('.ts') });
    const file = path.join(dir, 'platform.json');
    const platform = JSON.parse(readFileSync(file, 'utf8')) as Json;
    edit(platform);
    writeFileSync(file, JSON.stringify(platform, null, 2));
    return loadConfig(dir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function message(result: AppConfig | string): string {
  if (typeof result !== 'string') throw new Error('expected the configuration to be refused');
  return result;
}

describe('platform.json delivery', () => {
  test('defaults to CodePipeline with no GitHub repository of its own', () => {
    const config = loadWithPlatform(() => {});
    expect(typeof config === 'string' ? config : config.platform.delivery).toEqual({
      engine: 'codepipeline',
      github: {},
    });
  });

  test('accepts GitHub Actions with a GitHub source and a repository of its own', () => {
    const config = loadWithPlatform((platform) => {
      platform.delivery = { engine: 'github-actions', github: { repository: 'my-org/data-platform-infra' } };
    });
    expect(typeof config === 'string' ? config : config.platform.delivery).toEqual({
      engine: 'github-actions',
      github: { repository: 'my-org/data-platform-infra' },
    });
  });

  test('fails on an unknown engine, naming file, key, value and the two engines', () => {
    const text = message(loadWithPlatform((platform) => (platform.delivery = { engine: 'jenkins' })));
    expect(text).toContain('platform.json: key "delivery.engine" has value "jenkins"');
    expect(text).toContain('must be "codepipeline" or "github-actions". Fix:');
  });

  test('fails on the GitHub engine with a CodeCommit source, naming file, key, value and fix', () => {
    const text = message(
      loadWithPlatform((platform) => {
        platform.source = { type: 'codecommit', repositoryName: 'data-platform' };
        platform.delivery = { engine: 'github-actions' };
      }),
    );
    expect(text).toContain('platform.json: key "delivery.engine" has value "github-actions"');
    expect(text).toContain('"source.type" is "codecommit"');
    expect(text).toContain('Fix: set "delivery.engine": "codepipeline", or move the repository to GitHub');
  });

  test('fails on a repository that is not owner/name, naming file, key, value and fix', () => {
    const text = message(
      loadWithPlatform((platform) => {
        platform.delivery = { engine: 'github-actions', github: { repository: 'data-platform' } };
      }),
    );
    expect(text).toContain('platform.json: key "delivery.github.repository" has value "data-platform"');
    expect(text).toContain('must be "owner/repository". Fix: e.g. "my-org/data-platform"');
  });

  test('fails on an unknown key under delivery and suggests the closest one', () => {
    const text = message(loadWithPlatform((platform) => (platform.delivery = { engin: 'github-actions' })));
    expect(text).toContain('key "delivery.engin" is not a known setting. Fix: did you mean "engine"?');
  });
});
