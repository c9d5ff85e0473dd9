import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/records/migrate.js';
import { createPool, type Pool } from '../../src/records/pool.js';

export interface TestDatabase {
  /** `postgres://…/t_<random>`: a database of this test file's own. */
  readonly url: string;
  /** Drops the database (ending whatever is still connected to it). */
  drop(): Promise<void>;
  /** Refuses new connections and ends the open ones (false), or accepts them again (true). */
  allowConnections(allow: boolean): Promise<void>;
}

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database on the machine's PostgreSQL: call in `beforeAll`, `drop()` in `afterAll`. */
export async function testDatabase(): Promise<TestDatabase> {
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    async allowConnections(allow) {
      await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${allow}`);
      if (!allow)
        await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
    },
  };
}

export interface MigratedDatabase extends TestDatabase {
  /** A pool on the database, its records schema migrated. */
  readonly pool: Pool;
  /** Ends the pool, then drops the database. */
  close(): Promise<void>;
}

/** A fresh database with the records schema and a pool on it: call in `beforeAll`, `close()` in `afterAll`. */
export async function migratedDatabase(): Promise<MigratedDatabase> {
  const db = await testDatabase();
  const pool = createPool(db.url, () => {});
  const close = async () => {
    await pool.end();
    await db.drop();
  };
  try {
    await migrate(pool);
  } catch (err) {
    await close();
    throw err;
  }
  return { ...db, pool, close };
}

/** Runs one statement on the server's `postgres` database (creating, dropping, closing databases). */
export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
