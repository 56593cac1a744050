/** Reads an export job for its caller and, once it has succeeded, presigns a short-lived download URL. */
import type { ExportJobs } from '../api-shared/export-jobs';
import type { ExportStatus } from '../api-shared/contract';
import type { S3Presigner } from '../shared/aws/s3-presign';
import { InvalidInputError, NotFoundError } from '../shared/errors';

export interface StatusDependencies {
  readonly jobs: ExportJobs;
  readonly s3: S3Presigner;
  readonly bucket: string;
  readonly urlExpirySeconds: number;
}

export interface ExportStatusBody {
  readonly id: string;
  readonly status: ExportStatus;
  readonly table: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly rowCount?: number;
  readonly bytes?: number;
  readonly downloadUrl?: string;
  readonly downloadUrlExpiresAt?: string;
  readonly error?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function exportStatus(deps: StatusDependencies, id: string, caller: string): Promise<ExportStatusBody> {
  if (!UUID.test(id)) {
    throw new InvalidInputError(
      `Export id ${JSON.stringify(id.slice(0, 64))} is not a job id. Fix: use the "id" returned by POST /v1/exports`,
    );
  }
  const job = await deps.jobs.get(id);
  // Another caller's job is reported exactly like a missing one: ids are not a way to probe for others' exports.
  if (!job || job.requestedBy !== caller) {
    throw new NotFoundError(`No export job ${id} for this caller. Fix: check the id; jobs expire after some days`);
  }
  const body: ExportStatusBody = {
    id: job.id,
    status: job.status,
    table: job.request.table,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    rowCount: job.rowCount,
    bytes: job.bytes,
    error: job.status === 'SUCCEEDED' ? undefined : job.error,
  };
  if (job.status !== 'SUCCEEDED' || !job.objectKey) return body;
  const downloadUrl = await deps.s3.presignGetObject(
    {
      Bucket: deps.bucket,
      Key: job.objectKey,
      ResponseContentDisposition: `attachment; filename="${job.request.table}-${job.id}.csv"`,
    },
    deps.urlExpirySeconds,
  );
  return {
    ...body,
    downloadUrl,
    downloadUrlExpiresAt: new Date(Date.now() + deps.urlExpirySeconds * 1000).toISOString(),
  };
}
