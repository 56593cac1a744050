/**
 * Writes one export: pages through the mart table by primary key (each page a short read-only transaction as the
 * reader login) and streams the rows as CSV into `exports/<id>.csv` of the artifacts bucket.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ExportRequest, MartTable } from '../api-shared/contract';
import { whitelistedTable } from '../api-shared/marts';
import { checkFilters, type KeysetPosition, positionOf, readPage } from '../api-shared/mart-query';
import type { SqlExecutor } from '../shared/sql';
import { csvEncoder } from './csv';
import { ObjectUpload } from './object-upload';

export interface ExportTarget {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly kmsKeyArn: string;
  /** @default 8 MiB */
  readonly partBytes?: number;
}

export interface ExportResult {
  readonly rowCount: number;
  readonly bytes: number;
  readonly parts: number;
}

export async function exportCsv(
  executor: SqlExecutor,
  tables: ReadonlyMap<string, MartTable>,
  request: ExportRequest,
  target: ExportTarget,
  pageRows: number,
): Promise<ExportResult> {
  // Checked again here: the job item could have been written by an older version of the request handler.
  const table = whitelistedTable(tables, request.table);
  const filters = checkFilters(table, request.filters);
  const csv = csvEncoder(table);
  const writer = new ObjectUpload(target.s3, {
    bucket: target.bucket,
    key: target.key,
    kmsKeyArn: target.kmsKeyArn,
    contentType: 'text/csv; charset=utf-8',
    partBytes: target.partBytes,
  });
  try {
    await writer.write(csv.header);
    let rowCount = 0;
    let after: KeysetPosition | undefined;
    for (;;) {
      const rows = await readPage(executor, table, filters, after, pageRows);
      if (rows.length > 0) {
        await writer.write(rows.map(csv.row).join(''));
        rowCount += rows.length;
        after = positionOf(table, rows[rows.length - 1]);
      }
      if (rows.length < pageRows) break;
    }
    const { bytes, parts } = await writer.complete();
    return { rowCount, bytes, parts };
  } catch (error) {
    await writer.abort(error as Error);
    throw error;
  }
}
