/**
 * The pipeline's source action, from `platform.source`: GitHub through a CodeConnections connection (recommended),
 * GitHub with a personal access token kept in Secrets Manager, or a CodeCommit repository (existing or created).
 */
import { type App, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import { CodePipelineSource } from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import type { PlatformConfig, SourceConfig } from '../../config/schema';

export interface SourceRepositoryStackProps extends StackProps {
  /** Name of the CodeCommit repository to create. */
  readonly repositoryName: string;
}

/** The CodeCommit repository created for the platform, in a stack of its own. */
export class SourceRepositoryStack extends Stack {
  readonly repository: codecommit.IRepository;

  constructor(scope: Construct, id: string, props: SourceRepositoryStackProps) {
    super(scope, id, props);
    const repository = new codecommit.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      description: 'Source of the data platform; its branches drive the delivery pipelines',
    });
    // The repository is the system of record of the code: deleting the stack must not delete it.
    repository.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.repository = repository;
  }
}

/**
 * Creates the CodeCommit repository stack when `platform.source` asks for a new repository, else returns undefined.
 * The repository lives outside the pipeline stacks so that several pipelines (one per environment) can share it and
 * deleting a pipeline never deletes the code.
 */
export function addSourceRepositoryStack(app: App, platform: PlatformConfig): SourceRepositoryStack | undefined {
  const source = platform.source;
  if (source.type !== 'codecommit' || !source.create) return undefined;
  return new SourceRepositoryStack(app, 'SourceRepository', {
    stackName: sourceRepositoryStackName(platform),
    env: { account: platform.deployment.account, region: platform.deployment.region },
    repositoryName: source.repositoryName,
    description: `CodeCommit repository ${source.repositoryName} of the data platform`,
  });
}

/** Name of the stack holding the created CodeCommit repository. */
export function sourceRepositoryStackName(platform: PlatformConfig): string {
  return `${platform.prefix}-source-repository`;
}

/**
 * The CDK Pipelines source for `branch`. Must be called once per pipeline stack (`scope`): for CodeCommit it imports
 * the repository into that stack by name, which needs no cross-stack reference.
 */
export function pipelineSource(scope: Construct, source: SourceConfig, branch: string): CodePipelineSource {
  switch (source.type) {
    case 'github-connection':
      return CodePipelineSource.connection(source.repository, branch, { connectionArn: source.connectionArn });
    case 'github-token':
      return CodePipelineSource.gitHub(source.repository, branch, {
        authentication: SecretValue.secretsManager(source.tokenSecretName),
      });
    case 'codecommit':
      return CodePipelineSource.codeCommit(
        codecommit.Repository.fromRepositoryName(scope, 'SourceRepository', source.repositoryName),
        branch,
      );
  }
}
