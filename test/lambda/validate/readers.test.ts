import { gzipSync } from 'node:zlib';
import { type DecodeInfo, decodeText } from '../../../lambda/validate/decode';
import {
  CsvReader,
  JsonDocumentReader,
  MAX_RECORD_CHARS,
  NdjsonReader,
  type RecordReader,
  UnreadableFileError,
} from '../../../lambda/validate/readers';
import type { CsvField } from '../../../lambda/validate/record-validator';

/** Feeds `text` to a reader in chunks of every size from 1 to 7 characters, so records straddle chunk boundaries. */
function feedInChunks(reader: () => RecordReader, text: string, chunkSize: number): void {
  const instance = reader();
  for (let i = 0; i < text.length; i += chunkSize) instance.push(text.slice(i, i + chunkSize));
  instance.end();
}

function readJson(kind: 'ndjson' | 'json', text: string, chunkSize = text.length): [string, number][] {
  const records: [string, number][] = [];
  const onRecord = (raw: string, line: number) => records.push([raw, line]);
  feedInChunks(
    () => (kind === 'ndjson' ? new NdjsonReader(onRecord) : new JsonDocumentReader(onRecord)),
    text,
    chunkSize,
  );
  return records;
}

type CsvOut = [CsvField[] | string, number, string];
function readCsv(text: string, chunkSize = text.length): CsvOut[] {
  const records: CsvOut[] = [];
  feedInChunks(
    () =>
      new CsvReader((record, line, raw) =>
        records.push(['fields' in record ? record.fields : record.problem, line, raw]),
      ),
    text,
    chunkSize,
  );
  return records;
}

describe('NdjsonReader', () => {
  test('yields each non-blank line with its line number, CRLF or LF, whatever the chunking', () => {
    const text = '{"a":1}\r\n\n  \n{"a":2}\n{"a":"x\\ny"}';
    for (const size of [1, 2, 3, 5, 7, text.length]) {
      expect(readJson('ndjson', text, size)).toEqual([
        ['{"a":1}', 1],
        ['{"a":2}', 4],
        ['{"a":"x\\ny"}', 5],
      ]);
    }
  });

  test('fails a file whose line exceeds the record limit (not line-delimited)', () => {
    const reader = new NdjsonReader(() => undefined);
    expect(() => reader.push('x'.repeat(MAX_RECORD_CHARS + 1))).toThrow(UnreadableFileError);
  });
});

describe('JsonDocumentReader', () => {
  const array = '[\n  {"a": 1, "s": "]},[\\"{"},\n  {"a": [2, {"b": 3}]}\n , "scalar", 42\n]\n';
  test('streams the elements of a top-level array, whatever the chunking', () => {
    for (const size of [1, 2, 3, 7, array.length]) {
      expect(readJson('json', array, size)).toEqual([
        ['{"a": 1, "s": "]},[\\"{"}', 2],
        ['{"a": [2, {"b": 3}]}', 3],
        ['"scalar"', 4],
        ['42', 4],
      ]);
    }
  });

  test('reads a single pretty-printed object and concatenated objects', () => {
    expect(readJson('json', '{\n  "a": 1\n}\n')).toEqual([['{\n  "a": 1\n}', 1]]);
    expect(readJson('json', '{"a":1}\n{"a":2}{"a":3}', 2)).toEqual([
      ['{"a":1}', 1],
      ['{"a":2}', 2],
      ['{"a":3}', 2],
    ]);
    expect(readJson('json', '[]')).toEqual([]);
    expect(readJson('json', '  \n')).toEqual([]);
  });

  test('fails truncated, unbalanced or non-JSON documents', () => {
    expect(() => readJson('json', '[{"a":1},{"a":')).toThrow(/ends in the middle of the record starting at line 1/);
    expect(() => readJson('json', '[{"a":1}')).toThrow(/ends before the closing "]" of its array/);
    expect(() => readJson('json', '[{"a":1}] {"b":2}')).toThrow(/after the end of the JSON array/);
    expect(() => readJson('json', '[{"a":1}}]')).toThrow(/brackets do not balance/);
    expect(() => readJson('json', 'PK\u0003\u0004')).toThrow(/not a JSON document: it starts with "P"/);
  });
});

