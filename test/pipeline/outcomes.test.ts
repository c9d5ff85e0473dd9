import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import {
  damaijiaShip,
  startTestPipeline,
  type TestPipeline,
  testAccount,
  vvtoolShip,
} from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

const vv = testAccount('vv1', 'vvtool');
const vvHeld = testAccount('vvheld', 'vvtool');
const dm = testAccount('dm1', 'damaijia');
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline('outcomes', [vv, vvHeld, dm]);
  p.startWorkers();
});
afterAll(async () => {
  await p?.close();
});

async function finalState(id: string) {
  return until(`job ${id} to finish`, async () => {
    const view = await p.service.getJob(id);
    return view && (view.state === 'completed' || view.state === 'dead') ? view : undefined;
  });
}

const callsFor = (order: string) => p.sandbox.calls().filter((call) => call.orderKey === order);

describe('every outcome end to end', () => {
  it('retries 101 and 202 and then succeeds, charging once', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [{ code: 101 }, { code: 202 }]);
    const sendsBefore = p.service.limiter.wire.stats().sends;
    const { id } = await p.service.producer.ship(payload);
    const view = await finalState(id);
    expect(view.state).toBe('completed');
    expect(view.result).toMatchObject({ result: 'shipped', code: 0, charge: 1 });
    expect(callsFor(payload.tid as string)).toHaveLength(3);
    // Each call was timed from the limiter's lateness check to the wire.
    expect(p.service.limiter.wire.stats().sends - sendsBefore).toBe(3);
    const entries = (await p.service.ledger.entries({})).items.filter((entry) => entry.jobId === id);
    expect(entries).toEqual([expect.objectContaining({ amount: 1, status: 'charged', order: payload.tid })]);
  });

  it('retries 614 系统异常 and 发货异常', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [
      { code: 614, msg: '系统异常' },
      { code: 614, msg: '发货异常,请稍等后重试' },
    ]);
    const { id } = await p.service.producer.ship(payload);
    expect((await finalState(id)).state).toBe('completed');
    expect(callsFor(payload.tid as string)).toHaveLength(3);
  });

  it('sends a 614 isv error to the dead-letter queue after exactly one call', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
    const { id } = await p.service.producer.ship(payload);
    const view = await finalState(id);
    expect(view.state).toBe('dead');
    expect(callsFor(payload.tid as string)).toHaveLength(1);
    const dead = await p.service.deadLetters.get(id);
    expect(dead).toMatchObject({ id, queue: 'ship', name: 'vvtool.send', account: vv.id, code: 614 });
    expect(dead?.message).toBe('没有权限进行发货');
    expect(dead?.reason.length).toBeGreaterThan(5);
    // One home: gone from the ship queue.
    expect(await p.service.queues.ship.getJob(id)).toBeUndefined();
  });

  it('reads damaijia 202 as dead (invalid product id), not as the vv-tool retry', async () => {
    const payload = damaijiaShip(dm.id);
    p.sandbox.script('damaijia', payload.order_no as string, [{ code: 202 }]);
    const { id } = await p.service.producer.ship(payload);
    expect((await finalState(id)).state).toBe('dead');
    expect(callsFor(payload.order_no as string)).toHaveLength(1);
  });

  it('completes an already-shipped order as already_shipped', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [
      { code: 614, msg: '物流订单状态不为新建状态,无需发货处理' },
    ]);
    const { id } = await p.service.producer.ship(payload);
    const view = await finalState(id);
    expect(view).toMatchObject({ state: 'completed', result: { result: 'already_shipped' } });
  });

  it('exhausting the attempts dead-letters with the last reason', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [
      { code: 101 },
      { code: 101 },
      { code: 101 },
      { code: 101 },
    ]);
    const { id } = await p.service.producer.ship(payload);
    const view = await finalState(id);
    expect(view.state).toBe('dead');
    expect(callsFor(payload.tid as string)).toHaveLength(4);
    const dead = await p.service.deadLetters.get(id);
    expect(dead?.reason).toMatch(/gave up after 4 attempts/);
    expect(dead?.attemptsMade).toBe(4);
  });

  it('holds an account on 401: no more calls, no attempts spent; resume releases its jobs', async () => {
    const first = vvtoolShip(vvHeld.id);
    p.sandbox.script('vvtool', first.tid as string, [{ code: 401 }]);
    const { id: firstId } = await p.service.producer.ship(first);
    await until('account held', async () => (await p.service.limiter.isHeld(vvHeld.id)) || undefined);
    const others = await Promise.all([1, 2, 3].map(() => p.service.producer.ship(vvtoolShip(vvHeld.id))));
    // Every job of the held account parks (delayed) without calling.
    await until('jobs parked', async () => {
      const states = await Promise.all(
        [firstId, ...others.map((o) => o.id)].map((id) => p.service.getJob(id)),
      );
      return states.every((view) => view?.state === 'delayed') || undefined;
    });
    const heldCalls = p.sandbox.calls({ account: vvHeld.id });
    expect(heldCalls).toHaveLength(1);
    const [view] = (await p.service.listAccounts()).filter((account) => account.id === vvHeld.id);
    expect(view).toMatchObject({ state: 'held', code: 401 });
    expect(view?.reason).toMatch(/token/i);
    expect(typeof view?.since).toBe('string');

    const resumed = await p.service.resumeAccount(vvHeld.id);
    expect(resumed).toMatchObject({ id: vvHeld.id, state: 'active' });
    for (const id of [firstId, ...others.map((o) => o.id)]) {
      const done = await finalState(id);
      expect(done.state).toBe('completed');
      // At most the attempt that completed (BullMQ counts it); waiting while held spent none.
      expect(done.attemptsMade).toBeLessThanOrEqual(1);
    }
    expect(p.sandbox.calls({ account: vvHeld.id })).toHaveLength(5);
  });

  it('redrives a dead job with a patch: same id, patched field, completed', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [{ code: 614, msg: '运单号不符合规则或已经被使用' }]);
    const { id } = await p.service.producer.ship(payload);
    expect((await finalState(id)).state).toBe('dead');
    // The same shipment again while dead: the dead job, no call.
    expect(await p.service.producer.ship(payload)).toEqual({ id, state: 'dead', duplicate: true });

    await expect(
      p.service.deadLetters.redrive({ ids: [id], patch: { out_sid: 'bad waybill!' } }),
    ).rejects.toThrow(/out_sid/);
    expect(await p.service.deadLetters.get(id)).not.toBeNull();

    const answer = await p.service.deadLetters.redrive({ ids: [id], patch: { out_sid: 'YT-FIXED-0001' } });
    expect(answer).toEqual({ redriven: 1, ids: [id] });
    const view = await finalState(id);
    expect(view.state).toBe('completed');
    const calls = callsFor(payload.tid as string);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.fields['out_sid']).toBe('YT-FIXED-0001');
    expect(await p.service.deadLetters.get(id)).toBeNull();
  });

  it('syncs a damaijia order and charges it', async () => {
    const { id } = await p.service.producer.sync({ account: dm.id, orderSns: 'SN-1', ownerId: 'owner-1' });
    const view = await finalState(id);
    expect(view).toMatchObject({ state: 'completed', result: { result: 'synced' } });
  });

  it('keeps a compact done marker after the job is gone', async () => {
    const { id } = await p.service.producer.ship(vvtoolShip(vv.id));
    await finalState(id);
    const marker = await p.redis.get(queueKeys.marker(p.prefix, id));
    expect(marker).toMatch(/^d\|\d+\|shipped\|1$/);
    expect(await p.redis.pttl(queueKeys.marker(p.prefix, id))).toBeGreaterThan(6 * 86_400_000);
  });
});

