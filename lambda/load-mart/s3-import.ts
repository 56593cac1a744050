/**
 * The loader's Aurora path: the cluster reads each part file from S3 itself (`aws_s3.table_import_from_s3`, through the
 * S3 import role associated with the cluster), so no data passes through Lambda and the Data API carries only SQL.
 * Gzip parts are decompressed by Aurora when the object has `Content-Encoding: gzip`.
 */
import { quoteIdentifier, type Stager } from './mart-loader';

export function s3ImportStager(options: { bucket: string; keys: readonly string[]; region: string }): Stager {
  return async (tx, staging) => {
    if (options.keys.length === 0) throw new Error('the batch has no part-*.csv or part-*.csv.gz file');
    for (const key of options.keys) {
      await tx.query(
        `SELECT aws_s3.table_import_from_s3(:table, :columns, :options,
           aws_commons.create_s3_uri(:bucket, :key, :region))`,
        {
          table: staging.name,
          // Goes into the COPY column list as written: quoted, so a column named like a keyword (order, user) loads.
          columns: staging.columns.map(quoteIdentifier).join(','),
          options: '(FORMAT csv, HEADER MATCH)',
          bucket: options.bucket,
          key,
          region: options.region,
        },
      );
    }
    return undefined; // the import reports rows as text; the loader counts the staging table instead
  };
}
