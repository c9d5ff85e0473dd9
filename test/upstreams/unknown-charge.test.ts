import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultKind } from '../../src/sandbox/index.js';
import {
  damaijiaShip,
  startTestPipeline,
  type TestPipeline,
  testAccount,
  vvtoolShip,
} from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';
import { type CaptureServer, startCaptureServer } from './capture-server.js';

/**
 * Answers that cannot say what the call cost, through a real worker into the ledger: a 5xx that may
 * follow processing, a 2xx body that is not the document's JSON, a charge field that is negative or
 * not a number. Each is an "unknown" entry (to reconcile), never a charge of 0, and never a reason to
 * call again beyond the outcome's own retry. vv-tool goes to the sandbox; damaijia to a small server
 * of the test's, which can answer what the sandbox never would.
 */
const vv = testAccount('vv-unknown', 'vvtool');
const dm = testAccount('dm-unknown', 'damaijia');
let p: TestPipeline;
let upstream: CaptureServer;
/** damaijia answers by order_no; anything else is a plain success charging 1. */
const damaijiaAnswers = new Map<string, string>();

beforeAll(async () => {
  upstream = await startCaptureServer((request) => {
    const order = (JSON.parse(request.body.toString()) as { order_no?: string }).order_no ?? '';
    return { body: damaijiaAnswers.get(order) ?? '{"status":0,"data":{"success":true,"amount":1}}' };
  });
  p = await startTestPipeline('unknown-charge', [vv, dm], { DAMAIJIA_BASE_URL: upstream.baseUrl });
  p.startWorkers(['ship']);
});
afterAll(async () => {
  await p?.close();
  await upstream?.close();
});

async function finished(id: string) {
  return until(`job ${id} to finish`, async () => {
    const view = await p.service.getJob(id);
    return view && (view.state === 'completed' || view.state === 'dead') ? view : undefined;
  });
}

async function entriesOf(id: string) {
  return (await p.service.ledger.entries({})).items.filter((entry) => entry.jobId === id);
}

describe('an answer that cannot say its charge', () => {
  it.each<FaultKind>(['http500', 'http502', 'http504', 'garbage'])(
    '%s after the upstream processed and charged: an unknown entry, then the retry finds it shipped',
    async (fault) => {
      const payload = vvtoolShip(vv.id);
      const tid = payload['tid'] as string;
      await p.upstream.script('vvtool', tid, [{ fault, when: 'after' }]);
      const { id } = await p.service.producer.ship(payload);
      const view = await finished(id);
      expect(view).toMatchObject({ state: 'completed', result: { result: 'already_shipped' } });
      const calls = await p.upstream.calls({ account: vv.id });
      const mine = calls.filter((call) => call.orderKey === tid);
      expect(mine.map((call) => [call.fault, call.charged])).toEqual([
        [fault, 1],
        [null, 0],
      ]);
      // The first call charged 1 and could not say so: unknown. The second charged nothing: no entry.
      expect(await entriesOf(id)).toEqual([
        expect.objectContaining({ attempt: 1, status: 'unknown', amount: null, order: tid }),
      ]);
    },
  );

  it('429 refuses the call: no entry for it, one charged entry for the call that shipped', async () => {
    const payload = vvtoolShip(vv.id);
    await p.upstream.script('vvtool', payload['tid'] as string, [{ fault: 'http429' }]);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(id)).toMatchObject({ state: 'completed', result: { result: 'shipped' } });
    expect(await entriesOf(id)).toEqual([
      expect.objectContaining({ attempt: 2, status: 'charged', amount: 1 }),
    ]);
  });

  it.each([
    ['negative', '-1'],
    ['a string', '"1"'],
    ['past the largest number', '1e999'],
  ])('a success whose amount is %s: done once, its charge unknown, no second call', async (_what, amount) => {
    const payload = damaijiaShip(dm.id);
    const order = payload['order_no'] as string;
    damaijiaAnswers.set(order, `{"status":0,"data":{"success":true,"amount":${amount}}}`);
    const { id } = await p.service.producer.ship(payload);
    expect(await finished(id)).toMatchObject({ state: 'completed', result: { result: 'shipped' } });
    const calls = upstream.requests.filter((request) => request.body.toString().includes(order));
    expect(calls).toHaveLength(1);
    expect(await entriesOf(id)).toEqual([
      expect.objectContaining({ status: 'unknown', amount: null, order }),
    ]);
  });
});
