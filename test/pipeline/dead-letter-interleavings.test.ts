import { randomUUID } from 'node:crypto';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ValidationError } from '../../src/jobs/index.js';
import { queueKeys } from '../../src/keys.js';
import { DeadLetterConflictError } from '../../src/queues/dead-letter.js';
import { doneMarker, parseMarker } from '../../src/queues/markers.js';
import { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// Random interleavings of everything that moves a job in or out of the dead-letter queue, run
// concurrently against real Redis: producers, a processor that completes or buries jobs, BullMQ
// failing a job on its own, the sweep, redrives (some with patches) and purges. After every round
// each shipment has at most one home, its marker agrees with that home, and no two redrives of one
// shipment in a round both succeeded.

const ACCOUNT = { id: 'vv1', provider: 'vvtool', token: 'tok-interleave-never-shown' };
const TIDS = ['61', '62', '63'];
const body = (tid: string, outSid = `YT${tid}00000000`) => ({
  account: 'vv1',
  tid,
  shop_id: 'shop-1',
  out_sid: outSid,
  company_code: 'YTO',
});
const INFO = { reason: 'refused', code: 614, message: 'no', attemptsMade: 1, failedAt: Date.UTC(2024, 4, 1) };
const RUNS = 50;

let t: TestRedis;
let service: Fulfillment;
let worker: Worker;
const ids: string[] = [];

beforeAll(async () => {
  t = await testRedis('dead-interleave');
  const config = loadConfig(
    { REDIS_URL: t.url, FULFILLMENT_PREFIX: t.prefix, FULFILLMENT_ACCOUNTS: JSON.stringify([ACCOUNT]) },
    { accounts: true },
  );
  service = new Fulfillment(config, t.redis);
  // Jobs are taken by hand (no processor), so each step runs exactly when the test says.
  worker = new Worker('ship', null, { connection: t.redis, prefix: t.prefix });
  for (const tid of TIDS) ids.push((await service.producer.ship(body(tid))).id);
});

afterAll(async () => {
  await worker?.close();
  await service?.close();
  await t?.cleanup();
});

type Op =
  | { readonly kind: 'enqueue'; readonly n: number }
  | { readonly kind: 'redrive'; readonly n: readonly number[]; readonly patch: boolean }
  | { readonly kind: 'purge'; readonly n: number }
  | { readonly kind: 'sweep' }
  | { readonly kind: 'fail' }
  | { readonly kind: 'die' }
  | { readonly kind: 'complete' }
  | { readonly kind: 'forget'; readonly n: number };

// Weighted so that shipments keep dying and coming back rather than settling as done.
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), n: fc.nat(2) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('redrive' as const),
      n: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 2 }),
      patch: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const), n: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fail' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'die' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'complete' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('forget' as const), n: fc.nat(2) }) },
);

/** The next job, as a worker takes it; the processor's gate decides from the marker first. */
async function take(act: (job: Job, token: string, marker: string | null) => Promise<void>): Promise<void> {
  const token = randomUUID();
  const job = await worker.getNextJob(token, { block: false });
  if (!job) return;
  await act(job, token, await t.redis.get(queueKeys.marker(t.prefix, String(job.id))));
}

/** What the runs did, so that a run of no-ops cannot pass for a test. */
const tally = { redriven: 0, refused: 0, purged: 0, buried: 0, completed: 0 };

