import stringWidth from 'string-width';

/** Where the CLI writes: process.stdout / process.stderr, or a test's buffer. */
export interface Output {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface CliIO {
  readonly stdout: Output;
  readonly stderr: Output;
  /** The environment the config is read from (process.env in the bin). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Writes, waiting for 'drain' when the stream asks for it, so a large export never piles up in memory. */
export async function writeAll(out: Output, text: string): Promise<void> {
  if (out.write(text) || !out.once) return;
  await new Promise<void>((resolve) => out.once?.('drain', resolve));
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Control characters (C0, DEL, C1) and bidi overrides would let a dead job's upstream message or
 * a crafted id move the cursor or recolour the operator's terminal; human output shows them as '?'.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * One value as table text: null as '-', objects as JSON, unsafe characters replaced, cut to `max`
 * terminal columns. Widths are columns, not UTF-16 units: the upstreams' messages are Chinese, and
 * each of those characters takes two columns.
 */
export function cell(value: unknown, max = Number.POSITIVE_INFINITY): string {
  let text: string;
  if (value === null || value === undefined) text = '-';
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  text = text.replace(UNSAFE, '?');
  return stringWidth(text) > max ? `${cutToWidth(text, Math.max(1, max - 1))}…` : text;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The longest start of `text` that fits in `width` columns, cut between whole characters. */
function cutToWidth(text: string, width: number): string {
  let used = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width) break;
    used += w;
    end = index + segment.length;
  }
  return text.slice(0, Math.max(end, 1));
}

/** `text` padded with spaces to `width` columns. */
function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - stringWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

export interface Column<Row> {
  readonly title: string;
  readonly value: (row: Row) => unknown;
  /** Longest cell shown; longer text is cut with '…' (full text is in --json). */
  readonly max?: number;
  readonly align?: 'left' | 'right';
}

/** A compact table: a header row, then one row per item, columns two spaces apart. */
export function table<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row), column.max)));
  const widths = columns.map((column, i) =>
    Math.max(stringWidth(column.title), ...cells.map((r) => stringWidth(r[i]!))),
  );
  const line = (texts: readonly string[]) =>
    texts
      .map((text, i) => pad(text, widths[i]!, columns[i]!.align))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.title.toUpperCase())), ...cells.map(line)]
    .map((text) => `${text}\n`)
    .join('');
}

/** `label  value` lines for one record. */
export function record(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...pairs.map(([label]) => stringWidth(label)));
  return pairs.map(([label, value]) => `${pad(label, width)}  ${cell(value)}\n`).join('');
}
