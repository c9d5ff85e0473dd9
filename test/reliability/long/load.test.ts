import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../helpers/invariants.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../../helpers/pipeline.js';
import { type Child, spawnNode } from '../../helpers/processes.js';
import { until } from '../../helpers/wait.js';

// 20,000 jobs across 50 accounts at 10/s each, 4 worker processes: throughput, Redis memory before
// and after, and every account's limit held at the upstream.
const accounts = Array.from({ length: 50 }, (_, i) => testAccount(`load${i}`, 'vvtool'));
let p: TestPipeline;
const workers: Child[] = [];

beforeAll(async () => {
  p = await startTestPipeline(
    'load',
    accounts,
    { WORKER_CONCURRENCY: '100', LOG_LEVEL: 'warn' },
    { sandboxProcess: true },
  );
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await p?.close();
});

const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await p.redis.info('memory'))?.[1]);

describe('load', () => {
  it('runs 20,000 jobs on 50 accounts with 4 processes within every limit', async () => {
    const memoryBefore = await usedMemory();
    const ids: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const jobs = Array.from({ length: 1000 }, (_, i) => ({
        type: 'ship',
        ...vvtoolShip(accounts[(batch * 1000 + i) % 50]!.id),
      }));
      ids.push(...(await p.service.producer.batch(jobs)).map((result) => result.id));
    }
    const memoryQueued = await usedMemory();
    const started = Date.now();
    for (let i = 0; i < 4; i++) workers.push(spawnNode('workers/ship.ts', p.env));
    await until('all 20,000 completed', idle, { timeoutMs: 600_000, everyMs: 2_000 });
    const seconds = (Date.now() - started) / 1000;
    const memoryAfter = await usedMemory();
    const report = await checkInvariants(p.service, ids, await p.upstream.calls());
    console.log(
      `load: ${JSON.stringify({ jobs: ids.length, seconds, jobsPerSecond: ids.length / seconds, idealPerSecond: 50 * 10, memoryBefore, memoryQueued, memoryAfter, maxSlidingSecond: Math.max(...Object.values(report.maxSlidingSecond)) })}`,
    );
    expect(report.completed).toBe(20_000);
  });
});

async function idle(): Promise<true | undefined> {
  const counts = await p.service.queues.ship.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0) || undefined;
}
