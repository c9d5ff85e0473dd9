import { randomUUID } from 'node:crypto';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { limiterKeys, queueKeys } from '../../src/keys.js';
import { workJobOptions } from '../../src/queues/job-options.js';
import { Fulfillment } from '../../src/queues/service.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';

// The dead-letter moves write and remove BullMQ jobs from Lua, beside BullMQ's own scripts. Each is
// checked here against what BullMQ itself leaves for the same change, on twin queues under two
// prefixes: ours (the service's scripts) and theirs (Queue.add, Job.remove, Job.promote). An upgrade
// of BullMQ that changes how a job is stored, listed or announced fails here first.

const ACCOUNT = { id: 'vv1', provider: 'vvtool', token: 'tok-layout-never-shown' };
const BODY = { account: 'vv1', tid: '4011', shop_id: 'shop-1', out_sid: 'YT4011000001', company_code: 'YTO' };
const INFO = { reason: 'refused', code: 614, message: 'no', attemptsMade: 1, failedAt: Date.UTC(2024, 4, 1) };

let t: TestRedis;
let ours: Fulfillment;
let theirsPrefix: string;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  t = await testRedis('bullmq-layout');
  theirsPrefix = `${t.prefix}-theirs`;
  const config = loadConfig(
    { REDIS_URL: t.url, FULFILLMENT_PREFIX: t.prefix, FULFILLMENT_ACCOUNTS: JSON.stringify([ACCOUNT]) },
    { accounts: true },
  );
  ours = new Fulfillment(config, t.redis);
});

afterAll(async () => {
  for (const queue of opened) await queue.close();
  await ours?.close();
  await deleteByPrefix(t.redis, theirsPrefix);
  await t?.cleanup();
});

beforeEach(async () => {
  for (const queue of [ours.queues.ship, ours.deadLetterQueue]) await queue.obliterate({ force: true });
  await deleteByPrefix(t.redis, theirsPrefix);
});

function theirQueue(name: string): Queue {
  const queue = new Queue(name, { connection: t.redis, prefix: theirsPrefix });
  opened.push(queue);
  return queue;
}

/** Takes the next job of a queue as a worker does and hands it over with its lock token. */
async function take<T>(
  prefix: string,
  queue: string,
  act: (job: Job, token: string) => Promise<T>,
): Promise<T> {
  const worker = new Worker(queue, null, { connection: t.redis, prefix });
  try {
    const token = randomUUID();
    const job = await worker.getNextJob(token, { block: false });
    if (!job) throw new Error(`no job in ${prefix}:${queue}`);
    return await act(job, token);
  } finally {
    await worker.close();
  }
}

/** Epoch milliseconds differ between twins by nature. */
function masked(value: string): string {
  return /^\d{12,}$/.test(value) ? 'time' : value;
}

/** Everything BullMQ keeps about one job in one queue, with what differs by nature (time, stream ids) masked. */
async function snapshot(redis: Redis, prefix: string, queue: string, id: string) {
  const base = queueKeys.job(prefix, queue, '');
  const hash = await redis.hgetall(base + id);
  const { timestamp, opts, ...rest } = hash;
  const fields = Object.fromEntries(Object.entries(rest).map(([name, value]) => [name, masked(value)]));
  const score = await redis.zscore(`${base}prioritized`, id);
  const counter = Number(await redis.get(`${base}pc`));
  const events = (await redis.xrange(`${base}events`, '-', '+'))
    .map(([, values]) => values.map(masked))
    .filter((values) => values[values.indexOf('jobId') + 1] === id);
  return {
    keys: (await redis.keys(`${base}${id}*`)).map((key) => key.slice(base.length)).sort(),
    fields,
    timestamp: timestamp === undefined ? undefined : /^\d+$/.test(timestamp),
    opts: opts === undefined ? undefined : JSON.parse(opts),
    wait: await redis.lpos(`${base}wait`, id),
    // The priority in the high bits, and the low bits from the queue's own priority counter.
    prioritized:
      score === null ? null : [Math.floor(Number(score) / 2 ** 32), Number(score) % 2 ** 32 === counter],
    // Scores of these two are times.
    delayed: (await redis.zscore(`${base}delayed`, id)) !== null,
    failed: (await redis.zscore(`${base}failed`, id)) !== null,
    // Members only: a delay marker's score is a time.
    marker: (await redis.zrange(`${base}marker`, '0', '-1')).sort(),
    maxLenEvents: await redis.hget(`${base}meta`, 'opts.maxLenEvents'),
    // The last two events about the job (ours may have older ones from its earlier life).
    lastEvents: events.slice(-2),
  };
}

