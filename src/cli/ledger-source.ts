import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Config } from '../config/index.js';
import { type LedgerReader, SqlLedgerReader } from '../records/ledger-reader.js';
import { Failure } from './errors.js';

/** Where the CLI reads the ledger: the records' PostgreSQL, or Redis with the reason it is not SQL. */
export type LedgerSource =
  | { readonly kind: 'sql'; readonly reader: LedgerReader; close(): Promise<void> }
  | { readonly kind: 'redis'; readonly why: string | null };

const SOCKET_NAME = '.s.PGSQL.5432';
/** The CLI only reads: every transaction of its connections is read-only, whoever's server it is. */
const READ_ONLY = '-c default_transaction_read_only=on';
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * DATABASE_URL when set (unreachable is a failure, as an unreachable Redis is); else the embedded
 * store in EMBEDDED_PG_DIR when its server is running (read through its socket, never started or
 * stopped here); else Redis, with why the books may be incomplete (null when EMBEDDED_PG_DIR is
 * `off`: then no sink moves the ledger out of Redis and Redis holds all of it).
 */
export async function openLedgerSource(config: Config): Promise<LedgerSource> {
  if (config.databaseUrl !== null) {
    const url = config.databaseUrl.reveal();
    const where = safeUrl(url);
    const pool = await connectReadOnly(url).catch((err: Error) => {
      throw new Failure(`cannot reach the records database at ${where}: ${err.message}`);
    });
    return sqlSource(pool);
  }
  if (config.embeddedPgDir === null) return { kind: 'redis', why: null };
  const dir = resolve(config.embeddedPgDir);
  const missing = notRunning(dir);
  if (missing !== null)
    return { kind: 'redis', why: `no embedded records store running in ${dir} (${missing})` };
  const url = `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}`;
  try {
    return sqlSource(await connectReadOnly(url));
  } catch (err) {
    return {
      kind: 'redis',
      why: `cannot read the embedded records store in ${dir} (${(err as Error).message})`,
    };
  }
}

/** Null when the directory holds a running server (its pid file and socket); else what is missing. */
export function notRunning(dir: string): string | null {
  try {
    if (!exists(dir)) return 'no such directory';
    if (!exists(join(dir, 'PG_VERSION'))) return 'it holds no PostgreSQL data';
    if (!exists(join(dir, 'postmaster.pid'))) return 'its server is not running';
    if (!exists(join(dir, SOCKET_NAME))) return 'its server has no socket there';
    return null;
  } catch (err) {
    // The directory is the server user's, mode 0700: another user cannot look inside.
    return `cannot look inside: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** Whether the path exists; throws when it cannot be told (no permission). */
function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A small read-only pool whose first connection has answered; a ledger table must exist. */
export async function connectReadOnly(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    options: READ_ONLY,
  });
  // An idle connection whose server went away emits here; the next query reports it instead.
  pool.on('error', () => {});
  try {
    const { rows } = await pool.query<{ table: string | null }>(
      `SELECT to_regclass('ledger_entries')::text AS table`,
    );
    if (rows[0]?.table == null) throw new Error('no ledger_entries table: the API has not migrated it yet');
    return pool;
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}

function sqlSource(pool: pg.Pool): LedgerSource {
  return { kind: 'sql', reader: new SqlLedgerReader(pool), close: () => pool.end() };
}

/** A URL without its password, for messages. */
export function safeUrl(text: string, otherwise = '(DATABASE_URL)'): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return otherwise;
  }
}
