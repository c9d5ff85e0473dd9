import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/records/migrate.js';
import { createPool, type Pool } from '../../src/records/pool.js';
import { spawnNode } from '../helpers/processes.js';
import { type TestDatabase, testDatabase } from './db.js';

describe('records migrations', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await testDatabase();
    pool = createPool(db.url, () => {});
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('are numbered files 001, 002, … with no gap', () => {
    const versions = loadMigrations().map((m) => m.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(versions.length).toBeGreaterThanOrEqual(2);
  });

  it('run from three processes at once: each version is applied once, by one of them', async () => {
    const children = [1, 2, 3].map(() =>
      spawnNode('test/records/migrate-child.ts', { DATABASE_URL: db.url }),
    );
    const codes = await Promise.all(children.map(async (c) => (await once(c.process, 'exit'))[0]));
    const outputs = children.map((c) => c.output());
    expect(codes, outputs.join('\n')).toEqual([0, 0, 0]);
    const applied = outputs.flatMap((o) => JSON.parse(/applied (\[.*\])/.exec(o)?.[1] ?? 'null') as number[]);
    const all = loadMigrations().map((m) => m.version);
    expect(applied.sort((a, b) => a - b)).toEqual(all);
    const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(all);
  });

  it('run again, change nothing', async () => {
    expect(await migrate(pool)).toEqual([]);
  });

  it('refuse a database newer than the code', async () => {
    await expect(migrate(pool, loadMigrations().slice(0, 1))).rejects.toThrow(/newer than this code/);
  });
});
