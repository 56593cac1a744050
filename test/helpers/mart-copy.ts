/**
 * The loader's local path: stream the batch's part files into the staging table with COPY FROM STDIN (gunzipping
 * `.gz` parts), over the same `pg` client that holds the load transaction. Used on plain PostgreSQL (tests, the
 * benchmark, local runs); on Aurora the cluster imports the same files itself (lambda/load-mart/s3-import.ts).
 *
 * Memory stays flat whatever the batch size: each file is piped through, never buffered.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { quoteIdentifier, type Stager } from '../../lambda/load-mart/mart-loader';
import { listPartKeys, PART_FILE } from '../../lambda/load-mart/part-files';

/** Where the part files of one batch are read from. */
export interface BatchSource {
  /** Part file names or keys, in load order. */
  listParts(): Promise<string[]>;
  open(part: string): Promise<Readable>;
}

export function directorySource(directory: string): BatchSource {
  return {
    async listParts() {
      return (await readdir(directory)).filter((name) => PART_FILE.test(name)).sort();
    },
    async open(part) {
      return createReadStream(path.join(directory, part), { highWaterMark: 1 << 20 });
    },
  };
}

export function s3Source(s3: S3Client, bucket: string, prefix: string): BatchSource {
  return {
    listParts: () => listPartKeys(s3, bucket, prefix),
    async open(key) {
      return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
    },
  };
}

/**
 * COPY every part into the staging table. `HEADER MATCH` makes PostgreSQL check that each file's header names the
 * table's columns in order, so a file written for another layout fails instead of loading shifted values.
 */
export function copyStager(client: pg.PoolClient | pg.Client, source: BatchSource): Stager {
  return async (_tx, staging) => {
    const parts = await source.listParts();
    if (parts.length === 0) throw new Error('the batch has no part-*.csv or part-*.csv.gz file');
    const copy = `COPY ${staging.name} (${staging.columns.map(quoteIdentifier).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER MATCH)`;
    let rows = 0;
    for (const part of parts) {
      const input = await source.open(part);
      const target = client.query(copyFrom(copy));
      if (part.endsWith('.gz')) await pipeline(input, createGunzip(), target);
      else await pipeline(input, target);
      rows += target.rowCount;
    }
    return rows;
  };
}
