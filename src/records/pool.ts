import pg from 'pg';

/** Connections to the records database. Errors of idle connections are reported, not thrown. */
export function createPool(url: string, onError: (err: Error) => void, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000 });
  // An idle client whose server went away emits here; without a listener that would end the process.
  pool.on('error', onError);
  return pool;
}

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
