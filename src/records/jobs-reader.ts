import type { JobName } from '../jobs/index.js';
import type { JobView } from '../queues/service.js';
import type { Pool } from './pool.js';

/** `GET /v1/jobs` filters; `from`/`to` bound the finish time (epoch ms, `to` exclusive). */
export interface JobsQuery {
  readonly account?: string;
  readonly state?: 'completed' | 'dead';
  readonly queue?: 'ship' | 'sync';
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  readonly cursor?: string;
}

export interface JobsPage {
  readonly items: JobView[];
  readonly next: string | null;
}

/** The cursor did not come from this listing. */
export class BadJobsCursor extends Error {
  override readonly name = 'BadJobsCursor';
}

interface Row {
  queue: string;
  id: string;
  name: string;
  state: 'completed' | 'dead';
  ms: string;
  result: unknown;
  charge: string | null;
  reason: string | null;
  attempts_made: number | null;
}

const COLUMNS = `queue, id, name, state, (extract(epoch FROM finished_at) * 1000)::bigint::text AS ms, result,
  charge::text AS charge, reason, attempts_made`;

/** Finished jobs from PostgreSQL, newest first, in the shape `GET /v1/jobs/:id` answers. */
export class SqlJobsReader {
  constructor(private readonly pool: Pool) {}

  /** The finished job with this id (the latest, should two queues share it), or null. */
  async get(id: string): Promise<JobView | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM jobs WHERE id = $1 ORDER BY finished_at DESC LIMIT 1`,
      [id],
    );
    return rows[0] ? viewOf(rows[0]) : null;
  }

  async list(q: JobsQuery): Promise<JobsPage> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (n: string) => string, value: unknown) => {
      params.push(value);
      clauses.push(sql(`$${params.length}`));
    };
    if (q.account !== undefined) add((n) => `account = ${n}`, q.account);
    if (q.state !== undefined) add((n) => `state = ${n}`, q.state);
    if (q.queue !== undefined) add((n) => `queue = ${n}`, q.queue);
    if (q.from !== undefined) add((n) => `finished_at >= ${n}::timestamptz`, new Date(q.from).toISOString());
    if (q.to !== undefined) add((n) => `finished_at < ${n}::timestamptz`, new Date(q.to).toISOString());
    if (q.cursor !== undefined) {
      const [ms, queue, id] = decodeCursor(q.cursor);
      params.push(new Date(ms).toISOString(), queue, id);
      const n = params.length;
      clauses.push(`(finished_at, queue, id) < ($${n - 2}::timestamptz, $${n - 1}, $${n})`);
    }
    params.push(q.limit + 1);
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM jobs ${where} ORDER BY finished_at DESC, queue DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const more = rows.length > q.limit;
    const shown = more ? rows.slice(0, q.limit) : rows;
    const last = shown.at(-1);
    return {
      items: shown.map(viewOf),
      next: more && last ? encodeCursor([Number(last.ms), last.queue, last.id]) : null,
    };
  }
}

/** As the Redis lookup shows a finished job: a completed one by its done marker, a dead one by its entry. */
function viewOf(r: Row): JobView {
  if (r.state === 'completed') {
    return {
      id: r.id,
      queue: r.queue as 'ship' | 'sync',
      name: r.name as JobName,
      state: 'completed',
      attemptsMade: r.attempts_made ?? 0,
      result: {
        result: r.result,
        charge: r.charge === null ? null : Number(r.charge),
        finishedAt: new Date(Number(r.ms)).toISOString(),
      },
      lastError: null,
    };
  }
  return {
    id: r.id,
    queue: 'dead-letter',
    name: r.name as JobName,
    state: 'dead',
    attemptsMade: r.attempts_made ?? 0,
    result: null,
    lastError: r.reason,
  };
}

type CursorParts = [ms: number, queue: string, id: string];

function encodeCursor(parts: CursorParts): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorParts {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parts) &&
      parts.length === 3 &&
      Number.isSafeInteger(parts[0]) &&
      typeof parts[1] === 'string' &&
      typeof parts[2] === 'string' &&
      encodeCursor(parts as CursorParts) === cursor
    ) {
      return parts as CursorParts;
    }
  } catch {
    // Not base64url JSON: refused below like any other foreign cursor.
  }
  throw new BadJobsCursor('cursor is not one this listing handed out');
}
