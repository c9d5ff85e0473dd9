import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterItem } from '../../src/queues/dead-letter.js';
import type { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { cli, cliEnv, testService, vvShip } from './cli.js';

let t: TestRedis;
let env: Record<string, string>;
let service: Fulfillment;

beforeAll(async () => {
  t = await testRedis('cli-dead');
  env = cliEnv(t);
  service = testService(t);
});
afterAll(async () => {
  await service.close();
  await t.cleanup();
});

const FAILED_AT = Date.UTC(2024, 4, 1, 8, 0, 0);

/** Enqueues a shipment and moves it to the dead-letter queue, as the processor does when it dies. */
async function bury(fields: Record<string, string>, code: number, reason: string): Promise<string> {
  const { id } = await service.producer.ship(fields);
  const job = await service.queues.ship.getJob(id);
  if (!job) throw new Error(`job ${id} was not enqueued`);
  await service.deadLetters.bury(job, 'ship', {
    reason,
    code,
    message: `upstream said ${code}`,
    attemptsMade: 3,
    failedAt: FAILED_AT,
  });
  await job.remove();
  return id;
}

describe('fulfill dead', () => {
  let badWaybill: string;
  let other: string;
  let third: string;

  beforeAll(async () => {
    badWaybill = await bury(vvShip('700', 'YT7000001'), 100, 'waybill refused; fix it and redrive');
    other = await bury(vvShip('701', 'YT7000002', 'vv2'), 203, 'order not found');
    // A reason with terminal control characters, as an upstream message might carry.
    third = await bury(vvShip('702', 'YT7000003'), 100, 'bad \u001b[31mred\u001b[0m reason');
  });

  it('lists dead jobs as a table, and as JSON with filters and paging', async () => {
    const human = await cli(['dead', 'list'], env);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+QUEUE\s+ACCOUNT\s+CODE\s+TRIES\s+FAILED AT\s+REASON$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(badWaybill);
    expect(lines[1]).toContain('2024-05-01T08:00:00.000Z');
    expect(lines[3]).toContain('bad ?[31mred?[0m reason');
    expect(human.stdout).not.toContain('\u001b');

    const filtered = await cli(['dead', 'list', '--code', '100', '--account', 'vv1', '--json'], env);
    const page = filtered.json<{ items: DeadLetterItem[]; next: string | null }>();
    expect(page.items.map((i) => i.id)).toEqual([badWaybill, third]);
    expect(page.next).toBeNull();
    expect(page.items[0]).toMatchObject({
      queue: 'ship',
      name: 'vvtool.send',
      account: 'vv1',
      code: 100,
      attemptsMade: 3,
    });

    const first = (await cli(['dead', 'list', '--limit', '1', '--json'], env)).json<{
      items: DeadLetterItem[];
      next: string;
    }>();
    expect(first.items.map((i) => i.id)).toEqual([badWaybill]);
    const second = await cli(['dead', 'list', '--limit', '2', '--cursor', first.next, '--json'], env);
    expect(second.json<{ items: DeadLetterItem[] }>().items.map((i) => i.id)).toEqual([other, third]);
    expect((await cli(['dead', 'list', '--limit', '1'], env)).stdout).toContain(
      `more: --cursor ${first.next}\n`,
    );
  });

  it('refuses bad list flags with exit 2 and a bad cursor with exit 1', async () => {
    for (const argv of [
      ['dead', 'list', '--limit', '1001'],
      ['dead', 'list', '--limit', '0'],
      ['dead', 'list', '--code', 'x'],
      ['dead', 'list', '--queue', 'dead'],
    ]) {
      expect((await cli(argv, env)).code, argv.join(' ')).toBe(2);
    }
    const cursor = await cli(['dead', 'list', '--cursor', 'bogus'], env);
    expect(cursor.code).toBe(1);
    expect(cursor.stderr).toContain('cursor: is not a cursor this API gave out');
  });

  it('shows one dead job in full, and says when there is none', async () => {
    const run = await cli(['dead', 'show', badWaybill], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^reason\s+waybill refused; fix it and redrive$/m);
    expect(run.stdout).toMatch(/^message\s+upstream said 100$/m);
    expect(run.stdout).toContain('"out_sid":"YT7000001"');
    const json = (await cli(['dead', 'show', badWaybill, '--json'], env)).json<DeadLetterItem>();
    expect(json).toEqual(await service.deadLetters.get(badWaybill));

    const missing = await cli(['dead', 'show', 'no-such-job', '--json'], env);
    expect(missing.code).toBe(1);
    expect(missing.json()).toEqual({ error: 'no dead job "no-such-job"', issues: [] });
  });

  it('job status finds a dead job', async () => {
    const run = await cli(['job', badWaybill, '--json'], env);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({
      id: badWaybill,
      queue: 'dead-letter',
      state: 'dead',
      lastError: 'waybill refused; fix it and redrive',
    });
  });

  it('refuses a patch that would make the job invalid, and moves nothing', async () => {
    const run = await cli(['dead', 'redrive', badWaybill, '--patch', 'out_sid=no'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${badWaybill}.out_sid: must be a waybill number`);
    expect(await service.deadLetters.get(badWaybill)).not.toBeNull();
  });

  it('redrives one job with a patch: same id, corrected field, back on its queue', async () => {
    const run = await cli(['dead', 'redrive', badWaybill, '--patch', 'out_sid=YT7999999', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json()).toEqual({ redriven: 1, ids: [badWaybill] });
    expect(await service.deadLetters.get(badWaybill)).toBeNull();
    const job = await service.queues.ship.getJob(badWaybill);
    expect(job?.data).toMatchObject({ tid: '700', out_sid: 'YT7999999' });
    // New and redriven jobs wait in BullMQ's prioritized set (our 'waiting'), behind parked jobs.
    expect(await job?.getState()).toBe('prioritized');
    const status = await cli(['job', badWaybill], env);
    expect(status.stdout).toMatch(/^state\s+waiting$/m);
  });

  it('redrives by filter, and needs ids, a filter or --all', async () => {
    expect((await cli(['dead', 'redrive'], env)).code).toBe(2);
    expect((await cli(['dead', 'redrive', other, '--code', '203'], env)).code).toBe(2);
    const none = await cli(['dead', 'redrive', '--code', '999'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('no dead jobs matched; nothing redriven\n');
    const run = await cli(
      ['dead', 'redrive', '--account', 'vv2', '--patch-json', '{"shop_id":"shop-9"}'],
      env,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`redriven 1:\n  ${other}\n`);
    expect((await service.queues.ship.getJob(other))?.data).toMatchObject({
      account: 'vv2',
      shop_id: 'shop-9',
    });
  });

  it('purges dead jobs for good, and fails for ids that are not there', async () => {
    const run = await cli(['dead', 'purge', third, 'not-there', '--json'], env);
    expect(run.code).toBe(1);
    expect(run.json()).toEqual({ purged: [third], missing: ['not-there'] });
    expect(run.stderr).toBe('no dead job "not-there"\n');
    expect(await service.deadLetters.get(third)).toBeNull();
    // Purged, its key is free: the same shipment enqueues afresh.
    const again = await cli(
      ['enqueue', 'ship', '--data', JSON.stringify(vvShip('702', 'YT7000003')), '--json'],
      env,
    );
    expect(again.json()).toEqual({ id: third, state: 'waiting', duplicate: false });
    expect((await cli(['dead', 'list'], env)).stdout).toBe('no dead jobs\n');
  });

  it('refuses to purge or redrive a dead job whose job is still in its queue, changing nothing', async () => {
    const { id } = await service.producer.ship(vvShip('703', 'YT7000004'));
    const job = await service.queues.ship.getJob(id);
    await service.deadLetters.bury(job!, 'ship', {
      reason: 'refused',
      code: 100,
      message: 'upstream said 100',
      attemptsMade: 1,
      failedAt: FAILED_AT,
    });
    const purge = await cli(['dead', 'purge', id, '--json'], env);
    expect(purge.code).toBe(1);
    expect(purge.json()).toEqual({ purged: [], missing: [], refused: [id] });
    expect(purge.stderr).toMatch(/not purged: its job is still in its queue/);
    const redrive = await cli(['dead', 'redrive', id, '--patch', 'out_sid=YT7000005'], env);
    expect(redrive.code).toBe(1);
    expect(redrive.stderr).toMatch(/still in its queue/);
    expect(await service.deadLetters.get(id)).not.toBeNull();
    expect((await service.queues.ship.getJob(id))?.data.out_sid).toBe('YT7000004');
    await job!.remove();
    expect((await cli(['dead', 'purge', id], env)).code).toBe(0);
  });
});