describe('looking a job up while it moves', () => {
  // A job leaving its queue (done or dead) can vanish between reading its hash and reading its state.
  // Its next home is written first, so the lookup must find that, not call the vanished job completed.
  it('reports a job caught between its queue and the dead-letter queue as dead', async () => {
    const id = `vvtool.${vv.id}.mid-move-${Date.now()}.all.YT0000000001`;
    const data = JSON.stringify({ ...vvtoolShip(vv.id), account: vv.id });
    // The moment in between: the job's hash is still there, but no state list holds it any more.
    await p.redis.hset(queueKeys.job(p.prefix, 'ship', id), {
      name: 'vvtool.send',
      data,
      opts: '{}',
      timestamp: String(Date.now()),
    });
    const leaving = await p.service.queues.ship.getJob(id);
    expect(await leaving?.getState()).toBe('unknown');
    await p.service.deadLetters.bury(leaving!, 'ship', {
      reason: 'refused',
      code: 614,
      message: 'no',
      attemptsMade: 1,
      failedAt: Date.now(),
    });
    expect(await p.service.getJob(id)).toMatchObject({ id, state: 'dead', queue: 'dead-letter' });
    await p.redis.del(queueKeys.job(p.prefix, 'ship', id));
    expect(await p.service.deadLetters.remove(id)).toBe(true);
  });
});
