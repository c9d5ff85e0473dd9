import { open, rename, rm } from 'node:fs/promises';
import type { GroupBy, TimeRange } from '../ledger/index.js';
import type { LedgerReader } from '../records/ledger-reader.js';
import { expectPositionals, parseChoice, parseTime, stringOption, type Values } from './args.js';
import type { Command } from './command.js';
import { Failure, UsageError } from './errors.js';
import { type Output, table, writeAll } from './output.js';

const GROUPS = ['account', 'shop', 'operation', 'day'] as const satisfies readonly GroupBy[];
/** Export lines are gathered into writes of about this size rather than one write per line. */
const CHUNK_CHARS = 64 * 1024;
const RANGE_HELP = [
  '--from <time>          from this time on (inclusive): ISO 8601 (2024-05-01, 2024-05-01T08:00:00+08:00)',
  '                       or epoch milliseconds',
  '--to <time>            up to this time (exclusive), same forms',
];

function readRange(values: Values): TimeRange {
  const from = stringOption(values, 'from');
  const to = stringOption(values, 'to');
  const range = {
    ...(from === undefined ? {} : { from: parseTime(from, 'from') }),
    ...(to === undefined ? {} : { to: parseTime(to, 'to') }),
  };
  if (range.from !== undefined && range.to !== undefined && range.to < range.from) {
    throw new UsageError('--to is before --from');
  }
  return range;
}

export const ledgerSummaryCommand: Command = {
  name: 'ledger summary',
  summary: 'coupons spent: total, calls and unknown charges, optionally by group',
  usage: ['fulfill ledger summary [--from <time>] [--to <time>] [--group-by account|shop|operation|day]'],
  help: [...RANGE_HELP, '--group-by <g>         totals per account, shop, operation or day (UTC)'],
  options: { from: { type: 'string' }, to: { type: 'string' }, 'group-by': { type: 'string' } },
  prepare(values, positionals) {
    expectPositionals(positionals, 0, 0, '');
    const range = readRange(values);
    const by = stringOption(values, 'group-by');
    const groupBy = by === undefined ? undefined : parseChoice(by, 'group-by', GROUPS);
    return async (session) => {
      const summary = await (await session.ledger()).summary({
        ...range,
        ...(groupBy === undefined ? {} : { groupBy }),
      });
      await session.print(summary, () =>
        table(
          [
            { title: groupBy ?? 'key', value: (g: { key: string }) => g.key },
            { title: 'total', value: (g) => g.total, align: 'right' },
            { title: 'calls', value: (g) => g.calls, align: 'right' },
            { title: 'unknown', value: (g) => g.unknown, align: 'right' },
          ],
          [...summary.groups, { ...summary, key: 'all' }],
        ),
      );
      return 0;
    };
  },
};

export const ledgerExportCommand: Command = {
  name: 'ledger export',
  summary: 'export ledger entries as CSV (to stdout, or to a file)',
  usage: ['fulfill ledger export [--from <time>] [--to <time>] [--out <file.csv>]'],
  help: [
    ...RANGE_HELP,
    '--out <file>           write the CSV to this file (replaced whole, only once complete)',
  ],
  notes: [
    'Without --out the CSV goes to stdout; with --json (and no --out) the entries go to stdout as',
    'a JSON array instead. With --out and --json, stdout gets {"out", "entries"}.',
  ],
  options: { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } },
  prepare(values, positionals) {
    expectPositionals(positionals, 0, 0, '');
    const range = readRange(values);
    const out = stringOption(values, 'out');
    if (out === '') throw new UsageError('--out needs a file name');
    return async (session) => {
      const ledger = await session.ledger();
      if (out === undefined) {
        if (session.json) await writeJsonArray(ledger, range, session.io.stdout);
        else await writeCsv(ledger, range, (text) => writeAll(session.io.stdout, text));
        return 0;
      }
      const entries = await exportToFile(ledger, range, out);
      await session.print({ out, entries }, () => `wrote ${entries} entries to ${out}\n`);
      return 0;
    };
  },
};

/** Streams the CSV in chunks; returns the number of entries (lines after the header). */
async function writeCsv(
  ledger: LedgerReader,
  range: TimeRange,
  write: (text: string) => Promise<void>,
): Promise<number> {
  let buffer = '';
  let lines = 0;
  for await (const line of ledger.csv(range)) {
    buffer += line;
    lines += 1;
    if (buffer.length >= CHUNK_CHARS) {
      await write(buffer);
      buffer = '';
    }
  }
  if (buffer !== '') await write(buffer);
  return lines - 1;
}

/** Entries page by page as one JSON array, so a large ledger never sits whole in memory. */
async function writeJsonArray(ledger: LedgerReader, range: TimeRange, out: Output): Promise<void> {
  await writeAll(out, '[');
  let first = true;
  let cursor: string | undefined;
  do {
    const page = await ledger.entries({
      ...range,
      limit: 1_000,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const entry of page.items) {
      await writeAll(out, `${first ? '' : ','}\n  ${JSON.stringify(entry)}`);
      first = false;
    }
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  await writeAll(out, first ? ']\n' : '\n]\n');
}

/**
 * Writes to a temporary file beside the target and renames it into place, so a failed export never
 * leaves a half file under the name a person will open.
 */
async function exportToFile(ledger: LedgerReader, range: TimeRange, path: string): Promise<number> {
  const temporary = `${path}.partial-${process.pid}`;
  const handle = await open(temporary, 'wx').catch((err: NodeJS.ErrnoException) => {
    throw new Failure(`cannot write ${path} (${err.code ?? err.message})`);
  });
  try {
    const entries = await writeCsv(ledger, range, async (text) => {
      await handle.write(text);
    });
    await handle.close();
    await rename(temporary, path);
    return entries;
  } catch (err) {
    await handle.close().catch(() => undefined); // already closed when the rename failed
    await rm(temporary, { force: true });
    throw err;
  }
}
