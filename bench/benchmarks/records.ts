import { join } from 'node:path';
import { outboxKey } from '../../src/keys.js';
import type { Pool } from '../../src/records/pool.js';
import { ensureRecordsGroup, RecordsSink } from '../../src/records/sink.js';
import { makeAccounts } from '../lib/accounts.js';
import { allReady, startChild } from '../lib/children.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { productEnv, startProductWorkers } from '../lib/product.js';
import { benchEmbedded, processTreeMemory, recordsTempDir, settleMany } from '../lib/records.js';
import { memoryOfKeys } from '../lib/redis.js';
import { type Rig, withRig } from '../lib/rig.js';
import { startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, mb, met, type Row, ratio } from '../lib/table.js';
import { now, pollUntil, sleep } from '../lib/time.js';
import { ACCOUNTS, HIGH_RATE, JOBS, type Measured, measure } from './pipeline.js';

const SETTLED = 100_000;
const SINK_RECORDS = 20_000;
const CATCH_UP_MS = 60_000;

/** Bytes of the ledger's keys and the outbox under `prefix` (MEMORY USAGE, SAMPLES 0). */
async function recordBytes(ctx: BenchContext, prefix: string): Promise<number> {
  let bytes = 0;
  for (const pattern of [`${prefix}:ledger:*`, outboxKey(prefix)]) {
    for (const part of (await memoryOfKeys(ctx.redis, pattern, () => 'records')).values())
      bytes += part.bytes;
  }
  return bytes;
}

/** A sink of the product's on the bench's Redis connection. */
function sinkFor(ctx: BenchContext, rig: Rig, pool: Pool, prefix: string): RecordsSink {
  const sink = new RecordsSink({ redis: ctx.redis, pool, prefix });
  rig.onClose(() => sink.stop());
  return sink;
}

/**
 * Memory with the embedded records store: Redis bytes of the ledger and outbox before and after
 * 100,000 settled jobs with the sink caught up, and the embedded PostgreSQL's memory beside a worker's.
 */
export const memoryRecords: Benchmark = {
  name: 'memory-records',
  title: `${fmt(SETTLED)} settled jobs, records sink on into the embedded PostgreSQL`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const prefix = rig.prefix('mem-records');
      const { pool, pid } = await benchEmbedded(rig);
      await ensureRecordsGroup(ctx.redis, prefix);
      const before = await recordBytes(ctx, prefix);
      const sink = sinkFor(ctx, rig, pool, prefix);
      sink.start();
      ctx.log(`memory-records: settling ${fmt(SETTLED)} with the sink on`);
      const start = now();
      await settleMany(ctx.redis, prefix, SETTLED);
      const settledAt = now();
      const caughtUp = await pollUntil(
        async () => ((await sink.waiting()) === 0 ? now() : undefined),
        CATCH_UP_MS,
        100,
      );
      await sink.stop();
      const after = await recordBytes(ctx, prefix);
      const stored = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ledger_entries');
      const pg = processTreeMemory(pid);
      const worker = rig.track(
        startProductWorkers(
          1,
          productEnv({ prefix, accounts: makeAccounts('m', 1, 10), upstreamUrl: 'http://127.0.0.1:9' }),
        ),
      );
      await allReady(worker);
      await sleep(1_000);
      const workerRss = (await worker[0]!.stats()).rss;
      await rig.stop(worker);
      const rows: Row[] = [
        {
          metric: `Redis bytes of ledger and outbox keys after ${fmt(SETTLED)} settled jobs, sink caught up`,
          product: `${fmt(after)} B`,
          baseline: `before: ${fmt(before)} B`,
          ratio: '—',
          goal: '< 1 MB',
          met: met(after < 1e6),
        },
        {
          metric: `embedded PostgreSQL memory, ${pg.processes} processes, after storing them (PSS summed)`,
          product: mb(pg.pss),
          baseline: `one worker process's RSS: ${mb(workerRss)}`,
          ratio: ratio(pg.pss, workerRss),
          goal: '(report; none in the worker)',
          met: '',
        },
      ];
      return {
        name: memoryRecords.name,
        title: memoryRecords.title,
        rows,
        notes: [
          `The jobs are settled through the ledger's settle script directly (${fmt(SETTLED)} calls, 200 at a time, each with its job.completed event, as the processor's settle writes them), not run through HTTP, queues and the sandbox: the records reach Redis that way in production too.`,
          `The sink (the product's RecordsSink, batches of 500 doubling up to 4,000 while full) ran during the settles; it had stored all ${fmt(Number(stored.rows[0]?.n ?? 0))} entries and their events ${caughtUp === undefined ? 'NOT within the cap' : `${fmt((caughtUp - settledAt) / 1000, 1)} s after the last settle`}; settling took ${fmt((settledAt - start) / 1000, 1)} s.`,
          `PostgreSQL RSS summed over its processes: ${mb(pg.rss)} (shared buffers counted in each; PSS splits them). It runs in processes of its own: the worker's RSS is the worker's alone, with or without the store.`,
        ],
        raw: {
          settled: SETTLED,
          before,
          after,
          pg,
          workerRss,
          caughtUpMs: caughtUp === undefined ? null : caughtUp - settledAt,
        },
      };
    }),
};

