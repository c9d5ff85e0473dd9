import { randomUUID } from 'node:crypto';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { limiterKeys, queueKeys } from '../../src/keys.js';
import { deadMarker, doneMarker } from '../../src/queues/markers.js';
import { until } from '../helpers/wait.js';
import { AUTH, type Harness, makeDead, shipBody, startHarness } from './harness.js';

// Redrive, purge, the failed-job sweep and resume's promotion against the moments that used to break
// them: another move of the same job landing between a read and the write that trusted it.

let h: Harness;
let connection: Redis;

beforeAll(async () => {
  h = await startHarness('api-dead-races');
  connection = new Redis(h.t.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  connection?.disconnect();
  await h.close();
});

beforeEach(async () => {
  for (const queue of [h.service.queues.ship, h.service.queues.sync, h.service.deadLetterQueue]) {
    await queue.obliterate({ force: true });
  }
  const markers = await h.t.redis.keys(`${h.t.prefix}:idem:*`);
  if (markers.length > 0) await h.t.redis.del(...markers);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const INFO = {
  reason: 'isv error: the upstream refused the waybill',
  code: 614,
  message: '运单号不符合规则',
  attemptsMade: 1,
  failedAt: Date.UTC(2024, 4, 1),
};

const marker = (id: string) => h.t.redis.get(queueKeys.marker(h.t.prefix, id));
const redrive = (payload: Record<string, unknown>) =>
  h.inject({ method: 'POST', url: '/v1/dead-letter/redrive', headers: AUTH, payload });
const purge = (id: string) =>
  h.inject({ method: 'DELETE', url: `/v1/dead-letter/${encodeURIComponent(id)}`, headers: AUTH });
const shipState = (id: string) => h.service.queues.ship.getJobState(id);

/** Enqueues a shipment; the job waits in the ship queue (no worker runs in this file). */
async function enqueue(tid: string): Promise<Job> {
  const { id } = await h.service.producer.ship(shipBody({ tid }));
  const job = await h.service.queues.ship.getJob(id);
  if (!job) throw new Error(`job ${id} was not enqueued`);
  return job;
}

/** Takes the next job of the ship queue as a worker does, and runs `act` with it and the lock token. */
async function takeNext<T>(act: (job: Job, token: string) => Promise<T>): Promise<T> {
  const worker = new Worker('ship', null, { connection, prefix: h.t.prefix });
  try {
    const token = randomUUID();
    const job = await worker.getNextJob(token, { block: false });
    if (!job) throw new Error('no job to take');
    return await act(job, token);
  } finally {
    await worker.close();
  }
}

/** A job failed for good, as BullMQ leaves one: in the failed set, kept (removeOnFail is false). */
async function failed(tid: string): Promise<string> {
  const id = String((await enqueue(tid)).id);
  await takeNext((job, token) => job.moveToFailed(new UnrecoverableError('refused'), token));
  expect(await shipState(id)).toBe('failed');
  return id;
}

describe('bury', () => {
  it('finishes a bury only while the marker is dead, once', async () => {
    const job = await enqueue('11');
    const id = String(job.id);
    const markerKey = queueKeys.marker(h.t.prefix, id);
    await h.t.redis.del(markerKey);
    expect(await h.service.deadLetters.finishBury(job, 'ship', INFO)).toBe('unmarked');
    expect(await h.service.deadLetters.count()).toBe(0);
    await h.t.redis.set(markerKey, deadMarker(INFO));
    expect(await h.service.deadLetters.finishBury(job, 'ship', INFO)).toBe('buried');
    expect(await h.service.deadLetters.finishBury(job, 'ship', INFO)).toBe('present');
    expect(await h.service.deadLetters.count()).toBe(1);
    expect(await h.service.deadLetters.get(id)).toMatchObject({ id, code: 614, reason: INFO.reason });
  });

  it('never buries a done shipment, nor overwrites its marker', async () => {
    const job = await enqueue('12');
    const id = String(job.id);
    const done = doneMarker('shipped', 1);
    await h.t.redis.set(queueKeys.marker(h.t.prefix, id), done);
    expect(await h.service.deadLetters.bury(job, 'ship', INFO)).toBe('done');
    expect(await h.service.deadLetters.finishBury(job, 'ship', INFO)).toBe('done');
    expect(await marker(id)).toBe(done);
    expect(await h.service.deadLetters.count()).toBe(0);
  });
});

describe('redrive', () => {
  it('lets exactly one of two overlapping redrives of one id win, with its own patch', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '21' }));
    const patches = ['YT2100000001', 'YT2100000002'];
    const answers = await Promise.all(patches.map((out_sid) => redrive({ ids: [id], patch: { out_sid } })));
    const won = answers.filter((answer) => answer.statusCode === 200);
    expect(won).toHaveLength(1);
    const lost = answers.find((answer) => answer.statusCode !== 200)!;
    expect([400, 409]).toContain(lost.statusCode);
    const winner = patches[answers.indexOf(won[0]!)];
    expect((await h.service.queues.ship.getJob(id))?.data.out_sid).toBe(winner);
    expect(await marker(id)).toBe('c');
    expect(await h.service.deadLetters.count()).toBe(0);
  });

  it('refuses while the original job is still in its queue: 409 naming the id, nothing changed', async () => {
    const job = await enqueue('22');
    const id = String(job.id);
    await h.service.deadLetters.bury(job, 'ship', INFO);
    const refused = await redrive({ ids: [id], patch: { out_sid: 'YT2200000001' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      error: 'conflict',
      issues: [{ path: id, message: expect.stringMatching(/still in its queue/) }],
    });
    expect(await h.service.deadLetters.get(id)).not.toBeNull();
    expect(await marker(id)).toBe(deadMarker(INFO));
    expect((await h.service.queues.ship.getJob(id))?.data.out_sid).toBe('YT1234567890');

    // Once the job has left its queue, the same request goes through with its patch.
    await job.remove();
    const redriven = await redrive({ ids: [id], patch: { out_sid: 'YT2200000001' } });
    expect(redriven.json()).toEqual({ redriven: 1, ids: [id] });
    expect((await h.service.queues.ship.getJob(id))?.data.out_sid).toBe('YT2200000001');
  });

  it('refuses a whole batch when one of its jobs is still queued, moving none', async () => {
    const gone = await makeDead(h.service, shipBody({ tid: '23' }));
    const queued = await enqueue('24');
    await h.service.deadLetters.bury(queued, 'ship', INFO);
    const refused = await redrive({ filter: { account: 'vv1' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().issues.map((issue: { path: string }) => issue.path)).toEqual([String(queued.id)]);
    expect(await h.service.deadLetters.count()).toBe(2);
    expect(await shipState(gone)).toBe('unknown');
  });

  it('takes a failed leftover of the job out of the way', async () => {
    const id = await failed('25');
    const job = await h.service.queues.ship.getJob(id);
    await h.service.deadLetters.bury(job!, 'ship', INFO);
    const answer = await redrive({ ids: [id], patch: { out_sid: 'YT2500000001' } });
    expect(answer.json()).toEqual({ redriven: 1, ids: [id] });
    expect(await shipState(id)).toBe('prioritized');
    expect((await h.service.queues.ship.getJob(id))?.data.out_sid).toBe('YT2500000001');
    expect(await h.service.queues.ship.getFailedCount()).toBe(0);
  });

  it('refuses to redrive an entry replaced after it was read (the patch was for the old one)', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '27' }));
    // Between the redrive's read and its move, the entry is purged, the shipment enqueued again, and
    // it dies again: a new entry under the same id.
    const getJob = h.service.deadLetterQueue.getJob.bind(h.service.deadLetterQueue);
    vi.spyOn(h.service.deadLetterQueue, 'getJob').mockImplementationOnce(async (jobId: string) => {
      const read = await getJob(jobId);
      // The new entry is stamped in a later millisecond than the one read.
      await until('a later millisecond', () => Date.now() > (read?.timestamp ?? 0));
      expect(await h.service.deadLetters.remove(id)).toBe(true);
      await makeDead(h.service, shipBody({ tid: '27' }), { code: 100, failedAt: Date.now() + 1 });
      return read;
    });
    const answer = await redrive({ ids: [id], patch: { out_sid: 'YT2700000001' } });
    expect(answer.statusCode).toBe(409);
    expect(answer.json().issues).toEqual([{ path: id, message: expect.stringMatching(/no longer/) }]);
    expect(await h.service.deadLetters.get(id)).toMatchObject({ code: 100 });
    expect(await shipState(id)).toBe('unknown');
  });

  it('never lets a stale dead-letter copy overwrite a done marker', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '26' }));
    // The shipment was done after all (an earlier redrive crashed before removing this entry).
    const done = doneMarker('shipped', 1);
    await h.t.redis.set(queueKeys.marker(h.t.prefix, id), done);
    const answer = await redrive({ ids: [id] });
    expect(answer.statusCode).toBe(409);
    expect(answer.json().issues).toEqual([{ path: id, message: expect.stringMatching(/done/) }]);
    expect(await marker(id)).toBe(done);
    expect(await shipState(id)).toBe('unknown');
  });
});

