import type { JobCompleted, JobDead, OutboxEvent } from '../events/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { PoolClient } from './pool.js';

/**
 * Multi-row inserts as one statement each, the batch sent as one JSON array and turned into rows
 * server-side (json_to_recordset; jsonb_to_recordset for events, so their data is parsed once): one
 * round trip and one plan whatever its size. One JSON.stringify of the batch is a fraction of the CPU
 * of N*k parameters or of k array literals (where every quote of a JSON column was escaped again).
 * Numbers arrive as their JSON text, so numeric keeps the decimal exact. ON CONFLICT DO NOTHING makes
 * a batch moved twice land once.
 */
const INSERT_ENTRIES = `
INSERT INTO ledger_entries (id, at, account, provider, operation, shop, order_ref, job_id, attempt, amount, status)
SELECT id, at, account, provider, operation, shop, "order", "jobId", attempt, amount, status
FROM json_to_recordset($1::json) AS r(id text, at timestamptz, account text, provider text, operation text,
  shop text, "order" text, "jobId" text, attempt integer, amount numeric, status text)
ON CONFLICT (id) DO NOTHING`;

export async function insertEntries(client: PoolClient, entries: readonly LedgerEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  // The entries' own fields, as JSON wrote them into Redis (amount: the shortest decimal of the number).
  const result = await client.query(INSERT_ENTRIES, [pgJson(entries)]);
  return result.rowCount ?? 0;
}

const INSERT_EVENTS = `
INSERT INTO events (stream_id, ms, seq, type, at, data)
SELECT id, split_part(id, '-', 1)::bigint, split_part(id, '-', 2)::bigint, type,
  'epoch'::timestamptz + at * interval '1 millisecond', data
FROM jsonb_to_recordset($1::jsonb) AS r(id text, type text, at bigint, data jsonb)
ON CONFLICT (stream_id) DO NOTHING`;

/**
 * The job's row takes an event only if it is newer (by stream id) than the one it holds, so replaying
 * an old job.dead after the job.completed of its redrive leaves it completed.
 */
const UPSERT_JOBS = `
INSERT INTO jobs (queue, id, name, account, state, finished_at, result, charge, code, message, reason,
  attempts_made, event_ms, event_seq)
SELECT queue, id, name, account, state, 'epoch'::timestamptz + at * interval '1 millisecond', result::jsonb, charge, code, message,
  reason, "attemptsMade", split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint
FROM json_to_recordset($1::json) AS r(queue text, id text, name text, account text, state text, at bigint,
  result text, charge numeric, code integer, message text, reason text, "attemptsMade" integer, stream_id text)
ON CONFLICT (queue, id) DO UPDATE SET
  name = excluded.name, account = excluded.account, state = excluded.state, finished_at = excluded.finished_at,
  result = excluded.result, charge = excluded.charge, code = excluded.code, message = excluded.message,
  reason = excluded.reason, attempts_made = excluded.attempts_made, event_ms = excluded.event_ms,
  event_seq = excluded.event_seq
WHERE (excluded.event_ms, excluded.event_seq) > (jobs.event_ms, jobs.event_seq)`;

type Finished = OutboxEvent<'job.completed'> | OutboxEvent<'job.dead'>;

/** Stores events and the finished jobs they report; the caller holds the transaction. */
export async function insertEvents(client: PoolClient, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(INSERT_EVENTS, [
    pgJson(events.map((e) => ({ id: e.id, type: e.type, at: e.at, data: e.data }))),
  ]);
  // One row per job in a statement (ON CONFLICT DO UPDATE may not touch a row twice): the newest wins.
  const newest = new Map<string, Finished>();
  for (const e of events) {
    if (e.type !== 'job.completed' && e.type !== 'job.dead') continue;
    const d = e.data as JobCompleted | JobDead;
    newest.set(`${d.queue}\u0000${d.id}`, e as Finished);
  }
  if (newest.size === 0) return;
  await client.query(UPSERT_JOBS, [pgJson([...newest.values()].map(jobRow))]);
}

/** A finished job's row as JSON fields (json_to_recordset names; absent ones are NULL). */
function jobRow(e: Finished): Record<string, unknown> {
  const common = { queue: e.data.queue, id: e.data.id, name: e.data.name, account: e.data.account };
  const event = { at: e.at, stream_id: e.id };
  if (e.type === 'job.completed') {
    const d = e.data as JobCompleted;
    // result as JSON text, cast to jsonb: a null result stays the JSON null it was, not SQL NULL; an
    // event without one (another writer's) stores SQL NULL rather than failing its batch forever.
    return {
      ...common,
      ...event,
      state: 'completed',
      result: d.result === undefined ? null : pgJson(d.result),
      charge: d.charge ?? null,
    };
  }
  const d = e.data as JobDead;
  return {
    ...common,
    ...event,
    state: 'dead',
    code: d.code,
    message: d.message,
    reason: d.reason,
    attemptsMade: d.attemptsMade,
  };
}

/**
 * JSON text PostgreSQL accepts: JSON.stringify writes a lone UTF-16 surrogate (a string cut in the
 * middle of a pair) as a \\udxxx escape, which PostgreSQL's JSON parser refuses, and one such record
 * would fail its batch on every retry. It becomes U+FFFD, what a text parameter's UTF-8 encoding made
 * of it. (Escapes after an escaped backslash are text, not surrogates: the even run of backslashes
 * before them is kept.)
 */
export function pgJson(value: unknown): string {
  const text = JSON.stringify(value);
  // Lone surrogates, and NUL (which PostgreSQL's text and jsonb cannot hold either), become U+FFFD.
  return text.includes('\\ud') || text.includes('\\u0000') ? text.replace(UNSTORABLE, '$1\\ufffd') : text;
}

/** An escape of a lone surrogate or of NUL, not itself escaped (an even run of backslashes before it). */
const UNSTORABLE = /(?<!\\)((?:\\\\)*)\\u(?:d[89a-f][0-9a-f]{2}|0000)/g;
