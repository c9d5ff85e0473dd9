import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerKeys } from '../../src/keys.js';
import { checkInvariants } from '../helpers/invariants.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { until } from '../helpers/wait.js';

// Scenario 4 of the reliability issue: SIGTERM while 20 calls are in flight to a slow upstream. The
// worker process must stop taking jobs, let those calls come back and record them, and exit 0 within
// its grace period: nothing stalled (left active for another process to recover), nothing dead.
const accounts = [testAccount('gs1', 'vvtool'), testAccount('gs2', 'vvtool')];
const LATENCY_MS = 4_000;
const GRACE_MS = 20_000;
const IN_FLIGHT = 20;
let p: TestPipeline;
const children: Child[] = [];

beforeAll(async () => {
  p = await startTestPipeline('graceful', accounts, {
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    UPSTREAM_TIMEOUT_MS: String(LATENCY_MS * 3),
    LOCK_DURATION_MS: String(LATENCY_MS * 3 + 2_000),
    WORKER_CONCURRENCY: '30',
    LOG_LEVEL: 'warn',
  });
  await p.upstream.setLatency(LATENCY_MS);
});
afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await p?.close();
});

describe('graceful shutdown', () => {
  it('lets 20 slow in-flight calls finish and exits 0 within the grace period', async () => {
    const jobs = await p.service.producer.batch(
      Array.from({ length: 60 }, (_, i) => ({ type: 'ship', ...vvtoolShip(accounts[i % 2]!.id) })),
    );
    const ids = jobs.map((job) => job.id);
    const worker = spawnNode('workers/ship.ts', p.env);
    children.push(worker);

    // 10 per account per second, each answer 4 s away: 20 calls are out and none has come back.
    const inFlight = await until(
      `${IN_FLIGHT} calls in flight`,
      () => {
        const calls = p.sandbox.calls();
        return calls.length >= IN_FLIGHT ? calls : undefined;
      },
      { timeoutMs: 15_000, everyMs: 10 },
    );
    const signalled = Date.now();
    const code = await worker.stop('SIGTERM');
    const tookMs = Date.now() - signalled;
    const outstanding = p.sandbox.calls().length;

    expect(code).toBe(0);
    // The process says so when the grace period runs out and it stops at once: it must not have.
    expect(worker.output()).not.toMatch(/grace period over/);
    // Every call that left before or during the shutdown came back and its job completed.
    const sentOrders = new Set(p.sandbox.calls().map((call) => call.orderKey));
    const views = await Promise.all(ids.map((id) => p.service.getJob(id)));
    const called = views.filter((_view, i) => sentOrders.has(orderOf(ids[i]!)));
    expect(called.length).toBe(outstanding);
    expect(called.every((view) => view?.state === 'completed')).toBe(true);
    // Nothing left active (stalled) for another process to recover, nothing failed or dead.
    expect(await p.service.queues.ship.getActiveCount()).toBe(0);
    expect(views.every((view) => view && ['completed', 'waiting', 'delayed'].includes(view.state))).toBe(
      true,
    );
    expect(await p.redis.hlen(ledgerKeys(p.prefix).inflight)).toBe(0);
    const entries = (await p.service.ledger.entries({})).items;
    expect(entries.filter((entry) => entry.status === 'charged')).toHaveLength(outstanding);

    // A new worker finishes the rest: everything shipped once, the ledger matching the upstream.
    await p.upstream.setLatency(0);
    const rescuer = spawnNode('workers/ship.ts', p.env);
    children.push(rescuer);
    await until(
      'every job to finish',
      async () => {
        const all = await Promise.all(ids.map((id) => p.service.getJob(id)));
        return all.every((view) => view?.state === 'completed') || undefined;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
    expect(await rescuer.stop('SIGTERM')).toBe(0);
    const report = await checkInvariants(p.service, ids, p.sandbox.calls());
    console.log(
      `graceful-shutdown: ${JSON.stringify({ ...report, inFlightAtSignal: inFlight.length, callsAnsweredDuringShutdown: outstanding, exitCode: code, shutdownMs: tookMs, graceMs: GRACE_MS })}`,
    );
    expect(report).toMatchObject({ lost: 0, dead: 0, duplicateShipments: 0, completed: ids.length });
  });
});

/** The vv-tool trade id inside a ship job id (`vvtool.<account>.<tid>.<sub>.<waybill>`). */
function orderOf(jobId: string): string {
  return jobId.split('.')[2] ?? '';
}
