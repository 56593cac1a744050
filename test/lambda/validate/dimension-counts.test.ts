import type { DatasetConfig } from '../../../config/schema';
import { DimensionCounts } from '../../../lambda/validate/dimension-counts';
import { exampleConfig } from '../../helpers/app';

const impressions = exampleConfig().datasets.find((d) => d.name === 'impressions')!;
const clicks = exampleConfig().datasets.find((d) => d.name === 'clicks')!;

describe('DimensionCounts', () => {
  test('counts JSON records per allowed value; nulls and unknown values count as "other"', () => {
    const counts = new DimensionCounts(impressions);
    for (const record of [
      { placement: 'banner', device_type: 'mobile' },
      { placement: 'banner', device_type: null },
      { placement: 'video' },
      { placement: 'video', device_type: 'toaster' },
    ]) {
      counts.countObject(record);
    }
    expect(counts.results()).toEqual([
      { column: 'placement', value: 'banner', rows: 2 },
      { column: 'placement', value: 'video', rows: 2 },
      { column: 'device_type', value: 'mobile', rows: 1 },
      { column: 'device_type', value: 'other', rows: 3 },
    ]);
  });

  test('counts CSV records by header position, on both reader paths, booleans as the validator reads them', () => {
    const counts = new DimensionCounts(clicks);
    const header = clicks.columns.map((c) => c.name);
    counts.bindCsvHeader(header);
    const at = header.indexOf('is_fraud_suspected');
    const line = (value: string) => header.map((_, i) => (i === at ? value : 'x')).join(',');
    counts.countUnquotedCsvLine(line('true'));
    counts.countUnquotedCsvLine(line('0'));
    counts.countUnquotedCsvLine(line('TRUE'));
    counts.countCsvFields(header.map((_, i) => (i === at ? 'False' : 'x')));
    counts.countCsvFields(header.map((_, i) => (i === at ? null : 'x')));
    expect(counts.results()).toEqual([
      { column: 'is_fraud_suspected', value: 'true', rows: 2 },
      { column: 'is_fraud_suspected', value: 'false', rows: 2 },
      { column: 'is_fraud_suspected', value: 'other', rows: 1 },
    ]);
  });

  test('a listed subset of values leaves the rest of the enum to "other"; a dataset without dimensions counts nothing', () => {
    const subset: DatasetConfig = {
      ...impressions,
      metrics: { dimensions: [{ column: 'placement', values: ['banner'] }], ratios: [] },
    };
    const counts = new DimensionCounts(subset);
    counts.countObject({ placement: 'banner' });
    counts.countObject({ placement: 'native' });
    expect(counts.results()).toEqual([
      { column: 'placement', value: 'banner', rows: 1 },
      { column: 'placement', value: 'other', rows: 1 },
    ]);
    const none = new DimensionCounts({ ...impressions, metrics: { dimensions: [], ratios: [] } });
    expect(none.active).toBe(false);
    none.countObject({ placement: 'banner' });
    expect(none.results()).toEqual([]);
  });
});