/** The job as BullMQ reads it back. */
async function readBack(queue: Queue, id: string) {
  const job = await queue.getJob(id);
  if (!job) throw new Error(`no job ${id}`);
  const { name, data, opts, priority, delay, attemptsMade, attemptsStarted, stalledCounter } = job;
  return {
    name,
    data,
    opts,
    priority,
    delay,
    attemptsMade,
    attemptsStarted,
    stalledCounter,
    state: await job.getState(),
  };
}

describe("the service's Lua moves store jobs as BullMQ does", () => {
  it('redrive adds the origin job as Queue.add adds it (priority 1, our options)', async () => {
    const { id } = await ours.producer.ship(BODY);
    const job = (await ours.queues.ship.getJob(id))!;
    await ours.deadLetters.bury(job, 'ship', INFO);
    await job.remove();
    expect(await ours.deadLetters.redrive({ ids: [id] })).toEqual({ redriven: 1, ids: [id] });

    const theirs = theirQueue('ship');
    await theirs.add(
      'vvtool.send',
      (await ours.queues.ship.getJob(id))!.data,
      workJobOptions(id, ours.config.retry.attempts),
    );
    const mine = await snapshot(t.redis, t.prefix, 'ship', id);
    expect(mine).toEqual(await snapshot(t.redis, theirsPrefix, 'ship', id));
    expect(mine.prioritized).toEqual([1, true]);
    expect(await readBack(ours.queues.ship, id)).toEqual(await readBack(theirs, id));
  });

  it('bury adds the dead-letter entry as Queue.add adds it (waiting, never processed)', async () => {
    const { id } = await ours.producer.ship({ ...BODY, tid: '4012' });
    const job = (await ours.queues.ship.getJob(id))!;
    expect(await ours.deadLetters.bury(job, 'ship', INFO)).toBe('buried');

    const theirs = theirQueue('dead-letter');
    const entry = (await ours.deadLetterQueue.getJob(id))!;
    await theirs.add(entry.name, entry.data, { jobId: id, removeOnComplete: true });
    const mine = await snapshot(t.redis, t.prefix, 'dead-letter', id);
    expect(mine).toEqual(await snapshot(t.redis, theirsPrefix, 'dead-letter', id));
    expect(mine.wait).not.toBeNull();
    expect(await readBack(ours.deadLetterQueue, id)).toEqual(await readBack(theirs, id));
    await ours.queues.ship.remove(id);
  });

  it('purge removes a failed leftover as Job.remove removes it', async () => {
    const theirs = theirQueue('ship');
    const id = `vvtool.vv1.4013.all.${randomUUID().slice(0, 8)}`;
    for (const [queue, prefix] of [
      [ours.queues.ship, t.prefix],
      [theirs, theirsPrefix],
    ] as const) {
      await queue.add('vvtool.send', { ...BODY, tid: '4013' }, workJobOptions(id, 1));
      await take(prefix, 'ship', (job, token) => job.moveToFailed(new UnrecoverableError('refused'), token));
    }
    await ours.deadLetters.bury((await ours.queues.ship.getJob(id))!, 'ship', INFO);
    expect(await ours.deadLetters.remove(id)).toBe(true);
    await (await theirs.getJob(id))!.remove();
    const mine = await snapshot(t.redis, t.prefix, 'ship', id);
    expect(mine).toEqual(await snapshot(t.redis, theirsPrefix, 'ship', id));
    expect(mine.keys).toEqual([]);
    expect(mine.lastEvents.at(-1)).toEqual(['event', 'removed', 'jobId', id, 'prev', 'failed']);
  });

  it("resume's promotion moves a parked job as Job.promote moves it", async () => {
    const theirs = theirQueue('ship');
    const id = `vvtool.vv1.4014.all.${randomUUID().slice(0, 8)}`;
    for (const [queue, prefix] of [
      [ours.queues.ship, t.prefix],
      [theirs, theirsPrefix],
    ] as const) {
      await queue.add('vvtool.send', { ...BODY, tid: '4014' }, workJobOptions(id, 1));
      await take(prefix, 'ship', (job, token) => job.moveToDelayed(Date.now() + 300_000, token));
    }
    await ours.limiter.hold('vv1', { reason: 'held', code: 401, message: 'bad token' });
    await t.redis.sadd(limiterKeys.parked(t.prefix, 'vv1'), `ship/${id}`);
    expect(await ours.resumeAccount('vv1')).toEqual({ id: 'vv1', state: 'active', released: 1 });
    await (await theirs.getJob(id))!.promote();
    const mine = await snapshot(t.redis, t.prefix, 'ship', id);
    expect(mine).toEqual(await snapshot(t.redis, theirsPrefix, 'ship', id));
    expect(mine.prioritized).toEqual([1, true]);
    expect(await readBack(ours.queues.ship, id)).toEqual(await readBack(theirs, id));
  });
});
