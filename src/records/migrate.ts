import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RecordsError } from './errors.js';
import type { Pool } from './pool.js';

/**
 * One advisory-lock key for every process of every deployment on this database: whoever holds it
 * migrates, the others wait and then find nothing left to do. (An arbitrary constant; any bigint.)
 */
const MIGRATION_LOCK = 7_301_114_028_514_331;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * The migrations beside this file, in version order. The build puts the code under dist/ and leaves
 * the SQL in src/, so the files are looked for here first, then in the source tree.
 */
export function loadMigrations(): Migration[] {
  const here = fileURLToPath(new URL('./migrations/', import.meta.url));
  const source = fileURLToPath(new URL('../../../src/records/migrations/', import.meta.url));
  const dir = existsSync(here) ? here : source;
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new RecordsError('migration', `migration file name ${file} is not NNN_name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(`${dir}${file}`, 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new RecordsError('migration', `migration ${i + 1} is missing`);
  });
  return migrations;
}

/**
 * Brings the schema to the newest version: under a session advisory lock, each migration not yet
 * applied runs in its own transaction with its row in `schema_migrations`, so a crash mid-way leaves
 * the last whole version. Safe when several processes start at once. Returns the versions applied.
 */
export async function migrate(
  pool: Pool,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => r.version));
      const newest = Math.max(0, ...done);
      if (newest > migrations.length) {
        throw new RecordsError(
          'migration',
          `the records database is at schema version ${newest}, newer than this code (${migrations.length})`,
        );
      }
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new RecordsError(
            'migration',
            `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
