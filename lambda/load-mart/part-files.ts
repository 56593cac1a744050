/** The part files of one curated mart batch (`_mart/<dataset>/run_id=<runId>/part-*.csv[.gz]`). */
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';

/** Batch files are `part-*.csv` or `part-*.csv.gz`; anything else under the prefix (e.g. `_SUCCESS`) is ignored. */
export const PART_FILE = /(^|\/)part-[^/]*\.csv(\.gz)?$/;

/** Keys of the part files under `prefix`, sorted (the load order). */
export async function listPartKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) if (object.Key && PART_FILE.test(object.Key)) keys.push(object.Key);
  }
  return keys.sort();
}