async function run(step: Op, round: number): Promise<string[]> {
  switch (step.kind) {
    case 'enqueue':
      await service.producer.ship(body(TIDS[step.n]!));
      return [];
    case 'redrive': {
      const chosen = step.n.map((n) => ids[n]!);
      const patch = step.patch ? { out_sid: `YT${round}${String(Date.now()).slice(-8)}` } : undefined;
      return (await service.deadLetters.redrive({ ids: chosen, ...(patch ? { patch } : {}) })).ids;
    }
    case 'purge':
      if (await service.deadLetters.remove(ids[step.n]!)) tally.purged += 1;
      return [];
    case 'sweep':
      tally.buried += await service.deadLetters.sweepFailed('ship');
      return [];
    case 'fail':
      // BullMQ failing a job on its own (stalled too often): no marker, no entry.
      await take(async (job, token) => {
        await job.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), token);
      });
      return [];
    case 'die':
      await take(async (job, token, marker) => {
        if (marker?.startsWith('d|'))
          return void (await job.moveToCompleted({ replayed: true }, token, false));
        if ((await service.deadLetters.bury(job, 'ship', INFO)) === 'buried') tally.buried += 1;
        await job.moveToFailed(new UnrecoverableError(INFO.reason), token);
      });
      return [];
    case 'complete':
      await take(async (job, token, marker) => {
        if (marker?.startsWith('x|')) {
          await service.deadLetters.bury(job, 'ship', INFO);
          return void (await job.moveToFailed(new UnrecoverableError(INFO.reason), token));
        }
        if (!marker?.startsWith('d|'))
          await t.redis.set(queueKeys.marker(t.prefix, String(job.id)), doneMarker('shipped', 1));
        await job.moveToCompleted({ result: 'shipped' }, token, false);
        tally.completed += 1;
      });
      return [];
    case 'forget': {
      // The retention window of a done shipment ends: the same shipment may come again.
      const id = ids[step.n]!;
      if (parseMarker(await t.redis.get(queueKeys.marker(t.prefix, id)))?.kind !== 'done') return [];
      if ((await service.queues.ship.getJobState(id)) === 'completed') await service.queues.ship.remove(id);
      await t.redis.del(queueKeys.marker(t.prefix, id));
      return [];
    }
  }
}

/** Each shipment's homes and marker, read when nothing is moving. */
async function check(): Promise<void> {
  for (const id of ids) {
    const state = await service.queues.ship.getJobState(id);
    const entry = (await service.deadLetterQueue.getJob(id)) !== undefined;
    const marker = parseMarker(await t.redis.get(queueKeys.marker(t.prefix, id)));
    const queued = ['waiting', 'prioritized', 'delayed', 'active'].includes(state);
    const where = `${id}: state ${state}, entry ${entry}, marker ${marker?.kind ?? 'none'}`;
    // At most one home: queued, dead (the entry), or done.
    expect([queued, entry, marker?.kind === 'done'].filter(Boolean).length, where).toBeLessThanOrEqual(1);
    // The marker says dead exactly while the dead-letter queue holds the job.
    expect(marker?.kind === 'dead', where).toBe(entry);
    // A queued job is never behind a finished marker (the gate would end it without a call).
    if (queued) expect(marker?.kind === 'done' || marker?.kind === 'dead', where).toBe(false);
    // A completed job's shipment is remembered as done.
    if (state === 'completed') expect(marker?.kind, where).toBe('done');
  }
}

describe('dead-letter moves under random interleavings', () => {
  it(`keeps one home per shipment and one winning redrive (${RUNS} runs)`, async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        async (rounds) => {
          for (const group of rounds) {
            round += 1;
            const results = await Promise.allSettled(group.map((step) => run(step, round)));
            for (const result of results) {
              if (result.status === 'fulfilled') continue;
              const err = result.reason;
              if (!(err instanceof DeadLetterConflictError || err instanceof ValidationError)) throw err;
              tally.refused += 1;
            }
            const redriven = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
            tally.redriven += redriven.length;
            expect(new Set(redriven).size, `redriven twice in one round: ${redriven}`).toBe(redriven.length);
            await check();
          }
        },
      ),
      { numRuns: RUNS },
    );
    console.info(`interleavings: ${round} rounds, ${JSON.stringify(tally)}`);
    for (const [what, count] of Object.entries(tally)) expect(count, what).toBeGreaterThan(0);
  });
});
