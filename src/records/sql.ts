import type { JobCompleted, JobDead, OutboxEvent } from '../events/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { PoolClient } from './pool.js';

/**
 * Multi-row inserts as one statement each: arrays unnested server-side, so a batch is one round trip
 * and one plan whatever its size. ON CONFLICT DO NOTHING makes a batch moved twice land once.
 */
const INSERT_ENTRIES = `
INSERT INTO ledger_entries (id, at, account, provider, operation, shop, order_ref, job_id, attempt, amount, status)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
  $8::text[], $9::integer[], $10::numeric[], $11::text[])
ON CONFLICT (id) DO NOTHING`;

export async function insertEntries(client: PoolClient, entries: readonly LedgerEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const col = <K extends keyof LedgerEntry>(k: K) => entries.map((e) => e[k]);
  const result = await client.query(INSERT_ENTRIES, [
    col('id'),
    col('at'),
    col('account'),
    col('provider'),
    col('operation'),
    col('shop'),
    col('order'),
    col('jobId'),
    col('attempt'),
    // The shortest decimal of the number, what JSON wrote into Redis: numeric keeps it exact.
    entries.map((e) => (e.amount === null ? null : String(e.amount))),
    col('status'),
  ]);
  return result.rowCount ?? 0;
}

const INSERT_EVENTS = `
INSERT INTO events (stream_id, ms, seq, type, at, data)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[])
ON CONFLICT (stream_id) DO NOTHING`;

/**
 * The job's row takes an event only if it is newer (by stream id) than the one it holds, so replaying
 * an old job.dead after the job.completed of its redrive leaves it completed.
 */
const UPSERT_JOBS = `
INSERT INTO jobs (queue, id, name, account, state, finished_at, result, charge, code, message, reason,
  attempts_made, event_ms, event_seq)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
  $7::jsonb[], $8::numeric[], $9::integer[], $10::text[], $11::text[], $12::integer[], $13::bigint[], $14::bigint[])
ON CONFLICT (queue, id) DO UPDATE SET
  name = excluded.name, account = excluded.account, state = excluded.state, finished_at = excluded.finished_at,
  result = excluded.result, charge = excluded.charge, code = excluded.code, message = excluded.message,
  reason = excluded.reason, attempts_made = excluded.attempts_made, event_ms = excluded.event_ms,
  event_seq = excluded.event_seq
WHERE (excluded.event_ms, excluded.event_seq) > (jobs.event_ms, jobs.event_seq)`;

function streamIdParts(id: string): [string, string] {
  const [ms = '0', seq = '0'] = id.split('-');
  return [ms, seq];
}

/** Stores events and the finished jobs they report; the caller holds the transaction. */
export async function insertEvents(client: PoolClient, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(INSERT_EVENTS, [
    events.map((e) => e.id),
    events.map((e) => streamIdParts(e.id)[0]),
    events.map((e) => streamIdParts(e.id)[1]),
    events.map((e) => e.type),
    events.map((e) => new Date(e.at).toISOString()),
    events.map((e) => JSON.stringify(e.data)),
  ]);
  // One row per job in a statement (ON CONFLICT DO UPDATE may not touch a row twice): the newest wins.
  const newest = new Map<string, OutboxEvent<'job.completed'> | OutboxEvent<'job.dead'>>();
  for (const e of events) {
    if (e.type !== 'job.completed' && e.type !== 'job.dead') continue;
    const d = e.data as JobCompleted | JobDead;
    newest.set(`${d.queue}\u0000${d.id}`, e as OutboxEvent<'job.completed'> | OutboxEvent<'job.dead'>);
  }
  if (newest.size === 0) return;
  const rows = [...newest.values()];
  const completed = (e: (typeof rows)[number]) =>
    e.type === 'job.completed' ? (e.data as JobCompleted) : null;
  const dead = (e: (typeof rows)[number]) => (e.type === 'job.dead' ? (e.data as JobDead) : null);
  await client.query(UPSERT_JOBS, [
    rows.map((e) => e.data.queue),
    rows.map((e) => e.data.id),
    rows.map((e) => e.data.name),
    rows.map((e) => e.data.account),
    rows.map((e) => (e.type === 'job.completed' ? 'completed' : 'dead')),
    rows.map((e) => new Date(e.at).toISOString()),
    rows.map((e) => (completed(e) ? JSON.stringify(completed(e)?.result) : null)),
    rows.map((e) => {
      const charge = completed(e)?.charge;
      return charge === null || charge === undefined ? null : String(charge);
    }),
    rows.map((e) => dead(e)?.code ?? null),
    rows.map((e) => dead(e)?.message ?? null),
    rows.map((e) => dead(e)?.reason ?? null),
    rows.map((e) => dead(e)?.attemptsMade ?? null),
    rows.map((e) => streamIdParts(e.id)[0]),
    rows.map((e) => streamIdParts(e.id)[1]),
  ]);
}
