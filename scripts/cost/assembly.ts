/**
 * Reads a cloud assembly directory (`cdk.out/`) as plain JSON: its stacks, the stacks of nested assemblies (one per
 * pipeline stage) and the templates of nested stacks (AWS::CloudFormation::Stack, found through their
 * `aws:asset:path` metadata). No CDK app is loaded and nothing is deployed.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface Template {
  readonly Resources?: Record<string, TemplateResource>;
}

/** One deployed template: a top-level stack or a nested stack inside one. */
export interface AssemblyStack {
  /** Construct path of the stack, e.g. `PipelineDev/Dev/Catalog` (nested: `.../TableMaintenance0`). */
  readonly path: string;
  readonly account: string;
  readonly region: string;
  /** The stage (nested assembly) holding the stack, e.g. `PipelineDev/Dev`; undefined for a top-level stack. */
  readonly stage?: string;
  readonly nested: boolean;
  readonly template: Template;
  /** Nested stacks whose template could not be found (listed as unpriced). */
  readonly missingNested: readonly string[];
}

interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly directoryName?: string };
}

export class AssemblyError extends Error {}

/** Every stack of the assembly at `dir`, nested assemblies and nested stacks included. */
export function readAssembly(dir: string): AssemblyStack[] {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    throw new AssemblyError(
      `${manifestFile} not found: no cloud assembly in ${dir}. Fix: run \`npx cdk synth -q\` first (or pass --assembly <dir>)`,
    );
  }
  return readManifest(dir, false);
}

function readManifest(dir: string, inStage: boolean): AssemblyStack[] {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const stacks: AssemblyStack[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      stacks.push(...readManifest(path.join(dir, artifact.properties.directoryName), true));
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const [account, region] = parseEnvironment(artifact.environment, id);
    const template = readTemplate(path.join(dir, artifact.properties.templateFile));
    const stackPath = artifact.displayName ?? id;
    // A stage's stacks are named <stage path>/<stack id>: the stage is the path without its last segment.
    const stage = inStage ? stackPath.split('/').slice(0, -1).join('/') || stackPath : undefined;
    stacks.push(...withNested(dir, stackPath, account, region, stage, template, false));
  }
  return stacks;
}

function withNested(
  dir: string,
  stackPath: string,
  account: string,
  region: string,
  stage: string | undefined,
  template: Template,
  nested: boolean,
): AssemblyStack[] {
  const children: AssemblyStack[] = [];
  const missingNested: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::CloudFormation::Stack') continue;
    const assetPath = resource.Metadata?.['aws:asset:path'];
    const file = typeof assetPath === 'string' ? path.join(dir, assetPath) : undefined;
    if (file === undefined || !existsSync(file)) {
      missingNested.push(logicalId);
      continue;
    }
    const cdkPath = resource.Metadata?.['aws:cdk:path'];
    const childPath =
      typeof cdkPath === 'string' ? cdkPath.replace(/\.NestedStack\/.*$/, '') : `${stackPath}/${logicalId}`;
    children.push(...withNested(dir, childPath, account, region, stage, readTemplate(file), true));
  }
  return [{ path: stackPath, account, region, stage, nested, template, missingNested }, ...children];
}

function readTemplate(file: string): Template {
  return JSON.parse(readFileSync(file, 'utf8')) as Template;
}

function parseEnvironment(environment: string | undefined, id: string): [string, string] {
  const match = /^aws:\/\/([^/]+)\/(.+)$/.exec(environment ?? '');
  if (!match) {
    throw new AssemblyError(
      `Stack ${id} has environment ${JSON.stringify(environment)}, not aws://<account>/<region>. Fix: give every stack an explicit account and region (config/)`,
    );
  }
  return [match[1], match[2]];
}
