import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../helpers/invariants.js';
import {
  damaijiaShip,
  startTestPipeline,
  type TestPipeline,
  testAccount,
  vvtoolShip,
} from '../../helpers/pipeline.js';
import { type Child, spawnNode } from '../../helpers/processes.js';
import { until } from '../../helpers/wait.js';

// 300 jobs; every worker process is killed with SIGKILL three times while calls are in flight, and
// restarted. All jobs finish; nothing ships twice; every charge is in the ledger or explained by an
// unknown entry; no sliding second above the limit.
const accounts = [testAccount('kv1', 'vvtool'), testAccount('kv2', 'vvtool'), testAccount('kd1', 'damaijia')];
let p: TestPipeline;
let workers: Child[] = [];

beforeAll(async () => {
  p = await startTestPipeline(
    'crashes',
    accounts,
    { LOCK_DURATION_MS: '2000', RETRY_ATTEMPTS: '10' },
    { sandboxProcess: true },
  );
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  await p?.close();
});

const startWorkers = () => {
  workers = [spawnNode('workers/ship.ts', p.env), spawnNode('workers/ship.ts', p.env)];
};

describe('repeated kill -9', () => {
  it('finishes all 300 jobs through three rounds of killing every worker', async () => {
    const jobs = accounts.flatMap((account) =>
      Array.from({ length: 100 }, () =>
        account.provider === 'vvtool'
          ? { type: 'ship', ...vvtoolShip(account.id) }
          : { type: 'ship', ...damaijiaShip(account.id) },
      ),
    );
    const ids = (await p.service.producer.batch(jobs)).map((result) => result.id);
    startWorkers();
    for (let round = 1; round <= 3; round++) {
      const target = round * 50;
      await until(`${target} calls made`, async () => (await p.upstream.calls()).length >= target, {
        timeoutMs: 60_000,
        everyMs: 100,
      });
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
      startWorkers();
    }
    await until(
      'every job finished',
      async () => {
        const counts = await p.service.queues.ship.getJobCounts(
          'waiting',
          'active',
          'delayed',
          'prioritized',
        );
        return Object.values(counts).every((n) => n === 0) || undefined;
      },
      { timeoutMs: 150_000, everyMs: 500 },
    );
    const report = await checkInvariants(p.service, ids, await p.upstream.calls(), 10, { crashes: true });
    console.log(`crashes: ${JSON.stringify(report)}`);
    expect(report.completed).toBe(300);
  });
});
