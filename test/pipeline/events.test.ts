import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxKey } from '../../src/keys.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// Events are recorded by the script that makes the change they report, in the outbox stream, and
// only while the outbox exists (a consumer group created it): no consumer, no growth.
const vv = testAccount('ev', 'vvtool');
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline('events', [vv]);
  p.startWorkers(['ship']);
});
afterAll(async () => {
  await p?.close();
});

async function completed(id: string) {
  return until(`job ${id} to complete`, async () => (await p.service.getJob(id))?.state === 'completed');
}

async function events() {
  const entries = await p.redis.xrange(outboxKey(p.prefix), '-', '+');
  return entries.map(([id, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return { id, type: record['type'], at: Number(record['at']), data: JSON.parse(record['data']!) };
  });
}

describe('the outbox', () => {
  it('stays absent while no consumer group exists', async () => {
    const { id } = await p.service.producer.ship(vvtoolShip(vv.id));
    await completed(id);
    expect(await p.redis.exists(outboxKey(p.prefix))).toBe(0);
  });

  it('gets one job.completed per completed job, written by the settle, with its charge', async () => {
    await p.redis.xgroup('CREATE', outboxKey(p.prefix), 'test', '$', 'MKSTREAM');
    const payload = vvtoolShip(vv.id);
    const { id } = await p.service.producer.ship(payload);
    await completed(id);
    // A duplicate enqueue and a replay of the finished job record nothing more.
    await p.service.producer.ship(payload);
    const recorded = (await events()).filter((event) => event.data.id === id);
    expect(recorded).toEqual([
      {
        id: expect.stringMatching(/^\d+-\d+$/),
        type: 'job.completed',
        at: expect.any(Number),
        data: { id, queue: 'ship', name: 'vvtool.send', account: vv.id, result: 'shipped', charge: 1 },
      },
    ]);
    expect(JSON.stringify(recorded)).not.toContain(vv.token);
  });

  it('gets job.dead with the dead-letter entry and job.redriven with the redrive, once each', async () => {
    const payload = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', payload.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
    const { id } = await p.service.producer.ship(payload);
    await until(`job ${id} to die`, async () => (await p.service.getJob(id))?.state === 'dead');
    await p.service.deadLetters.redrive({ ids: [id], patch: { shop_id: 'shop-2' } });
    await completed(id);
    const mine = (await events()).filter((event) => event.data.id === id);
    expect(mine.map((event) => event.type)).toEqual(['job.dead', 'job.redriven', 'job.completed']);
    expect(mine[0]!.data).toEqual({
      id,
      queue: 'ship',
      name: 'vvtool.send',
      account: vv.id,
      code: 614,
      message: '没有权限进行发货',
      reason: expect.any(String),
      attemptsMade: 1,
    });
    expect(mine[1]!.data).toEqual({
      id,
      queue: 'ship',
      name: 'vvtool.send',
      account: vv.id,
      patch: { shop_id: 'shop-2' },
    });
  });

  it('gets account.held once per hold and account.resumed once per resume, nothing for no-ops', async () => {
    const before = (await events()).length;
    expect(await p.service.limiter.hold(vv.id, { reason: 'by hand', code: null, message: 'by hand' })).toBe(
      true,
    );
    expect(await p.service.limiter.hold(vv.id, { reason: 'again', code: null, message: 'again' })).toBe(
      false,
    );
    expect(await p.service.resumeAccount(vv.id)).toMatchObject({ id: vv.id, state: 'active' });
    expect(await p.service.resumeAccount(vv.id)).toMatchObject({ id: vv.id, state: 'active' });
    const added = (await events()).slice(before).filter((event) => event.type?.startsWith('account.'));
    expect(added).toEqual([
      expect.objectContaining({
        type: 'account.held',
        data: { id: vv.id, provider: 'vvtool', reason: 'by hand', code: null, since: expect.any(String) },
      }),
      expect.objectContaining({ type: 'account.resumed', data: { id: vv.id, provider: 'vvtool' } }),
    ]);
  });
});
