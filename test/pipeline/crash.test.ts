import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { until } from '../helpers/wait.js';

// Real processes: a worker killed with SIGKILL while its upstream call is in flight. The upstream
// processed and charged the call but the answer never came back.
const vv = testAccount('crash', 'vvtool');
let p: TestPipeline;
const children: Child[] = [];

beforeAll(async () => {
  p = await startTestPipeline('crash', [vv], { UPSTREAM_TIMEOUT_MS: '3000', LOCK_DURATION_MS: '4000' });
});
afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await p?.close();
});

describe('kill -9 mid-call', () => {
  it('finishes the job after stalled-job recovery: shipped once, one ledger entry (charge unknown)', async () => {
    const payload = vvtoolShip(vv.id);
    const tid = payload.tid as string;
    // The upstream ships and charges, then holds the socket without answering.
    p.sandbox.script('vvtool', tid, [{ fault: 'stall', when: 'after' }]);
    const { id } = await p.service.producer.ship(payload);

    const doomed = spawnNode('workers/ship.ts', p.env);
    children.push(doomed);
    await until('the call to reach the upstream', () =>
      p.sandbox.calls().some((call) => call.orderKey === tid),
    );
    expect(await doomed.stop('SIGKILL')).toBeNull();

    const rescuer = spawnNode('workers/ship.ts', p.env);
    children.push(rescuer);
    const view = await until(
      'the job to complete after recovery',
      async () => {
        const job = await p.service.getJob(id);
        return job?.state === 'completed' ? job : undefined;
      },
      { timeoutMs: 30_000, everyMs: 100 },
    );
    // The retry met "already shipped": the expected path after an unknown outcome.
    expect(view.result).toMatchObject({ result: 'already_shipped' });
    const calls = p.sandbox.calls().filter((call) => call.orderKey === tid);
    expect(calls.filter((call) => call.processed && call.charged > 0)).toHaveLength(1);
    const entries = (await p.service.ledger.entries({})).items.filter((entry) => entry.jobId === id);
    expect(entries).toEqual([expect.objectContaining({ status: 'unknown', amount: null, order: tid })]);
    expect(await rescuer.stop('SIGTERM')).toBe(0);
  });

  it('exits 0 on SIGTERM with nothing in flight lost', async () => {
    const worker = spawnNode('workers/ship.ts', p.env);
    children.push(worker);
    const jobs = await p.service.producer.batch(
      Array.from({ length: 10 }, () => ({ type: 'ship', ...vvtoolShip(vv.id) })),
    );
    await until('some calls made', () => p.sandbox.calls({ account: vv.id }).length >= 3);
    expect(await worker.stop('SIGTERM')).toBe(0);
    // Whatever it had taken is either done or back in the queue; nothing failed or dead.
    const states = await Promise.all(jobs.map(({ id }) => p.service.getJob(id)));
    expect(states.every((view) => view && ['completed', 'waiting', 'delayed'].includes(view.state))).toBe(
      true,
    );
  });
});
