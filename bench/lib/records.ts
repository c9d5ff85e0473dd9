import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { outboxKey } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/index.js';
import { startEmbeddedPostgres } from '../../src/records/embedded.js';
import { migrate } from '../../src/records/migrate.js';
import { createPool, type Pool } from '../../src/records/pool.js';
import type { Rig } from './rig.js';

/** A temporary directory an embedded PostgreSQL may live under (open to the `postgres` user when run as root). */
export function recordsTempDir(rig: Rig): string {
  const root = mkdtempSync(join(tmpdir(), 'fulfillment-bench-records-'));
  chmodSync(root, 0o755);
  rig.onClose(async () => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** The product's embedded PostgreSQL in a temporary directory, migrated, with a pool; stopped and removed by the rig. */
export async function benchEmbedded(rig: Rig): Promise<{ pool: Pool; pid: number }> {
  const server = await startEmbeddedPostgres({ dir: join(recordsTempDir(rig), 'pg') });
  rig.onClose(() => server.stop());
  const pool = createPool(server.url, () => {});
  rig.onClose(() => pool.end());
  await migrate(pool);
  return { pool, pid: server.pid };
}

/**
 * `count` settled calls through the ledger's settle script, each with its job.completed event (as the
 * processor's settle writes them), `concurrency` at a time: what a finished job leaves in Redis for
 * the records sink, without the HTTP, the queue and the upstream call around it.
 */
export async function settleMany(
  redis: Redis,
  prefix: string,
  count: number,
  concurrency = 200,
): Promise<void> {
  const ledger = new Ledger(redis, prefix);
  const event = (jobId: string) => ({
    key: outboxKey(prefix),
    type: 'job.completed',
    data: { id: jobId, queue: 'ship', name: 'vvtool.send', account: 'acct', result: 'shipped', charge: 1 },
  });
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const jobId = `vvtool.acct.${1_000_000 + i}.all.YT${1_000_000 + i}`;
      await ledger.settle(
        {
          account: 'acct',
          provider: 'vvtool',
          operation: 'vvtool.send',
          shop: 'shop-1',
          order: String(1_000_000 + i),
          jobId,
          attempt: 1,
        },
        { amount: 1 },
        Date.now(),
        { event: event(jobId) },
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Memory of a process and its children: RSS summed (shared pages counted in each) and PSS summed (shared split). */
export function processTreeMemory(pid: number): { rss: number; pss: number; processes: number } {
  let pids = [pid];
  try {
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
    pids = [
      pid,
      ...children
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map(Number),
    ];
  } catch {
    // no children
  }
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    const kb = (file: string, field: string) =>
      Number(
        new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${p}/${file}`, 'utf8'))?.[1] ?? 0,
      ) * 1024;
    rss += kb('status', 'VmRSS');
    pss += kb('smaps_rollup', 'Pss');
  }
  return { rss, pss, processes: pids.length };
}
