import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Closer } from '../runtime/shutdown.js';
import { SqlJobsReader } from './jobs-reader.js';
import { type LedgerReader, SqlLedgerReader } from './ledger-reader.js';
import { registerRecordsWaiting } from './metrics.js';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';
import { RecordsSink } from './sink.js';

/** How long to wait before trying the migrations again while the database is away at start. */
const MIGRATE_RETRY_MS = 2_000;

/**
 * With the records store's URL (DATABASE_URL, or the embedded server's): makes the records group on
 * the outbox, migrates the schema, then runs a records sink until closed. Only the first waits (for
 * Redis): while the database is away at start, shipping goes on, the migrations are tried again, and
 * the records wait in Redis (counted by `fulfillment_records_waiting` when a registry is given).
 */
export async function startRecords(options: {
  readonly config: Config;
  /** The PostgreSQL of the records (a secret when it is DATABASE_URL: never logged). */
  readonly url: string;
  readonly redis: Redis;
  readonly log: Logger;
  readonly registry?: Registry;
}): Promise<{ readonly closer: Closer; readonly ledger: LedgerReader; readonly jobs: SqlJobsReader }> {
  const { config, redis } = options;
  const log = options.log.child({ component: 'records' });
  const pool = createPool(options.url, (err) =>
    log.warn({ err: err.message }, 'records database connection error'),
  );
  const sink = new RecordsSink({ redis, pool, prefix: config.prefix, log });
  if (options.registry) registerRecordsWaiting(options.registry, sink);
  // The outbox keeps events only for groups that exist: make ours before this process takes requests
  // (it needs Redis only; the database may be away).
  await sink.ensureGroup();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const begin = () => {
    migrate(pool)
      .then((applied) => {
        if (applied.length > 0) log.info({ applied }, 'records schema migrated');
        if (!closed) sink.start();
      })
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'records schema not ready; trying again');
        if (!closed) timer = setTimeout(begin, MIGRATE_RETRY_MS);
      });
  };
  begin();
  log.info({}, 'records sink on: ledger, events and finished jobs go to PostgreSQL');
  const closer: Closer = {
    name: 'records',
    async close() {
      closed = true;
      clearTimeout(timer);
      await sink.stop();
      await pool.end();
    },
  };
  return { closer, ledger: new SqlLedgerReader(pool), jobs: new SqlJobsReader(pool) };
}
