import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/ports.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { until } from '../helpers/wait.js';

// `npm start` runs the ship and sync workers in one process. On SIGTERM every queue must stop taking
// jobs at once, then drain: a worker that keeps taking jobs while another drains starts calls that
// the shutdown then waits for (or, past the grace period, abandons mid-call).
const vv = testAccount('so-vv', 'vvtool');
const dm = testAccount('so-dm', 'damaijia');
const CONCURRENCY = 4;
const LATENCY_MS = 3_000;
let p: TestPipeline;
const children: Child[] = [];

beforeAll(async () => {
  p = await startTestPipeline('shutdown-order', [vv, dm], {
    SHUTDOWN_GRACE_MS: '30000',
    UPSTREAM_TIMEOUT_MS: String(LATENCY_MS * 3),
    WORKER_CONCURRENCY: String(CONCURRENCY),
    API_KEYS: 'key-shutdown-order-0123456789',
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  });
  await p.upstream.setLatency(LATENCY_MS);
});
afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await p?.close();
});

describe('shutdown of npm start (ship and sync workers in one process)', () => {
  it('stops taking jobs on every queue at once, then lets the calls in flight finish', async () => {
    const ship = Array.from({ length: 40 }, () => ({ type: 'ship' as const, ...vvtoolShip(vv.id) }));
    const sync = Array.from({ length: 40 }, (_, i) => ({
      type: 'sync' as const,
      account: dm.id,
      orderSns: `SO-${Date.now()}-${i}`,
      ownerId: 'owner',
    }));
    const jobs = await p.service.producer.batch([...ship, ...sync]);
    const service = spawnNode('workers/all.ts', p.env);
    children.push(service);

    // Each worker has taken as many jobs as it may run; none can answer before the signal.
    const byOperation = async (operation: string) =>
      (await p.upstream.calls()).filter((call) => call.operation === operation).length;
    await until(
      'both queues at their concurrency',
      async () =>
        (await byOperation('vvtool.send')) >= CONCURRENCY &&
        (await byOperation('damaijia.sync')) >= CONCURRENCY,
      { timeoutMs: 30_000, everyMs: 10 },
    );
    expect(await service.stop('SIGTERM')).toBe(0);
    expect(service.output()).not.toMatch(/grace period over/);

    // No queue took a job after the signal: each ran only its first CONCURRENCY jobs, to the end.
    expect(await byOperation('vvtool.send')).toBe(CONCURRENCY);
    expect(await byOperation('damaijia.sync')).toBe(CONCURRENCY);
    const views = await Promise.all(jobs.map((job) => p.service.getJob(job.id)));
    const completed = views.filter((view) => view?.state === 'completed');
    expect(completed.filter((view) => view?.queue === 'ship')).toHaveLength(CONCURRENCY);
    expect(completed.filter((view) => view?.queue === 'sync')).toHaveLength(CONCURRENCY);
    expect(await p.service.queues.ship.getActiveCount()).toBe(0);
    expect(await p.service.queues.sync.getActiveCount()).toBe(0);
  });
});