/**
 * Sink throughput: 30,000 ledger entries and their 30,000 events waiting in Redis, moved by the
 * product's sink, against a plain multi-row INSERT of the same rows into the same tables.
 */
export const recordsSink: Benchmark = {
  name: 'records-sink',
  title: `${fmt(SINK_RECORDS)} entries and ${fmt(SINK_RECORDS)} events: the sink against a plain INSERT`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const prefix = rig.prefix('records-sink');
      const { pool } = await benchEmbedded(rig);
      await ensureRecordsGroup(ctx.redis, prefix);
      await settleMany(ctx.redis, prefix, SINK_RECORDS);
      const sink = sinkFor(ctx, rig, pool, prefix);
      ctx.log(`records-sink: draining ${fmt(2 * SINK_RECORDS)} records`);
      const start = now();
      const moved = await sink.drain();
      const sinkSeconds = (now() - start) / 1000;
      const plainSeconds = await plainInsert(pool);
      const sinkRate = moved / sinkSeconds;
      const plainRate = (2 * SINK_RECORDS) / plainSeconds;
      return {
        name: recordsSink.name,
        title: recordsSink.title,
        rows: [
          {
            metric: 'records/s into PostgreSQL',
            product: `sink: ${fmt(sinkRate)}`,
            baseline: `plain multi-row INSERT: ${fmt(plainRate)}`,
            ratio: ratio(sinkRate, plainRate),
            goal: '≥ 0.5',
            met: met(sinkRate >= 0.5 * plainRate),
          },
        ],
        notes: [
          `The sink reads 500 entries and 500 events of the records group from Redis side by side (twice as many each next batch while they come back full, up to 4,000), inserts them (entries; events and the jobs they finish, in one transaction), then trims or acknowledges them in Redis: ${fmt(moved)} records in ${fmt(sinkSeconds, 2)} s.`,
          `The baseline inserts the very rows the sink stored (read back, tables emptied) 500 per statement, entries alone and events with their jobs rows in one transaction per batch, with nothing read from or written to Redis: ${fmt(plainSeconds, 2)} s.`,
          'Both into the same embedded PostgreSQL (fsync on), tables with their indexes.',
        ],
        raw: { records: moved, sinkSeconds, plainSeconds },
      };
    }),
};

const BATCH = 500;
const JSONB = new Set(['events.data', 'jobs.result']);
type Table = 'ledger_entries' | 'events' | 'jobs';

