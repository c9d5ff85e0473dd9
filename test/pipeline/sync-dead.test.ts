import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPipeline, type TestPipeline, testAccount } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// A sync that dies must reach the dead-letter queue under its own id like a shipment does: one call,
// one entry, and a redrive that completes it. (Sync jobs once had BullMQ's integer ids, which the
// dead-letter queue refuses as custom ids: the bury failed and BullMQ spent every attempt on it.)
const dm = testAccount('dmsync', 'damaijia');
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline('sync-dead', [dm]);
  p.startWorkers(['sync']);
});
afterAll(async () => {
  await p?.close();
});

let serial = 0;
function syncPayload() {
  serial += 1;
  return { account: dm.id, orderSns: `SN${Date.now()}${serial}`, ownerId: 'owner-1' };
}

async function settled(id: string, states: readonly string[]) {
  return until(`job ${id} to be ${states.join(' or ')}`, async () => {
    const view = await p.service.getJob(id);
    return view && states.includes(view.state) ? view : undefined;
  });
}

describe('a dead sync', () => {
  it('gets a string id the service picks, never a bare integer', async () => {
    const { id } = await p.service.producer.sync(syncPayload());
    expect(id).toMatch(/^sync\.dmsync\.[A-Za-z0-9_-]{22}$/);
    await settled(id, ['completed']);
  });

  // Every damaijia code the outcome table calls dead (422 with its `err`).
  it.each([132, 202, 203, 212, 217, 228, 422])(
    'code %i: one call, one dead-letter entry, then a redrive completes it',
    async (code) => {
      const payload = syncPayload();
      p.sandbox.script('damaijia', payload.orderSns, [
        code === 422 ? { code, err: 'orderSns 格式错误' } : { code },
      ]);
      const { id } = await p.service.producer.sync(payload);
      const dead = await settled(id, ['dead']);
      expect(dead).toMatchObject({ state: 'dead', queue: 'dead-letter' });
      const calls = () => p.sandbox.calls().filter((call) => call.orderKey === payload.orderSns);
      expect(calls()).toHaveLength(1);

      const listed = await p.service.deadLetters.list({ queue: 'sync' }, 1_000);
      expect(listed.items.filter((item) => item.id === id)).toEqual([
        expect.objectContaining({ id, queue: 'sync', name: 'damaijia.sync', account: dm.id, code }),
      ]);
      expect(await p.service.queues.sync.getJob(id)).toBeUndefined();

      await p.service.deadLetters.redrive({ ids: [id] });
      const done = await settled(id, ['completed']);
      expect(done.result).toMatchObject({ result: 'synced' });
      expect(calls()).toHaveLength(2);
      expect(await p.service.deadLetters.get(id)).toBeNull();
    },
  );
});
