/**
 * Fills the loader's staging table from a batch's CSV part files with parameterized INSERTs, inside the load
 * transaction. The local stand-in for Aurora's server-side S3 import where COPY FROM STDIN is not available (the
 * embedded PGlite), so the data path tests run on any machine; the COPY path has its own tests.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { quoteIdentifier, type Stager } from '../../../lambda/load-mart/mart-loader';

/** RFC 4180 records of a CSV text: quoted fields may hold commas, quotes ("") and newlines; an unquoted empty field is NULL. */
export function parseCsv(text: string): (string | null)[][] {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
      continue;
    }
    if (char === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (char === ',' || char === '\n') {
      record.push(field === '' && !wasQuoted ? null : field);
      field = '';
      wasQuoted = false;
      if (char === '\n') {
        records.push(record);
        record = [];
      }
    } else if (char !== '\r') field += char;
  }
  if (field !== '' || wasQuoted || record.length > 0) {
    record.push(field === '' && !wasQuoted ? null : field);
    records.push(record);
  }
  return records;
}

export function insertStager(s3: S3Client, bucket: string, keys: readonly string[]): Stager {
  return async (tx, staging) => {
    if (keys.length === 0) throw new Error('the batch has no part-*.csv file');
    let rows = 0;
    for (const key of keys) {
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const [header, ...records] = parseCsv(await Body!.transformToString());
      if (JSON.stringify(header) !== JSON.stringify(staging.columns)) {
        throw new Error(`the header of ${key} (${header?.join(',')}) does not name the table's columns in order`);
      }
      const columns = staging.columns.map(quoteIdentifier).join(', ');
      for (const record of records) {
        const params = Object.fromEntries(record.map((value, index) => [`v${index}`, value]));
        await tx.query(
          `INSERT INTO ${staging.name} (${columns}) VALUES (${record.map((_, index) => `:v${index}`).join(', ')})`,
          params,
        );
        rows++;
      }
    }
    return rows;
  };
}
