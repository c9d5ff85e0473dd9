/** One line of a benchmark's table: the product's figure beside its baseline's. */
export interface Row {
  readonly metric: string;
  readonly product: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly goal: string;
  /** 'yes', 'NO', or '' when the row has no goal. */
  readonly met: string;
}

export interface BenchReport {
  readonly name: string;
  readonly title: string;
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
  /** Raw figures, written to bench/results/ as JSON. */
  readonly raw: Record<string, unknown>;
}

const HEADERS = ['metric', 'product', 'baseline', 'ratio', 'goal', 'met?'] as const;

/** The table as Markdown (readable in a terminal, pasteable into BENCHMARKS.md). */
export function renderTable(report: BenchReport): string {
  const cells = report.rows.map((row) => [
    row.metric,
    row.product,
    row.baseline,
    row.ratio,
    row.goal,
    row.met,
  ]);
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...cells.map((line) => line[column]!.length)),
  );
  const line = (values: readonly string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column]!)).join(' | ')} |`;
  const out = [
    `### ${report.name}: ${report.title}`,
    '',
    line(HEADERS),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...cells.map(line),
  ];
  if (report.notes.length > 0) out.push('', ...report.notes.map((note) => `- ${note}`));
  return out.join('\n');
}

/** A number with `digits` decimals and thousands separators. */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(product: number, baseline: number, digits = 2): string {
  if (!Number.isFinite(product) || !Number.isFinite(baseline) || baseline === 0) return '—';
  return fmt(product / baseline, digits);
}

export function met(ok: boolean): string {
  return ok ? 'yes' : 'NO';
}

/** Decimal megabytes (10^6 bytes), as the goals are stated. */
export function mb(bytes: number): string {
  return `${fmt(bytes / 1e6, 1)} MB`;
}