describe('CsvReader', () => {
  const text =
    'id,note,amount\r\n' +
    '1,plain,1.5\r\n' +
    '2,"with, comma and ""quotes""",2\r\n' +
    '3,"multi\r\nline\nnote",\r\n' +
    '\r\n' +
    '4,"",""\r\n' +
    '5,last,9';
  test('reads RFC 4180 records: quotes, escaped quotes, quoted newlines, CRLF, empty vs NULL, whatever the chunking', () => {
    for (const size of [1, 2, 3, 5, 7, text.length]) {
      expect(readCsv(text, size)).toEqual([
        [['id', 'note', 'amount'], 1, 'id,note,amount'],
        [['1', 'plain', '1.5'], 2, '1,plain,1.5'],
        [['2', 'with, comma and "quotes"', '2'], 3, '2,"with, comma and ""quotes""",2'],
        [['3', 'multi\r\nline\nnote', null], 4, '3,"multi\r\nline\nnote",'],
        [['4', '', ''], 8, '4,"",""'],
        [['5', 'last', '9'], 9, '5,last,9'],
      ]);
    }
  });

  test('reports malformed records and goes on with the next line', () => {
    expect(readCsv('a,b\n1,x"y\n2,"q"z\n3,ok\n4,"open')).toEqual([
      [['a', 'b'], 1, 'a,b'],
      ['has a quote inside an unquoted field (field 2)', 2, '1,x"y'],
      ['has text after a closing quote (field 2)', 3, '2,"q"z'],
      [['3', 'ok'], 4, '3,ok'],
      ['has an unterminated quoted field', 5, '4,"open'],
    ]);
  });
});

describe('CsvReader fast lane', () => {
  test('hands lines without quotes to the line handler, and splits those it declines or that hold quotes', () => {
    const text = 'id,note\r\n1,taken\r\n2,declined\n3,"quoted, taken? no"\n\n4,taken';
    for (const size of [1, 2, 3, 5, 7, text.length]) {
      const lines: [string, number][] = [];
      const records: CsvOut[] = [];
      feedInChunks(
        () =>
          new CsvReader(
            (record, line, raw) => records.push(['fields' in record ? record.fields : record.problem, line, raw]),
            (raw, line) => {
              if (raw.includes('taken')) lines.push([raw, line]);
              return raw.includes('taken');
            },
          ),
        text,
        size,
      );
      expect(lines).toEqual([
        ['1,taken', 2],
        ['4,taken', 6],
      ]);
      expect(records).toEqual([
        [['id', 'note'], 1, 'id,note'],
        [['2', 'declined'], 3, '2,declined'],
        [['3', 'quoted, taken? no'], 4, '3,"quoted, taken? no"'],
      ]);
    }
  });
});

async function decodeAll(chunks: Buffer[]): Promise<{ text: string; info: DecodeInfo }> {
  const info: DecodeInfo = { gzip: false, bytesIn: 0, bytesOut: 0 };
  let text = '';
  async function* source() {
    yield* chunks;
  }
  for await (const part of decodeText(source(), info)) text += part;
  return { text, info };
}

function split(buffer: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return chunks;
}

describe('decodeText', () => {
  const text = 'naïve,café,日本,😀\n'.repeat(50);

  test('decodes UTF-8 split anywhere, strips a BOM, and inflates gzip detected by its magic bytes', async () => {
    const plain = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    for (const size of [1, 2, 3, 5, 64]) {
      expect((await decodeAll(split(plain, size))).text).toBe(text);
    }
    const zipped = await decodeAll(split(gzipSync(plain), 7));
    expect(zipped.text).toBe(text);
    expect(zipped.info).toMatchObject({ gzip: true, bytesOut: plain.length });
  });

  test('fails bad gzip, invalid UTF-8 and binary content as unreadable', async () => {
    const truncated = gzipSync(Buffer.from(text)).subarray(0, 40);
    await expect(decodeAll([truncated])).rejects.toThrow(/starts like gzip but cannot be decompressed/);
    await expect(decodeAll([Buffer.from([0x1f, 0x8b, 0x00, 0x01, 0x02])])).rejects.toThrow(UnreadableFileError);
    await expect(decodeAll(split(Buffer.from([0x61, 0xc3, 0x28, 0x62]), 1))).rejects.toThrow(/not UTF-8 text/);
    await expect(decodeAll([Buffer.from('abc\u0000def')])).rejects.toThrow(/NUL bytes/);
  });

  test('passes errors of the source itself through unchanged, gzip or not', async () => {
    const failing = (head: Buffer) =>
      (async function* () {
        yield head;
        throw new Error('socket hang up');
      })();
    const info: DecodeInfo = { gzip: false, bytesIn: 0, bytesOut: 0 };
    const drain = async (source: AsyncIterable<Buffer>) => {
      for await (const _ of decodeText(source, info));
    };
    await expect(drain(failing(Buffer.from('{"a":1}\n')))).rejects.toThrow('socket hang up');
    await expect(drain(failing(gzipSync(Buffer.from('x'.repeat(1000))).subarray(0, 20)))).rejects.toThrow(
      'socket hang up',
    );
  });
});
