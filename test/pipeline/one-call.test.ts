import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { idempotencyKey, type JobData } from '../../src/jobs/index.js';
import { limiterKeys, queueKeys } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/index.js';
import type { AccountLimiter, GrantId } from '../../src/limiter/index.js';
import { createLogger } from '../../src/log.js';
import type { DeadLetters } from '../../src/queues/dead-letter.js';
import { doneMarker } from '../../src/queues/markers.js';
import { createQueueWorker } from '../../src/queues/worker.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// Once a call has been sent, nothing after it may lead to another call of that shipment while it may
// be in flight, and nothing may turn a known answer into a second call: failed bookkeeping is tried
// again, not the call; a held account parks the job; a second run waits for the first run's call.
// Faults are injected into the real ledger, dead-letter queue and limiter (real Redis underneath).

const vv = testAccount('once', 'vvtool');
let p: TestPipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const READONLY = "READONLY You can't write against a read only replica.";

/** An object whose named methods fail `times` times first, then behave. */
function failing<T extends object>(target: T, method: keyof T, times: number): T & { failed: number } {
  let left = times;
  let failed = 0;
  return new Proxy(target, {
    get(object, key) {
      if (key === 'failed') return failed;
      const value = Reflect.get(object, key, object);
      if (typeof value !== 'function') return value;
      if (key === method && left > 0) {
        return async () => {
          left -= 1;
          failed += 1;
          throw new Error(READONLY);
        };
      }
      return value.bind(object);
    },
  }) as T & { failed: number };
}

async function finished(pipeline: TestPipeline, id: string) {
  return until(
    `job ${id} to finish`,
    async () => {
      const view = await pipeline.service.getJob(id);
      return view && (view.state === 'completed' || view.state === 'dead') ? view : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

const callsFor = (pipeline: TestPipeline, tid: string) =>
  pipeline.sandbox.calls().filter((call) => call.orderKey === tid);

const entriesOf = async (pipeline: TestPipeline, jobId: string) =>
  (await pipeline.service.ledger.entries({ limit: 1_000 })).items.filter((entry) => entry.jobId === jobId);

describe('bookkeeping that fails after a call', () => {
  it('a settle refused twice (READONLY) is tried again: one call, the charge recorded once', async () => {
    p = await startTestPipeline('once-settle', [vv]);
    const ledger = failing(new Ledger(p.redis, p.prefix), 'settle', 2);
    p.startWorkers(['ship'], { ledger, bookkeepingDelaysMs: [10, 10, 10] });
    const payload = vvtoolShip(vv.id);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(p, id)).toMatchObject({ state: 'completed' });
    expect(ledger.failed).toBe(2);
    expect(callsFor(p, payload.tid as string)).toHaveLength(1);
    expect(await entriesOf(p, id)).toEqual([expect.objectContaining({ amount: 1, status: 'charged' })]);
  });

  it('a settle that keeps failing never calls again while the call may be in flight; one charge', async () => {
    p = await startTestPipeline('once-settle-down', [vv]);
    // Every try of the first run fails; the rerun's settle works.
    const ledger = failing(new Ledger(p.redis, p.prefix), 'settle', 4);
    p.startWorkers(['ship'], { ledger, bookkeepingDelaysMs: [10, 10, 10] });
    const payload = vvtoolShip(vv.id);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(p, id)).toMatchObject({ state: 'completed' });
    const calls = callsFor(p, payload.tid as string);
    // The rerun waited for the first call's deadline, recorded it unknown, and the upstream then
    // refused the second call as already shipped: one charge at the upstream.
    expect(calls.filter((call) => call.charged > 0)).toHaveLength(1);
    expect(calls.length).toBeLessThanOrEqual(2);
    if (calls.length === 2) expect(calls[1]!.at - calls[0]!.at).toBeGreaterThan(1_000);
    const entries = await entriesOf(p, id);
    expect(entries.map((entry) => entry.status).sort()).toEqual(['unknown']);
  });

  it('a dead answer whose dead-letter move fails is moved on the rerun, without a second call', async () => {
    p = await startTestPipeline('once-bury', [vv]);
    const deadLetters = failing(p.service.deadLetters as DeadLetters, 'finishBury', 1);
    p.startWorkers(['ship'], { deadLetters, bookkeepingDelaysMs: [] });
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(p, id)).toMatchObject({ state: 'dead' });
    expect(deadLetters.failed).toBe(1);
    expect(callsFor(p, payload.tid as string)).toHaveLength(1);
    expect(await p.service.deadLetters.get(id)).toMatchObject({ id, code: 614 });
  });
});