describe('DELETE /v1/dead-letter/:id', () => {
  it('keeps a done marker: only the stale entry beside it goes', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '31' }));
    const done = doneMarker('shipped', 1);
    await h.t.redis.set(queueKeys.marker(h.t.prefix, id), done);
    expect((await purge(id)).statusCode).toBe(204);
    expect(await marker(id)).toBe(done);
    expect(await h.service.deadLetters.count()).toBe(0);
  });

  it('refuses while the job is still in its queue (409), keeping entry and marker', async () => {
    const job = await enqueue('32');
    const id = String(job.id);
    await h.service.deadLetters.bury(job, 'ship', INFO);
    const answer = await purge(id);
    expect(answer.statusCode).toBe(409);
    expect(answer.json().issues).toEqual([
      { path: id, message: expect.stringMatching(/still in its queue/) },
    ]);
    expect(await marker(id)).toBe(deadMarker(INFO));
    expect(await h.service.deadLetters.get(id)).not.toBeNull();
  });

  it('purges a dead marker whose entry a crash left behind, freeing the key', async () => {
    const id = String((await enqueue('33')).id);
    await h.service.queues.ship.remove(id);
    await h.t.redis.set(queueKeys.marker(h.t.prefix, id), deadMarker(INFO));
    expect((await h.service.producer.ship(shipBody({ tid: '33' }))).state).toBe('dead');
    expect((await purge(id)).statusCode).toBe(204);
    expect(await marker(id)).toBeNull();
    expect(await h.service.producer.ship(shipBody({ tid: '33' }))).toEqual({
      id,
      state: 'waiting',
      duplicate: false,
    });
  });

  it('purges a failed leftover together with its entry and marker', async () => {
    const id = await failed('34');
    await h.service.deadLetters.bury((await h.service.queues.ship.getJob(id))!, 'ship', INFO);
    expect((await purge(id)).statusCode).toBe(204);
    expect(await shipState(id)).toBe('unknown');
    expect(await marker(id)).toBeNull();
    expect(await h.service.deadLetters.count()).toBe(0);
  });
});

