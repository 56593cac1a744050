/** GET /v1/exports/{id}: parse the id -> read the caller's job -> { status, downloadUrl? (presigned GET), error? }. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ExportJobs } from '../api-shared/export-jobs';
import { callerOf, json, logFailure, responseForError } from '../api-shared/http';
import { DynamoDbDocumentClient } from '../shared/aws/dynamodb';
import { S3Presigner } from '../shared/aws/s3-presign';
import { requireEnv } from '../shared/env';
import { exportStatus, type StatusDependencies } from './status';
import { withLambdaContext } from '../shared/logger';
import { EXPORT_STATUS_ENV } from './contract';

export function createHandler(deps: StatusDependencies) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext.requestId;
    try {
      return json(200, await exportStatus(deps, event.pathParameters?.id ?? '', callerOf(event)));
    } catch (error) {
      logFailure('export status', error, requestId);
      return responseForError(error, requestId);
    }
  };
}

export const handler = withLambdaContext(
  createHandler({
    jobs: new ExportJobs(new DynamoDbDocumentClient(), requireEnv(EXPORT_STATUS_ENV.exportsTable)),
    s3: new S3Presigner(),
    bucket: requireEnv(EXPORT_STATUS_ENV.artifactsBucket),
    urlExpirySeconds: Number(requireEnv(EXPORT_STATUS_ENV.urlExpirySeconds)),
  }),
);