describe('a hold answer', () => {
  it('parks the job; a resume before the next gate call does not make a second call in the same run', async () => {
    p = await startTestPipeline('once-hold', [vv]);
    const real = p.service.limiter;
    // Resumed the moment it is held, as an operator racing the worker would.
    const limiter = new Proxy(real, {
      get(object, key) {
        if (key === 'hold') {
          return async (...args: Parameters<AccountLimiter['hold']>) => {
            const newly = await object.hold(...args);
            await object.resume(args[0]);
            return newly;
          };
        }
        const value = Reflect.get(object, key, object);
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
    p.startWorkers(['ship'], { limiter });
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [{ code: 401 }]);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(p, id)).toMatchObject({ state: 'completed' });
    expect(callsFor(p, payload.tid as string)).toHaveLength(2);
    // The shipping call ran in a later activation than the one that was answered 401.
    const [entry] = await entriesOf(p, id);
    expect(entry?.attempt).toBeGreaterThanOrEqual(2);
  });
});

describe('the last check, at the wire', () => {
  it('a call found too late where it meets its socket is never sent; the job takes another slot, one call', async () => {
    p = await startTestPipeline('once-wire', [vv]);
    const real = p.service.limiter;
    // Each call is checked twice: after waiting for its slot, then at the wire. The first wire check
    // finds the slot long gone (a stalled connection, say); every other check is the real one.
    let checks = 0;
    const reports: Array<{ number: number; lateMs: number }> = [];
    const limiter = new Proxy(real, {
      get(object, key) {
        if (key === 'lateness') {
          return (grant: Parameters<AccountLimiter['lateness']>[0]) =>
            ++checks === 2 ? 1e9 : object.lateness(grant);
        }
        if (key === 'sent') {
          return (account: string, grant: GrantId, lateMs: number) => {
            reports.push({ number: grant.number, lateMs });
            return object.sent(account, grant, lateMs);
          };
        }
        const value = Reflect.get(object, key, object);
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
    p.startWorkers(['ship'], { limiter });
    const payload = vvtoolShip(vv.id);
    const { id } = await p.service.producer.ship(payload);
    // One attempt: the call held back at the wire spent none.
    expect(await finished(p, id)).toMatchObject({ state: 'completed', attemptsMade: 1 });
    expect(checks).toBeGreaterThanOrEqual(4);
    expect(callsFor(p, payload.tid as string)).toHaveLength(1);
    // Nothing was recorded for the call that never left: one entry, charged, no unknown.
    expect(await entriesOf(p, id)).toEqual([expect.objectContaining({ amount: 1, status: 'charged' })]);
    expect(await p.redis.hlen(`${p.prefix}:ledger:inflight`)).toBe(0);
    // The gate's window log: the grant held back was released by the next gate call (it constrains
    // nothing), and the call that left reported how late it was, which its entry now says.
    expect(reports).toEqual([{ number: 2, lateMs: expect.any(Number) }]);
    const log = limiterKeys.sent(p.prefix, vv.id);
    const entry = await until('the report in the window log', async () => {
      const [slot, reach, tail] = ((await p!.redis.hget(log, '2')) ?? '').split('|').map(Number);
      return reach === slot! + Math.ceil(reports[0]!.lateMs * 1000) + tail!
        ? { slot, reach, tail }
        : undefined;
    });
    expect(entry.tail).toBeGreaterThan(0);
    expect(await p.redis.hkeys(log)).toEqual(['2']);
  });
});

describe('ownership of a call', () => {
  it('a run that lost its lock mid-call is not followed by a second call from the next run', async () => {
    p = await startTestPipeline('once-lock', [vv], { UPSTREAM_TIMEOUT_MS: '7000', LOCK_DURATION_MS: '8000' });
    const pipeline = p;
    // The answer comes 5 s after the call; the stalled checker runs every second (a 2 s lock).
    await pipeline.upstream.setLatency(5_000);
    const connection = new Redis(pipeline.env.REDIS_URL!, { maxRetriesPerRequest: null });
    const worker = createQueueWorker(pipeline.service, 'ship', {
      connection,
      upstreams: createUpstreams({ ...pipeline.config, timeoutMs: pipeline.config.upstreamTimeoutMs }),
      log: createLogger({ level: 'silent' }),
      lockDurationMs: 2_000,
    });
    onTestFinished(async () => {
      await worker.close(true);
      connection.disconnect();
    });
    const payload = vvtoolShip(vv.id);
    const tid = payload.tid as string;
    const { id } = await pipeline.service.producer.ship(payload);
    await until('the call to reach the upstream', () => callsFor(pipeline, tid).length === 1);
    // As after a network split longer than the lock: the lock is gone, and the stalled checker hands
    // the job to a new run while the first run's call is still waiting for its answer.
    await pipeline.redis.del(queueKeys.lock(pipeline.prefix, 'ship', id));
    await until(
      'the job to be taken again',
      async () => ((await pipeline.service.queues.ship.getJob(id))?.attemptsStarted ?? 0) >= 2,
      { timeoutMs: 20_000 },
    );
    // Taken again before the first run settled (else this would test nothing).
    expect(String(await pipeline.redis.get(queueKeys.marker(pipeline.prefix, id)))).not.toMatch(/^d/);
    await pipeline.upstream.setLatency(0);
    expect(await finished(pipeline, id)).toMatchObject({ state: 'completed' });
    expect(callsFor(pipeline, tid)).toHaveLength(1);
    expect(await entriesOf(pipeline, id)).toEqual([
      expect.objectContaining({ amount: 1, status: 'charged' }),
    ]);
  });
});

describe('a job whose id is not its shipment key', () => {
  it('finds its shipment done under the key derived from its data and calls nobody', async () => {
    p = await startTestPipeline('once-key', [vv]);
    p.startWorkers(['ship']);
    const payload = vvtoolShip(vv.id);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(p, id)).toMatchObject({ state: 'completed' });
    // The same shipment added under another id (a foreign producer, an edit on the dashboard).
    await p.service.queues.ship.add('vvtool.send', payload, { jobId: 'foreign-copy-1', attempts: 3 });
    const copy = await finished(p, 'foreign-copy-1');
    expect(copy.state).toBe('completed');
    expect(copy.result).toMatchObject({ replayed: true });
    expect(callsFor(p, payload.tid as string)).toHaveLength(1);
  });

  it('two jobs of one shipment at once make one call', async () => {
    p = await startTestPipeline('once-twins', [vv]);
    const payload = vvtoolShip(vv.id);
    const key = idempotencyKey('vvtool.send', payload as unknown as JobData<'vvtool.send'>)!;
    await p.upstream.setLatency(300);
    await p.service.queues.ship.add('vvtool.send', payload, { jobId: 'twin-a', attempts: 3 });
    await p.service.queues.ship.add('vvtool.send', payload, { jobId: 'twin-b', attempts: 3 });
    p.startWorkers(['ship']);
    const [a, b] = [await finished(p, 'twin-a'), await finished(p, 'twin-b')];
    expect([a.state, b.state]).toEqual(['completed', 'completed']);
    expect(callsFor(p, payload.tid as string)).toHaveLength(1);
    expect(await p.redis.get(queueKeys.marker(p.prefix, key))).toMatch(/^d\|/);
  });

  it('a done marker under the key is enough (the shipment finished under its own id long ago)', async () => {
    p = await startTestPipeline('once-marker', [vv]);
    const payload = vvtoolShip(vv.id);
    const key = idempotencyKey('vvtool.send', payload as unknown as JobData<'vvtool.send'>)!;
    await p.redis.set(queueKeys.marker(p.prefix, key), doneMarker('shipped', 1), 'PX', 60_000);
    await p.service.queues.ship.add('vvtool.send', payload, { jobId: 'late-copy', attempts: 3 });
    p.startWorkers(['ship']);
    expect((await finished(p, 'late-copy')).result).toMatchObject({ replayed: true, charge: 1 });
    expect(callsFor(p, payload.tid as string)).toHaveLength(0);
  });
});

describe('a job for an account this process does not know', () => {
  it('is parked (a rolling deploy may be adding the account), not dead-lettered, and calls nobody', async () => {
    p = await startTestPipeline('once-ghost', [vv]);
    p.startWorkers(['ship']);
    const payload = vvtoolShip('ghost-account');
    await p.service.queues.ship.add('vvtool.send', payload, { jobId: 'ghost-1', attempts: 3 });
    const job = await until('the job to be parked', async () => {
      const found = await p!.service.queues.ship.getJob('ghost-1');
      return found && (await found.isDelayed()) ? found : undefined;
    });
    expect(job.attemptsMade).toBe(0);
    expect(await p.service.deadLetters.get('ghost-1')).toBeNull();
    expect(p.sandbox.calls()).toHaveLength(0);
  });
});
