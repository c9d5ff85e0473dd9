import type { Worker } from 'bullmq';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/index.js';
import { createLogger } from '../../src/log.js';
import { createQueueWorker } from '../../src/queues/worker.js';
import type { ScriptedAnswer } from '../../src/sandbox/index.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// A property over random interleavings of the things that go wrong after a call is sent: lock loss
// mid-call (as after a network split), settles refused by Redis, answers that never come, dead
// answers redriven (sometimes twice at once) or purged and enqueued again. After each run, against
// the sandbox's own record of every call and the ledger:
// - at most one charged call per shipment at the upstream;
// - every call that charged or got no answer is in the ledger, and no entry stands for a call that
//   was never made (entries ≤ calls, per shipment);
// - every job has exactly one home: its queue, or the dead-letter queue.
const RUNS = Number(process.env.INTERLEAVING_RUNS ?? 12);

const vv = testAccount('il', 'vvtool');

type Fate = 'ok' | 'dead' | 'retry' | 'no-answer' | 'lock-lost';
interface Scenario {
  readonly fates: readonly Fate[];
  /** Settles refused before the ledger works again (READONLY during a failover). */
  readonly settleFailures: number;
  /** Per dead shipment: redrive once, twice at once, or purge and enqueue again. */
  readonly afterDeath: readonly ('redrive' | 'redrive-twice' | 'purge')[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  fates: fc.array(fc.constantFrom<Fate>('ok', 'dead', 'retry', 'no-answer', 'lock-lost'), {
    minLength: 3,
    maxLength: 6,
  }),
  settleFailures: fc.integer({ min: 0, max: 10 }),
  afterDeath: fc.array(fc.constantFrom('redrive' as const, 'redrive-twice' as const, 'purge' as const), {
    minLength: 6,
    maxLength: 6,
  }),
});

function script(fate: Fate): ScriptedAnswer[] {
  switch (fate) {
    case 'dead':
      return [{ code: 614, msg: '没有权限进行发货' }];
    case 'retry':
      return [{ code: 101 }, { fault: 'http500' }];
    case 'no-answer':
      return [{ fault: 'reset', when: 'after' }];
    default:
      return [];
  }
}

