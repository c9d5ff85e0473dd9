import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Closer } from '../runtime/shutdown.js';
import { EmbeddedUnavailable, startEmbeddedPostgres } from './embedded.js';
import { claimRecordsOwner, OwnerTaken } from './owner.js';

/** Where a process that serves the API keeps the records: a PostgreSQL URL, and what to close with it. */
export interface RecordsStore {
  readonly kind: 'database' | 'embedded';
  /** DATABASE_URL, or the embedded server's socket URL: used the same way (migrations, sink, readers). */
  readonly url: string;
  /** The embedded server's data directory and postmaster pid. */
  readonly embedded?: { readonly dir: string; readonly pid: number };
  readonly closer?: Closer;
}

/** The records store cannot be had as configured: the one line to print before exiting. */
export class RecordsStoreRefused extends Error {
  override readonly name = 'RecordsStoreRefused';
}

/**
 * DATABASE_URL when set; else, unless EMBEDDED_PG_DIR is `off`, an embedded PostgreSQL in that
 * directory, owned by this process for the prefix (a second API process is refused: several need
 * DATABASE_URL); else, or where no PostgreSQL is installed (one warning), none: the records stay in
 * Redis. Throws RecordsStoreRefused when the embedded store is wanted and cannot start.
 */
export async function openRecordsStore(options: {
  readonly config: Config;
  readonly redis: Redis;
  readonly log: Logger;
}): Promise<RecordsStore | null> {
  const { config, redis } = options;
  if (config.databaseUrl !== null) return { kind: 'database', url: config.databaseUrl.reveal() };
  if (config.embeddedPgDir === null) return null;
  const log = options.log.child({ component: 'records' });
  let owner: Awaited<ReturnType<typeof claimRecordsOwner>>;
  try {
    owner = await claimRecordsOwner(redis, config.prefix, log);
  } catch (err) {
    if (!(err instanceof OwnerTaken)) throw err;
    throw new RecordsStoreRefused(
      `${err.message} (prefix ${config.prefix}); more than one API process needs DATABASE_URL, a PostgreSQL they share`,
    );
  }
  try {
    const server = await startEmbeddedPostgres({
      dir: config.embeddedPgDir,
      bin: config.pgBin,
      onServerLine: (line) => log.warn({ server: line }, 'embedded PostgreSQL'),
      onUnexpectedExit: (code, signal) =>
        log.error({ code, signal }, 'embedded PostgreSQL exited; records wait in Redis until a restart'),
    });
    log.info(
      { dir: server.dir, initialised: server.initialised, serverPid: server.pid },
      `records kept in an embedded PostgreSQL in ${server.dir}`,
    );
    const closer: Closer = {
      name: 'embedded postgres',
      async close(force) {
        await server.stop(force);
        await owner.release();
      },
    };
    return { kind: 'embedded', url: server.url, embedded: { dir: server.dir, pid: server.pid }, closer };
  } catch (err) {
    await owner.release();
    if (err instanceof EmbeddedUnavailable) {
      log.warn(
        {},
        `no embedded records store: ${err.message}; records stay in Redis (set DATABASE_URL, or install PostgreSQL)`,
      );
      return null;
    }
    throw new RecordsStoreRefused((err as Error).message, { cause: err });
  }
}
