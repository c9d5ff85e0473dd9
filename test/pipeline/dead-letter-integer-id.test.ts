import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { startTestPipeline, type TestPipeline, testAccount } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// A job added without an id (a foreign producer's sync) gets BullMQ's integer id, which BullMQ refuses
// as a custom id: its dead-letter entry is `<queue>-<id>`, and a redrive brings it back under that
// string id. Through a real worker: one call, one entry, redrive to completion.

const dm = testAccount('dmint', 'damaijia');
let p: TestPipeline;
let foreign: Queue;

beforeAll(async () => {
  p = await startTestPipeline('dead-int', [dm]);
  foreign = new Queue('sync', { connection: p.redis, prefix: p.prefix });
  p.startWorkers(['sync']);
});
afterAll(async () => {
  await foreign?.close();
  await p?.close();
});

describe('a dead job with a bare integer id', () => {
  for (const code of [212, 217]) {
    it(`buries a sync that got ${code} as sync-<id>, and redrives it to completion`, async () => {
      const orderSns = `SO-INT-${code}-${Date.now()}`;
      p.sandbox.script('damaijia', orderSns, [{ code }]);
      const added = await foreign.add('damaijia.sync', { account: dm.id, orderSns, ownerId: 'owner-1' });
      const jobId = String(added.id);
      expect(jobId).toMatch(/^\d+$/);
      const deadId = `sync-${jobId}`;

      const dead = await until('the dead-letter entry', () =>
        p.service.deadLetters.get(deadId).then((item) => item ?? undefined),
      );
      expect(dead).toMatchObject({ id: deadId, queue: 'sync', name: 'damaijia.sync', code });
      expect(await p.service.deadLetters.get(jobId)).toEqual(dead);
      const listed = await p.service.deadLetters.list({ queue: 'sync' }, 100);
      expect(listed.items.map((item) => item.id)).toContain(deadId);
      await until('the failed copy removed', async () => (await foreign.getJobState(jobId)) === 'unknown');
      expect(p.sandbox.calls().filter((call) => call.orderKey === orderSns)).toHaveLength(1);

      expect(await p.service.deadLetters.redrive({ ids: [deadId] })).toEqual({ redriven: 1, ids: [deadId] });
      const done = await until('the redriven job completed', async () => {
        const view = await p.service.getJob(deadId);
        return view?.state === 'completed' ? view : undefined;
      });
      expect(done).toMatchObject({ queue: 'sync', result: { result: 'synced' } });
      expect(p.sandbox.calls().filter((call) => call.orderKey === orderSns)).toHaveLength(2);
      expect(await p.redis.get(queueKeys.marker(p.prefix, jobId))).toBeNull();
      expect(await p.redis.get(queueKeys.marker(p.prefix, deadId))).toMatch(/^d\|/);
      expect(await p.service.deadLetters.get(deadId)).toBeNull();
    });
  }
});