async function run(s: Scenario): Promise<void> {
  const p: TestPipeline = await startTestPipeline('interleave', [vv], {
    UPSTREAM_TIMEOUT_MS: '1000',
    LOCK_DURATION_MS: '2000',
    RETRY_ATTEMPTS: '6',
  });
  const connections: Redis[] = [];
  const workers: Worker[] = [];
  try {
    let refusals = s.settleFailures;
    const ledger = new Proxy(new Ledger(p.redis, p.prefix), {
      get(object, key) {
        const value = Reflect.get(object, key, object);
        if (typeof value !== 'function') return value;
        if (key === 'settle') {
          return async (...args: Parameters<Ledger['settle']>) => {
            if (refusals > 0) {
              refusals -= 1;
              throw new Error("READONLY You can't write against a read only replica.");
            }
            return object.settle(...args);
          };
        }
        return value.bind(object);
      },
    });
    // Two workers, as two processes would be: each its own connection; their stalled checkers run
    // every second, so a lost lock is found while the call it covered is still in flight.
    for (let i = 0; i < 2; i++) {
      const connection = new Redis(p.env.REDIS_URL!, { maxRetriesPerRequest: null });
      connections.push(connection);
      const worker = createQueueWorker(p.service, 'ship', {
        connection,
        upstreams: createUpstreams({ ...p.config, timeoutMs: p.config.upstreamTimeoutMs }),
        log: createLogger({ level: 'silent' }),
        processorDeps: { ledger, bookkeepingDelaysMs: [5, 10] },
      });
      worker.on('error', () => {});
      workers.push(worker);
    }
    const payloads = s.fates.map(() => vvtoolShip(vv.id));
    for (const [i, fate] of s.fates.entries())
      p.sandbox.script('vvtool', payloads[i]!.tid as string, script(fate));
    const lockLost = new Set(
      s.fates.flatMap((fate, i) => (fate === 'lock-lost' ? [payloads[i]!.tid as string] : [])),
    );
    if (lockLost.size > 0) await p.upstream.setLatency(1_500);
    const ids = (
      await p.service.producer.batch(payloads.map((payload) => ({ type: 'ship', ...payload })))
    ).map((result) => result.id);
    // Lose the lock of each chosen job while its first call is in flight.
    await Promise.all(
      [...lockLost].map(async (tid) => {
        const index = payloads.findIndex((payload) => payload.tid === tid);
        await until('the call to arrive', () => p.sandbox.calls().some((call) => call.orderKey === tid));
        await p.redis.del(queueKeys.lock(p.prefix, 'ship', ids[index]!));
      }),
    );
    const finished = async (id: string) =>
      until(
        `job ${id} to finish`,
        async () => {
          const view = await p.service.getJob(id);
          return view && (view.state === 'completed' || view.state === 'dead') ? view : undefined;
        },
        { timeoutMs: 40_000 },
      );
    const first = await Promise.all(ids.map(finished));
    await p.upstream.setLatency(0);

    // What people do with the dead ones.
    const dead = first.flatMap((view, i) => (view.state === 'dead' ? [i] : []));
    const reEnqueued: string[] = [];
    await Promise.all(
      dead.map(async (i, n) => {
        const id = ids[i]!;
        const action = s.afterDeath[n % s.afterDeath.length]!;
        if (action === 'purge') {
          expect(await p.service.deadLetters.remove(id)).toBe(true);
          reEnqueued.push((await p.service.producer.ship(payloads[i]!)).id);
          return;
        }
        const attempts = action === 'redrive-twice' ? 2 : 1;
        const outcomes = await Promise.allSettled(
          Array.from({ length: attempts }, () => p.service.deadLetters.redrive({ ids: [id] })),
        );
        expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).toBe(true);
      }),
    );
    await Promise.all([...ids, ...reEnqueued].map(finished));

    // Invariants.
    const calls = p.sandbox.calls();
    const entries = (await p.service.ledger.entries({ limit: 1_000 })).items;
    for (const [i, payload] of payloads.entries()) {
      const tid = payload.tid as string;
      const own = calls.filter((call) => call.orderKey === tid);
      const ownEntries = entries.filter((entry) => entry.order === tid);
      const where = `shipment ${i} (${s.fates[i]})`;
      expect(own.filter((call) => call.charged > 0).length, `${where}: charged calls`).toBeLessThanOrEqual(1);
      const mustRecord = own.filter((call) => call.charged > 0 || call.httpStatus === null).length;
      expect(
        ownEntries.length,
        `${where}: entries vs calls that charged or got no answer`,
      ).toBeGreaterThanOrEqual(mustRecord);
      expect(ownEntries.length, `${where}: entries vs calls`).toBeLessThanOrEqual(own.length);
      const charged = own.reduce((sum, call) => sum + (call.httpStatus === null ? 0 : call.charged), 0);
      const known = ownEntries.reduce((sum, entry) => sum + (entry.amount ?? 0), 0);
      expect(known, `${where}: known charges`).toBeLessThanOrEqual(charged);
    }
    for (const id of [...ids, ...reEnqueued]) {
      const inQueue = await p.service.queues.ship.getJobState(id);
      const inDeadLetters = (await p.service.deadLetters.get(id)) !== null;
      const homes = (inQueue !== 'unknown' && inQueue !== 'failed' ? 1 : 0) + (inDeadLetters ? 1 : 0);
      expect(homes, `job ${id} homes (queue state ${inQueue}, dead-letter ${inDeadLetters})`).toBe(1);
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.close(true)));
    for (const connection of connections) connection.disconnect();
    await p.close();
  }
}

describe('random interleavings of lock loss, refused settles, lost answers, redrive and purge', () => {
  it(`keep one charged call per shipment, every charge in the ledger, one home per job (${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(scenario, run), { numRuns: RUNS, seed: 20261203, endOnFailure: true });
  }, 900_000);
});
