import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/jobs/index.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

const vv = testAccount('idem', 'vvtool');
const dm = testAccount('idemdm', 'damaijia');
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline('idempotency', [vv, dm]);
});
afterAll(async () => {
  await p?.close();
});

// What an enqueue writes: markers and jobs. (BullMQ's own bookkeeping keys change on their own while
// workers run, so they are left out.)
const keysUnderPrefix = async () => ({
  markers: (await p.redis.keys(`${p.prefix}:idem:*`)).sort(),
  jobs: [
    ...Object.values(await p.service.queues.ship.getJobCounts()),
    ...Object.values(await p.service.queues.sync.getJobCounts()),
  ].reduce((sum, count) => sum + count, 0),
});

describe('idempotency at the door and at the upstream', () => {
  it('enqueues the same shipment 5 times at once and again after completion: one upstream call', async () => {
    // A tid small enough to be sent as a JSON number too.
    const payload = vvtoolShip(vv.id, { tid: String(Date.now() % 1_000_000_000) });
    const results = await Promise.all(Array.from({ length: 5 }, () => p.service.producer.ship(payload)));
    const ids = new Set(results.map((result) => result.id));
    expect(ids.size).toBe(1);
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    const [id] = [...ids] as [string];
    expect(id).toBe(`vvtool.${vv.id}.${payload.tid}.all.${payload.out_sid}`);

    p.startWorkers(['ship']);
    await until('completed', async () => (await p.service.getJob(id))?.state === 'completed' || undefined);
    expect(await p.service.producer.ship(payload)).toEqual({ id, state: 'completed', duplicate: true });
    // A repeat given as a number id is the same shipment.
    expect((await p.service.producer.ship({ ...payload, tid: Number(payload.tid) })).id).toBe(id);
    expect(p.sandbox.calls().filter((call) => call.orderKey === payload.tid)).toHaveLength(1);
  });

  it('gives a repeat inside one batch the first one its id and duplicate: true', async () => {
    const payload = vvtoolShip(vv.id);
    const other = vvtoolShip(vv.id);
    const results = await p.service.producer.batch([
      { type: 'ship', ...payload },
      { type: 'ship', ...other },
      { type: 'ship', ...payload },
    ]);
    expect(results[0]).toMatchObject({ duplicate: false, state: 'waiting' });
    expect(results[2]).toEqual({ ...results[0], duplicate: true });
    expect(results[1]?.id).not.toBe(results[0]?.id);
  });

  it('sorts sub-order ids numerically in the key, keeping sub_tid as sent', async () => {
    const payload = vvtoolShip(vv.id, { sub_tid: '10,9,100', is_split: 1 });
    const { id } = await p.service.producer.ship(payload);
    expect(id).toBe(`vvtool.${vv.id}.${payload.tid}.9,10,100.${payload.out_sid}`);
    const job = await p.service.queues.ship.getJob(id);
    expect(job?.data.sub_tid).toBe('10,9,100');
  });

  it('refuses bad payloads naming every problem, writing nothing', async () => {
    // The earlier tests' jobs finish first: a done marker appearing now would not be this test's.
    await until('earlier jobs to finish', async () => {
      const counts = await p.service.queues.ship.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      return Object.values(counts).every((count) => count === 0);
    });
    const before = await keysUnderPrefix();
    const bad = { account: vv.id, tid: 'abc', shop_id: '', out_sid: 'x', company_code: 'Y', is_split: 1 };
    const error = await p.service.producer.ship(bad).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ValidationError);
    const paths = (error as ValidationError).issues.map((issue) => issue.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['tid', 'shop_id', 'out_sid', 'company_code']));
    expect(paths.some((path) => path === 'is_split' || path === 'sub_tid')).toBe(true);
    // A batch with one bad item enqueues none of the good ones.
    const batchError = await p.service.producer
      .batch([
        { type: 'ship', ...vvtoolShip(vv.id) },
        { type: 'ship', ...vvtoolShip(vv.id, { out_sid: '?' }) },
      ])
      .catch((err: unknown) => err);
    expect((batchError as ValidationError).issues.map((issue) => issue.path)).toEqual(['jobs.1.out_sid']);
    // Unknown account; a damaijia field on a vv-tool account; sync on a vv-tool account.
    await expect(p.service.producer.ship({ ...vvtoolShip('nobody') })).rejects.toThrow(/account/);
    await expect(p.service.producer.ship({ ...vvtoolShip(vv.id), seller_nick: 'x' })).rejects.toThrow(
      /seller_nick/,
    );
    await expect(p.service.producer.sync({ account: vv.id, orderSns: '1', ownerId: '2' })).rejects.toThrow(
      ValidationError,
    );
    expect(await keysUnderPrefix()).toEqual(before);
  });

  it('lets a sync repeat on purpose', async () => {
    const sync = { account: dm.id, orderSns: 'SN-9', ownerId: 'o-9' };
    const first = await p.service.producer.sync(sync);
    const second = await p.service.producer.sync(sync);
    expect(second.id).not.toBe(first.id);
    expect(second.duplicate).toBe(false);
  });
});
