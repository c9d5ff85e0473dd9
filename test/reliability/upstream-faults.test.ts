import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../helpers/invariants.js';
import {
  damaijiaShip,
  startTestPipeline,
  type TestPipeline,
  testAccount,
  vvtoolShip,
} from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// 500 mixed jobs on 5 accounts with 30% transport faults: 500s, resets, stalls past the client
// timeout and garbage bodies; resets and stalls half before and half after the upstream processed
// (and charged) the call.
const accounts = [
  testAccount('fv1', 'vvtool'),
  testAccount('fv2', 'vvtool'),
  testAccount('fv3', 'vvtool'),
  testAccount('fd1', 'damaijia'),
  testAccount('fd2', 'damaijia'),
];
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline(
    'faults',
    accounts,
    {
      RETRY_ATTEMPTS: '12',
      UPSTREAM_TIMEOUT_MS: '400',
      WORKER_CONCURRENCY: '100',
    },
    { sandboxProcess: true },
  );
});
afterAll(async () => {
  await p?.close();
});

describe('upstream faults', () => {
  it('loses nothing, ships nothing twice, and the books match the upstream', async () => {
    await p.upstream.setFaults({
      rate: 0.3,
      kinds: ['http500', 'reset', 'stall', 'garbage'],
      seed: 42,
      when: 'random',
    });
    const jobs = accounts.flatMap((account) =>
      Array.from({ length: 100 }, (_, i) => {
        if (account.provider === 'vvtool') return { type: 'ship', ...vvtoolShip(account.id) };
        return i % 4 === 0
          ? { type: 'sync', account: account.id, orderSns: `SN-${account.id}-${i}`, ownerId: 'owner' }
          : { type: 'ship', ...damaijiaShip(account.id) };
      }),
    );
    const results = await p.service.producer.batch(jobs);
    p.startWorkers();
    const ids = results.map((result) => result.id);
    await until(
      'every job completed or dead',
      async () => {
        const counts = await Promise.all([
          p.service.queues.ship.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          p.service.queues.sync.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        ]);
        return counts.every((count) => Object.values(count).every((n) => n === 0)) || undefined;
      },
      { timeoutMs: 150_000, everyMs: 500 },
    );
    const calls = await p.upstream.calls();
    const faults = calls.filter((call) => call.fault !== null).length;
    const report = await checkInvariants(p.service, ids, calls);
    console.log(`upstream-faults: ${JSON.stringify({ ...report, calls: calls.length, faults })}`);
    expect(faults).toBeGreaterThan(calls.length * 0.15);
    expect(report.unknownEntries).toBeGreaterThan(0);
    expect(report.completed).toBe(500);
  });
});
