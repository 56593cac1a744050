/**
 * Accepted rows counted by the dataset's allowed metric dimensions (`metrics.dimensions` in its config): one count per
 * listed value, and one for "other" (anything else, nulls included), so the metrics one file writes are bounded by
 * config (config/schema.ts caps the columns and values), never by the data.
 */
import { type DatasetConfig, dimensionValues, OTHER_DIMENSION_VALUE } from '../../config/schema';

interface CountedColumn {
  readonly column: string;
  readonly boolean: boolean;
  readonly values: ReadonlySet<string>;
  readonly counts: Map<string, number>;
  /** Position in the CSV header (set by {@link DimensionCounts.bindCsvHeader}). */
  index: number;
}

export interface DimensionCount {
  readonly column: string;
  readonly value: string;
  readonly rows: number;
}

export class DimensionCounts {
  private readonly columns: CountedColumn[];

  constructor(dataset: Pick<DatasetConfig, 'columns' | 'metrics'>) {
    this.columns = dataset.metrics.dimensions.map((dimension) => ({
      column: dimension.column,
      boolean: dataset.columns.find((c) => c.name === dimension.column)?.type === 'boolean',
      values: new Set(dimensionValues(dataset.columns, dimension)),
      counts: new Map(),
      index: -1,
    }));
  }

  /** Whether the dataset has any dimension to count (stage A skips the work otherwise). */
  get active(): boolean {
    return this.columns.length > 0;
  }

  /** Counts one accepted JSON record. */
  countObject(record: unknown): void {
    const object = record as Record<string, unknown>;
    for (const column of this.columns) this.add(column, object[column.column]);
  }

  /** Learns the column positions from the CSV header. */
  bindCsvHeader(header: readonly (string | null)[]): void {
    for (const column of this.columns) column.index = header.indexOf(column.column);
  }

  /** Counts one accepted CSV record (empty fields are nulls). */
  countCsvFields(fields: readonly (string | null)[]): void {
    for (const column of this.columns) {
      const text = column.index < 0 ? undefined : fields[column.index];
      this.add(column, text === '' || text === null ? undefined : text);
    }
  }

  /**
   * Counts one accepted CSV line without quotes (the reader's fast path): its fields are the text between commas,
   * found by scanning to each dimension's position only.
   */
  countUnquotedCsvLine(line: string): void {
    for (const column of this.columns) {
      if (column.index < 0) {
        this.add(column, undefined);
        continue;
      }
      let start = 0;
      for (let field = 0; field < column.index && start >= 0; field++) {
        const comma = line.indexOf(',', start);
        start = comma < 0 ? -1 : comma + 1;
      }
      if (start < 0) {
        this.add(column, undefined);
        continue;
      }
      const end = line.indexOf(',', start);
      const text = line.slice(start, end < 0 ? line.length : end);
      this.add(column, text === '' ? undefined : text);
    }
  }

  /** The non-zero counts, column by column. */
  results(): DimensionCount[] {
    return this.columns.flatMap(({ column, counts }) => [...counts].map(([value, rows]) => ({ column, value, rows })));
  }

  private add(column: CountedColumn, raw: unknown): void {
    const value = bucket(column, raw);
    column.counts.set(value, (column.counts.get(value) ?? 0) + 1);
  }
}

function bucket(column: CountedColumn, raw: unknown): string {
  if (raw === null || raw === undefined) return OTHER_DIMENSION_VALUE;
  let text = String(raw);
  if (column.boolean) {
    const lower = text.toLowerCase();
    text = lower === '1' ? 'true' : lower === '0' ? 'false' : lower;
  }
  return column.values.has(text) ? text : OTHER_DIMENSION_VALUE;
}
