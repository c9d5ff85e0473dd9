import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPipeline, type TestPipeline, testAccount } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';

// Producers in other languages write jobs with BullMQ's own client for their language: the same Lua
// scripts, JSON data, and the options docs/python-producer.md shows. A plain BullMQ Queue (not our
// producer) writes exactly that; our workers must accept it, and refuse a bad one into the
// dead-letter queue with the problem named, never drop it.
const vv = testAccount('foreign', 'vvtool');
let p: TestPipeline;
let queue: Queue;

beforeAll(async () => {
  p = await startTestPipeline('foreign', [vv]);
  queue = new Queue('ship', { connection: p.redis, prefix: p.prefix });
  p.startWorkers(['ship']);
});
afterAll(async () => {
  await queue?.close();
  await p?.close();
});

describe("jobs written by another language's BullMQ client", () => {
  it('runs a job added as the Python example adds it', async () => {
    const data = {
      account: vv.id,
      tid: '20240501000001',
      shop_id: '1234567',
      out_sid: 'YT7788990011',
      company_code: 'YTO',
    };
    const jobId = `vvtool.${vv.id}.20240501000001.all.YT7788990011`;
    await queue.add('vvtool.send', data, { jobId, attempts: 8, backoff: { type: 'jitter' } });
    const view = await until('completed', async () => {
      const job = await p.service.getJob(jobId);
      return job?.state === 'completed' ? job : undefined;
    });
    expect(view.result).toMatchObject({ result: 'shipped' });
    expect(p.sandbox.calls().filter((call) => call.orderKey === '20240501000001')).toHaveLength(1);
    // Our producer sees the same shipment as done.
    expect(await p.service.producer.ship(data)).toEqual({ id: jobId, state: 'completed', duplicate: true });
  });

  it('dead-letters a foreign job with a bad payload, naming the problem, calling nobody', async () => {
    const before = p.sandbox.calls().length;
    await queue.add(
      'vvtool.send',
      { account: vv.id, tid: 'not-digits', shop_id: 's' },
      { jobId: 'foreign-bad-1' },
    );
    const dead = await until('dead-lettered', () =>
      p.service.deadLetters.get('foreign-bad-1').then((d) => d ?? undefined),
    );
    expect(dead.reason).toMatch(/invalid job/);
    expect(dead.reason).toMatch(/tid/);
    expect(dead.reason).toMatch(/out_sid/);
    expect(p.sandbox.calls()).toHaveLength(before);
  });
});
