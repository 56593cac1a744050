/** The part files of one curated mart batch (`_mart/<dataset>/run_id=<runId>/part-*.csv[.gz]`). */
import type { S3Client } from './aws/s3';

/** Batch files are `part-*.csv` or `part-*.csv.gz`; anything else under the prefix (e.g. `_SUCCESS`) is ignored. */
export const PART_FILE = /(^|\/)part-[^/]*\.csv(\.gz)?$/;

/** Keys of the part files under `prefix`, sorted (the load order). */
export async function listPartKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.listObjectsV2({ Bucket: bucket, Prefix: prefix, ContinuationToken: token });
    for (const object of page.Contents) if (object.Key && PART_FILE.test(object.Key)) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}