/** Reads back what the sink stored, empties the tables, and times a plain INSERT of the same rows. */
async function plainInsert(pool: Pool): Promise<number> {
  const rows = {} as Record<Table, Record<string, unknown>[]>;
  for (const table of ['ledger_entries', 'events', 'jobs'] as const) {
    rows[table] = (await pool.query(`SELECT * FROM ${table}`)).rows;
  }
  await pool.query('TRUNCATE ledger_entries, events, jobs');
  const client = await pool.connect();
  try {
    const start = now();
    for (let i = 0; i < rows.ledger_entries.length; i += BATCH) {
      await insertRows(client, 'ledger_entries', rows.ledger_entries.slice(i, i + BATCH));
    }
    for (let i = 0; i < rows.events.length; i += BATCH) {
      await client.query('BEGIN');
      await insertRows(client, 'events', rows.events.slice(i, i + BATCH));
      await insertRows(client, 'jobs', rows.jobs.slice(i, i + BATCH));
      await client.query('COMMIT');
    }
    return (now() - start) / 1000;
  } finally {
    client.release();
  }
}

async function insertRows(
  client: { query(sql: string, values: unknown[]): Promise<unknown> },
  table: Table,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const slots = columns.map((column) => {
      const value = row[column];
      // jsonb columns come back parsed (a string result too): they go in as JSON text again.
      if (JSONB.has(`${table}.${column}`)) {
        values.push(value === null ? null : JSON.stringify(value));
        return `$${values.length}`;
      }
      values.push(
        value !== null && typeof value === 'object' && !(value instanceof Date)
          ? JSON.stringify(value)
          : value,
      );
      return `$${values.length}`;
    });
    return `(${slots.join(', ')})`;
  });
  await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
}

const PIPELINE_PROCESSES = 2;
const API_KEY = `bench-records-${'k'.repeat(16)}`;

/**
 * The pipeline with the records sink on (an API-side process owning the embedded PostgreSQL and
 * moving every ledger entry and event into it while the jobs run) against the same pipeline with it
 * off, in one run. Goal: shipping with the sink ≥ 0.9 × shipping without.
 */
export const pipelineRecords: Benchmark = {
  name: 'pipeline-records',
  title: `${fmt(JOBS)} jobs, ${PIPELINE_PROCESSES} worker processes, records sink into the embedded PostgreSQL on against off`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const accounts = makeAccounts('r', ACCOUNTS, HIGH_RATE);
      const sandbox = await startSandboxProcess(accounts, 1e9);
      rig.track(sandbox.child);
      const off: Measured = await measure(ctx, rig, sandbox, accounts, 'product', PIPELINE_PROCESSES);
      await sandbox.control.reset();
      const dir = join(recordsTempDir(rig), 'pg');
      const on: Measured = await measure(
        ctx,
        rig,
        sandbox,
        accounts,
        'product',
        PIPELINE_PROCESSES,
        {},
        (env) => [
          startChild('records', 'bench/lib/records-child.ts', {
            ...env,
            API_KEYS: API_KEY,
            EMBEDDED_PG_DIR: dir,
          }),
        ],
      );
      return {
        name: pipelineRecords.name,
        title: pipelineRecords.title,
        rows: [
          {
            metric: 'jobs/s',
            product: `records sink on: ${fmt(on.jobsPerSecond)}`,
            baseline: `off: ${fmt(off.jobsPerSecond)}`,
            ratio: ratio(on.jobsPerSecond, off.jobsPerSecond),
            goal: '≥ 0.9',
            met: met(on.jobsPerSecond >= 0.9 * off.jobsPerSecond),
          },
          {
            metric: 'Redis CPU per job',
            product: `${fmt(on.redisCpuMsPerJob, 2)} ms`,
            baseline: `${fmt(off.redisCpuMsPerJob, 2)} ms`,
            ratio: ratio(on.redisCpuMsPerJob, off.redisCpuMsPerJob),
            goal: '',
            met: '',
          },
        ],
        notes: [
          `The same ${fmt(JOBS)} jobs on ${ACCOUNTS} accounts at ${fmt(HIGH_RATE)}/s as pipeline-2; "on" adds one process as \`npm run api\` runs the records without DATABASE_URL: its embedded PostgreSQL (started before the jobs) and the sink moving each settle's ledger entry and job.completed event into it while the jobs run.`,
          "Both on this machine's 2 cores: the sink and PostgreSQL take their CPU from the same cores as the workers, Redis and the sandbox.",
        ],
        raw: { jobs: JOBS, processes: PIPELINE_PROCESSES, off, on },
      };
    }),
};
