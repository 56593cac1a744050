/**
 * The contract between the events route and stage A: what Firehose delivers from the records the request template
 * builds is an ordinary landed object that the validate function reads as NDJSON gzip, whatever the dataset's format.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { eventTemplates } from '../../../lib/constructs/api-templates';
import { EVENT_FILE_EXTENSION, FIREHOSE_ERRORS_PREFIX } from '../../../lib/constructs/event-streams';
import { type ObjectLocation, type ObjectStore, ObjectWriter } from '../../../lambda/validate/object-store';
import { formatOf, ingestDateOf, validateFile } from '../../../lambda/validate/validate-file';
import { exampleConfig } from '../../helpers/app';
import { render } from '../assets/api/vtl';

/** The validate function's storage seam in memory. */
class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  async read(location: ObjectLocation): Promise<AsyncIterable<Uint8Array>> {
    return Readable.from([this.objects.get(`${location.bucket}/${location.key}`)!]);
  }
  createWriter(bucket: string, key: string): ObjectWriter {
    const parts: Buffer[] = [];
    return new ObjectWriter({
      putWhole: async (body) => void this.objects.set(`${bucket}/${key}`, Buffer.from(body)),
      begin: async () => undefined,
      uploadPart: async (partNumber, body) => {
        parts[partNumber - 1] = Buffer.from(body);
      },
      complete: async () => void this.objects.set(`${bucket}/${key}`, Buffer.concat(parts)),
      abort: async () => undefined,
    });
  }
  async put(bucket: string, key: string, body: string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, Buffer.from(body));
  }
  async copy(from: ObjectLocation, to: { bucket: string; key: string }): Promise<void> {
    this.objects.set(`${to.bucket}/${to.key}`, this.objects.get(`${from.bucket}/${from.key}`)!);
  }
}

/** A key as Firehose names a delivered object: `<prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`. */
const deliveredKey = (dataset: string) =>
  `${dataset}/ingest_date=2026-11-22/dp-dev-${dataset}-events-1-2026-11-22-14-28-32-0b7f9a52-6c1e-4d0e-9a55-1f2f3e4d5c6b${EVENT_FILE_EXTENSION}`;

describe('objects delivered by the event streams', () => {
  const config = exampleConfig();
  const clicks = config.datasets.find((dataset) => dataset.name === 'clicks')!;
  const templates = eventTemplates(
    config.datasets.map((dataset) => dataset.name),
    'dp-dev',
  );

  test('are NDJSON to the validator by their extension, even for a CSV dataset, with the ingest date of the prefix', () => {
    expect(clicks.format).toBe('csv');
    expect(formatOf(deliveredKey('clicks'), clicks.format)).toBe('ndjson');
    expect(ingestDateOf(deliveredKey('clicks'))).toBe('2026-11-22');
  });

  test('land Firehose errors outside every dataset prefix stage A reacts to', () => {
    for (const dataset of config.datasets) expect(FIREHOSE_ERRORS_PREFIX.startsWith(`${dataset.name}/`)).toBe(false);
    expect(config.datasets.map((dataset) => dataset.name)).not.toContain(FIREHOSE_ERRORS_PREFIX.replace(/\/$/, ''));
  });

  test('validate row by row: the records the template sends, concatenated and gzipped as Firehose delivers them', async () => {
    const good = (id: string) =>
      JSON.stringify({
        click_id: `clk-${id}`,
        impression_id: 'imp-00000000000000aa',
        click_time: '2026-11-22T14:28:32Z',
        campaign_id: 42,
        landing_url: 'https://example.com/?a=1,b=2',
        cost_usd: 0.125,
        is_fraud_suspected: false,
      });
    const body = `${good('00000000000000a1')}\n${JSON.stringify({ click_id: 'clk-bad' })}\n${good('00000000000000a2')}\n`;
    const { output } = render(templates.requests['application/x-ndjson'], {
      body,
      path: { dataset: 'clicks' },
      headers: { 'Content-Type': 'application/x-ndjson' },
    });
    const sent = JSON.parse(output) as { Records: { Data: string }[] };
    // Firehose concatenates the records' data as they are: the newline each record carries separates them.
    const delivered = gzipSync(Buffer.concat(sent.Records.map((record) => Buffer.from(record.Data, 'base64'))));

    const store = new MemoryStore();
    const key = deliveredKey('clicks');
    store.objects.set(`landing/${key}`, delivered);
    const result = await validateFile({
      store,
      input: { bucket: 'landing', key, dataset: 'clicks', runId: 'r1' },
      dataset: clicks,
      artifactsBucket: 'artifacts',
    });
    expect(result.format).toBe('ndjson');
    expect(result.decode.gzip).toBe(true);
    expect(result.output).toEqual(
      expect.objectContaining({
        status: 'VALID',
        ingestDate: '2026-11-22',
        rowsTotal: 3,
        rowsValid: 2,
        rowsRejected: 1,
        reason: expect.stringMatching(/^1 of 3 rows rejected; first: line 2: /),
      }),
    );
  });
});
