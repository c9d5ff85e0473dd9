import { csvHeader, csvRow } from '../ledger/csv.js';
import {
  type EntriesPage,
  type EntriesQuery,
  type LedgerEntry,
  LedgerError,
  type Summary,
  type SummaryQuery,
  type TimeRange,
  type Totals,
} from '../ledger/index.js';
import { checkPageLimit, checkRange, decodeCursor, encodeCursor, member } from '../ledger/members.js';
import type { Pool } from './pool.js';

/** What the /v1/ledger routes read: the Redis ledger, or this one over PostgreSQL. */
export interface LedgerReader {
  summary(q?: SummaryQuery): Promise<Summary>;
  entries(q?: EntriesQuery): Promise<EntriesPage>;
  csv(q?: TimeRange): AsyncIterable<string>;
}

/** Rows read per round trip when an export walks a range. */
const SCAN_BATCH = 1_000;

const GROUP_KEYS = {
  account: 'account',
  shop: 'shop',
  operation: 'operation',
  // The UTC date, as the Redis ledger groups by the first ten characters of `at`.
  day: `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
} as const;

const COLUMNS = `id, (extract(epoch FROM at) * 1000)::bigint::text AS ms, account, provider, operation, shop,
  order_ref, job_id, attempt, amount::text AS amount, status`;

interface Row {
  id: string;
  ms: string;
  account: string;
  provider: string;
  operation: string;
  shop: string;
  order_ref: string;
  job_id: string;
  attempt: number;
  amount: string | null;
  status: string;
}

/**
 * The ledger's reads over PostgreSQL, answering as the Redis ledger does: the same totals (summed
 * exactly as numeric), the same order (time, then id in byte order) and the same opaque cursors.
 */
export class SqlLedgerReader implements LedgerReader {
  constructor(private readonly pool: Pool) {}

  async summary(q: SummaryQuery = {}): Promise<Summary> {
    if (q.groupBy !== undefined && !(q.groupBy in GROUP_KEYS)) {
      throw new LedgerError('bad_query', `groupBy must be account, shop, operation or day`);
    }
    const [where, params] = rangeWhere(checkRange(q));
    const totals = `coalesce(sum(amount), 0)::text AS total, count(*)::int AS calls,
      (count(*) FILTER (WHERE amount IS NULL))::int AS unknown`;
    const all = await this.pool.query<TotalsRow>(`SELECT ${totals} FROM ledger_entries ${where}`, params);
    const groups =
      q.groupBy === undefined
        ? []
        : (
            await this.pool.query<TotalsRow & { key: string }>(
              `SELECT ${GROUP_KEYS[q.groupBy]} AS key, ${totals} FROM ledger_entries ${where} GROUP BY 1`,
              params,
            )
          ).rows
            .map((r) => ({ key: r.key, ...totalsOf(r) }))
            .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { ...totalsOf(all.rows[0]!), groups };
  }

  async entries(q: EntriesQuery = {}): Promise<EntriesPage> {
    const limit = checkPageLimit(q.limit);
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const rows = await this.page(checkRange(q), after, limit + 1);
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(entryOf);
    const last = items.at(-1);
    return { items, next: more && last ? encodeCursor(member(Date.parse(last.at), last.id)) : null };
  }

  async *csv(q: TimeRange = {}): AsyncIterable<string> {
    const range = checkRange(q);
    yield csvHeader();
    let after: string | undefined;
    for (;;) {
      const rows = await this.page(range, after, SCAN_BATCH);
      for (const row of rows) yield csvRow(entryOf(row));
      if (rows.length < SCAN_BATCH) return;
      const last = rows.at(-1)!;
      after = member(Number(last.ms), last.id);
    }
  }

  /** Rows of [from, to) after the cursor's member, in index order. */
  private async page(range: TimeRange, after: string | undefined, count: number): Promise<Row[]> {
    const [where, params] = rangeWhere(range);
    const clauses = where === '' ? [] : [where.slice('WHERE '.length)];
    if (after !== undefined) {
      const ms = Number(after.slice(0, 15));
      params.push(new Date(ms).toISOString(), after.slice(16));
      clauses.push(
        `(at, id COLLATE "C") > ($${params.length - 1}::timestamptz, $${params.length}::text COLLATE "C")`,
      );
    }
    params.push(count);
    const sql = `SELECT ${COLUMNS} FROM ledger_entries ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
      ORDER BY at, id COLLATE "C" LIMIT $${params.length}`;
    return (await this.pool.query<Row>(sql, params)).rows;
  }
}

interface TotalsRow {
  total: string;
  calls: number;
  unknown: number;
}

function totalsOf(r: TotalsRow): Totals {
  // numeric's exact decimal, to the nearest number: what the Redis ledger's exact sum gives.
  return { total: Number(r.total), calls: r.calls, unknown: r.unknown };
}

function entryOf(r: Row): LedgerEntry {
  return {
    id: r.id,
    at: new Date(Number(r.ms)).toISOString(),
    account: r.account,
    provider: r.provider as LedgerEntry['provider'],
    operation: r.operation as LedgerEntry['operation'],
    shop: r.shop,
    order: r.order_ref,
    jobId: r.job_id,
    attempt: r.attempt,
    amount: r.amount === null ? null : Number(r.amount),
    status: r.status as LedgerEntry['status'],
  };
}

function rangeWhere(range: TimeRange): [string, unknown[]] {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (range.from !== undefined) {
    params.push(new Date(range.from).toISOString());
    clauses.push(`at >= $${params.length}::timestamptz`);
  }
  if (range.to !== undefined) {
    params.push(new Date(range.to).toISOString());
    clauses.push(`at < $${params.length}::timestamptz`);
  }
  return [clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params];
}
