import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

const KEY = 'hold-test-operator-key-0001';
const AUTH = { authorization: `Bearer ${KEY}` };
const vv = testAccount('vvhand', 'vvtool');
let p: TestPipeline;
let app: FastifyInstance;

beforeAll(async () => {
  p = await startTestPipeline('api-hold', [vv], { API_KEYS: KEY });
  app = await buildServer({
    service: p.service,
    config: p.config,
    log: createLogger({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
  });
  p.startWorkers();
});
afterAll(async () => {
  await app?.close();
  await p?.close();
});

describe('an account held by hand, with real workers and the sandbox', () => {
  it('makes no upstream call and spends no attempt until resumed, then ships', async () => {
    const held = await app.inject({
      method: 'POST',
      url: `/v1/accounts/${vv.id}/hold`,
      headers: AUTH,
      payload: { reason: 'waybills of this shop are being re-printed' },
    });
    expect([held.statusCode, held.json()]).toEqual([200, { id: vv.id, state: 'held' }]);

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const enqueued = await app.inject({
        method: 'POST',
        url: '/v1/ship',
        headers: AUTH,
        payload: vvtoolShip(vv.id),
      });
      expect(enqueued.statusCode).toBe(202);
      ids.push(enqueued.json().id);
    }
    // The workers take each job, find the account held, and park it (delayed) without calling.
    await until('every job parked', async () => {
      const views = await Promise.all(ids.map((id) => p.service.getJob(id)));
      return views.every((view) => view?.state === 'delayed') || undefined;
    });
    expect(p.sandbox.calls({ account: vv.id })).toHaveLength(0);
    for (const id of ids) expect((await p.service.getJob(id))?.attemptsMade).toBe(0);
    const listed = (await app.inject({ url: '/v1/accounts', headers: AUTH })).json().items[0];
    expect(listed).toMatchObject({
      state: 'held',
      code: null,
      reason: 'waybills of this shop are being re-printed',
    });

    const resumed = await app.inject({ method: 'POST', url: `/v1/accounts/${vv.id}/resume`, headers: AUTH });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ id: vv.id, state: 'active' });
    for (const id of ids) {
      const done = await until(`job ${id} to finish`, async () => {
        const view = await p.service.getJob(id);
        return view && (view.state === 'completed' || view.state === 'dead') ? view : undefined;
      });
      expect(done.state).toBe('completed');
      // The attempt that completed is the only one BullMQ counts: waiting while held spent none.
      expect(done.attemptsMade).toBeLessThanOrEqual(1);
    }
    expect(p.sandbox.calls({ account: vv.id })).toHaveLength(3);
  });
});