describe('the failed-job sweep', () => {
  it('leaves alone a job redriven between its read and its move', async () => {
    const id = await failed('41');
    // A crash left both homes: the failed copy and the dead-letter entry.
    await h.service.deadLetters.bury((await h.service.queues.ship.getJob(id))!, 'ship', INFO);
    const [read] = await h.service.queues.ship.getFailed(0, 10);
    expect(String(read?.id)).toBe(id);
    expect(await h.service.deadLetters.redrive({ ids: [id], patch: { out_sid: 'YT4100000001' } })).toEqual({
      redriven: 1,
      ids: [id],
    });
    expect(await h.service.deadLetters.sweepFailed('ship', read)).toBe(0);
    expect(await shipState(id)).toBe('prioritized');
    expect((await h.service.queues.ship.getJob(id))?.data.out_sid).toBe('YT4100000001');
    expect(await marker(id)).toBe('c');
    expect(await h.service.deadLetters.count()).toBe(0);
  });

  it('drops the failed copy of a done shipment without burying it', async () => {
    const id = await failed('42');
    const done = doneMarker('shipped', 1);
    await h.t.redis.set(queueKeys.marker(h.t.prefix, id), done);
    expect(await h.service.deadLetters.sweepFailed('ship')).toBe(0);
    expect(await marker(id)).toBe(done);
    expect(await h.service.deadLetters.count()).toBe(0);
    expect(await h.service.queues.ship.getFailedCount()).toBe(0);
  });

  it('buries a job BullMQ failed on its own, once', async () => {
    const id = await failed('43');
    expect(await h.service.deadLetters.sweepFailed('ship')).toBe(1);
    expect(await h.service.deadLetters.sweepFailed('ship')).toBe(0);
    expect((await h.service.deadLetters.get(id))?.reason).toBe('failed outside the pipeline: refused');
    expect(await marker(id)).toMatch(/^x\|/);
    expect(await h.service.queues.ship.getFailedCount()).toBe(0);
  });
});

describe('POST /v1/accounts/:id/resume', () => {
  it('promotes every parked job still delayed, skipping those that left the delayed state', async () => {
    await h.service.limiter.hold('vv1', { reason: 'token rejected', code: 401, message: 'bad token' });
    const parked: string[] = [];
    for (const tid of ['51', '52', '53', '54']) {
      await enqueue(tid);
      parked.push(
        await takeNext(async (job, token) => {
          await job.moveToDelayed(Date.now() + 300_000, token);
          return String(job.id);
        }),
      );
    }
    const gone = (await enqueue('55')).id!;
    await h.service.queues.ship.remove(gone);
    await h.t.redis.sadd(
      limiterKeys.parked(h.t.prefix, 'vv1'),
      ...[...parked, gone].map((id) => `ship/${id}`),
    );
    // One parked job was promoted already (its worker saw the resume), and another is promoted by a
    // worker right after anyone reads it as delayed: the moment a read-then-promote loop trips on.
    await (await h.service.queues.ship.getJob(parked[3]!))!.promote();
    const isDelayed = Job.prototype.isDelayed;
    vi.spyOn(Job.prototype, 'isDelayed').mockImplementation(async function (this: Job) {
      const delayed = await isDelayed.call(this);
      if (delayed && this.id === parked[0]) await (await h.service.queues.ship.getJob(parked[0]!))!.promote();
      return delayed;
    });

    const answer = await h.inject({ method: 'POST', url: '/v1/accounts/vv1/resume', headers: AUTH });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ id: 'vv1', state: 'active' });
    for (const id of parked) expect(await shipState(id)).toBe('prioritized');
    expect(await shipState(gone)).toBe('unknown');
    expect(await h.service.queues.ship.getDelayedCount()).toBe(0);
  });
});
