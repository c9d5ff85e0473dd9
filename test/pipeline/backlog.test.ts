import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { startTestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// An account's backlog (jobs queued or running, not finished) is kept by the scripts that enqueue,
// settle, bury, sweep and redrive, not by scanning queues. Checked against the queues themselves at
// the moments nothing moves (the account held), and at the end, over random mixes of fates,
// duplicates, syncs, redrives and runs taken over after a lost lock.
const RUNS = Number(process.env.BACKLOG_RUNS ?? 6);
const vv = testAccount('bl', 'vvtool');
const dm = testAccount('bldm', 'damaijia');

type Fate = 'ok' | 'dead' | 'retry' | 'duplicate' | 'sync' | 'lock-lost';

const scenario = fc.array(fc.constantFrom<Fate>('ok', 'dead', 'retry', 'duplicate', 'sync', 'lock-lost'), {
  minLength: 3,
  maxLength: 12,
});

async function run(fates: readonly Fate[]): Promise<void> {
  const p = await startTestPipeline('backlog', [vv, dm], { RETRY_ATTEMPTS: '4' });
  try {
    const backlog = async () => {
      const [a, b] = await p.service.backlogs([vv.id, dm.id]);
      return a! + b!;
    };
    // What the queues hold that is not finished, counted the slow way.
    const unfinished = async () => {
      let total = 0;
      for (const queue of [p.service.queues.ship, p.service.queues.sync]) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        total += Object.values(counts).reduce((sum, count) => sum + count, 0);
      }
      return total;
    };
    await p.service.holdAccount(vv.id, 'counting');
    await p.service.holdAccount(dm.id, 'counting');
    p.startWorkers();

    const payloads: Record<string, unknown>[] = [];
    const ids: string[] = [];
    for (const fate of fates) {
      if (fate === 'sync') {
        ids.push(
          (await p.service.producer.sync({ account: dm.id, orderSns: `SN${ids.length}`, ownerId: 'o' })).id,
        );
        continue;
      }
      const payload = fate === 'duplicate' && payloads.length > 0 ? payloads.at(-1)! : vvtoolShip(vv.id);
      if (fate === 'dead')
        p.sandbox.script('vvtool', payload.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
      if (fate === 'retry') p.sandbox.script('vvtool', payload.tid as string, [{ code: 101 }]);
      payloads.push(payload);
      ids.push((await p.service.producer.ship(payload)).id);
    }
    const distinct = [...new Set(ids)];
    // Held: nothing runs, so the count must be exact now.
    await until('held jobs to park', async () => (await unfinished()) === distinct.length);
    expect(await backlog()).toBe(distinct.length);

    // Lose the lock of the first 'lock-lost' shipment's run mid-call, as a network split would.
    const lost = fates.indexOf('lock-lost');
    if (lost >= 0) await p.upstream.setLatency(1_500);
    await p.service.resumeAccount(vv.id);
    await p.service.resumeAccount(dm.id);
    if (lost >= 0) {
      const tid = payloads[fates.slice(0, lost).filter((fate) => fate !== 'sync').length]!.tid as string;
      await until('the call to arrive', () => p.sandbox.calls().some((call) => call.orderKey === tid));
      await p.redis.del(queueKeys.lock(p.prefix, 'ship', ids[lost]!));
      await p.upstream.setLatency(0);
    }
    const states = await Promise.all(
      distinct.map((id) =>
        until(
          `job ${id} to finish`,
          async () => {
            const state = (await p.service.getJob(id))?.state;
            return state === 'completed' || state === 'dead' ? state : undefined;
          },
          { timeoutMs: 30_000 },
        ),
      ),
    );
    await until('the backlog to empty', async () => (await backlog()) === 0);
    expect(await unfinished()).toBe(0);

    // Redriven while held: back in the backlog, exactly; resumed: out again.
    const dead = distinct.filter((_, i) => states[i] === 'dead');
    if (dead.length > 0) {
      await p.service.holdAccount(vv.id, 'counting again');
      await p.service.deadLetters.redrive({ ids: dead });
      await until('redriven jobs to park', async () => (await unfinished()) === dead.length);
      expect(await backlog()).toBe(dead.length);
      await p.service.resumeAccount(vv.id);
      await until('the backlog to empty again', async () => (await backlog()) === 0);
    }
  } finally {
    await p.close();
  }
}

describe('the per-account backlog', () => {
  it(`matches the queues when nothing moves and ends at zero (${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(scenario, run), { numRuns: RUNS, seed: 1203, endOnFailure: true });
  }, 600_000);
});
