import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { ADMIN_USER, type Harness, redisSnapshot, SECRETS, startHarness } from './harness.js';

const ADMIN = {
  authorization: `Basic ${Buffer.from(`${ADMIN_USER}:${SECRETS.adminPassword}`).toString('base64')}`,
};
const API = '/admin/queues/api/queues';
const SHIP = `${API}/ship`;

/**
 * Jobs in the ship queue in each state the board acts on: failed (f1, f2), completed (c1), delayed
 * (d1, d2) and waiting (w1, w2). They are raw jobs: only the board's actions are under test here.
 */
async function arrange(h: Harness): Promise<void> {
  const queue = h.service.queues.ship;
  const connection = new Redis(h.t.url, { maxRetriesPerRequest: null });
  const worker = new Worker(
    queue.name,
    async (job) => {
      if (job.data.fail) throw new Error('planned failure');
      return 'ok';
    },
    { connection, prefix: h.config.prefix },
  );
  try {
    for (const id of ['f1', 'f2'])
      await queue.add('raw', { fail: true }, { jobId: `board-${id}`, attempts: 1 });
    await queue.add('raw', { fail: false }, { jobId: 'board-c1' });
    await until('the worker to settle them', async () => {
      const counts = await queue.getJobCounts('failed', 'completed');
      return (counts.failed === 2 && counts.completed === 1) || undefined;
    });
  } finally {
    await worker.close();
    connection.disconnect();
  }
  // Cleaning spares jobs that finished in the last 5 s: c1 finished an hour ago, as far as BullMQ knows.
  const hourAgo = Date.now() - 3_600_000;
  const keyOf = (part: string) => `${h.config.prefix}:${queue.name}:${part}`;
  await h.t.redis.zadd(keyOf('completed'), hourAgo, 'board-c1');
  await h.t.redis.hset(keyOf('board-c1'), 'finishedOn', hourAgo);
  for (const id of ['d1', 'd2'])
    await queue.add('raw', { n: id }, { jobId: `board-${id}`, delay: 3_600_000 });
  for (const id of ['w1', 'w2']) await queue.add('raw', { n: id }, { jobId: `board-${id}` });
}

type Edit = { method: 'PUT' | 'POST' | 'PATCH'; url: string; payload?: Record<string, unknown> };

/** The board's mutating actions, with what each must have done when edits are allowed. */
const EDITS: Array<[string, Edit, (h: Harness) => Promise<boolean>]> = [
  ['retry one', { method: 'PUT', url: `${SHIP}/board-f1/retry` }, stateIs('board-f1', 'waiting')],
  ['retry all failed', { method: 'PUT', url: `${SHIP}/retry/failed` }, stateIs('board-f2', 'waiting')],
  ['promote one', { method: 'PUT', url: `${SHIP}/board-d1/promote` }, stateIs('board-d1', 'waiting')],
  ['promote all', { method: 'PUT', url: `${SHIP}/promote` }, stateIs('board-d2', 'waiting')],
  ['clean completed', { method: 'PUT', url: `${SHIP}/clean/completed` }, stateIs('board-c1', 'unknown')],
  ['remove one', { method: 'PUT', url: `${SHIP}/board-w1/clean` }, stateIs('board-w1', 'unknown')],
  [
    'add',
    { method: 'POST', url: `${SHIP}/add`, payload: { name: 'manual', data: { by: 'hand' }, options: {} } },
    async (h) => (await h.service.queues.ship.getJobs(['waiting'])).some((job) => job.name === 'manual'),
  ],
  [
    'update data',
    { method: 'PATCH', url: `${SHIP}/board-w2/update-data`, payload: { jobData: { edited: true } } },
    async (h) => (await h.service.queues.ship.getJob('board-w2'))?.data.edited === true,
  ],
];

/** Actions refused in read-only mode beside those above (not exercised when allowed: they stop the queue). */
const OTHER_EDITS: Edit[] = [
  { method: 'PUT', url: `${API}/pause` },
  { method: 'PUT', url: `${SHIP}/pause` },
  { method: 'PUT', url: `${SHIP}/empty` },
  { method: 'PUT', url: `${SHIP}/obliterate`, payload: {} },
];

function stateIs(id: string, state: string) {
  return async (h: Harness) => (await h.service.queues.ship.getJobState(id)) === state;
}

describe('Bull Board, read-only by default', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-board-ro');
    await arrange(h);
  });
  afterAll(async () => {
    expect(h.leakedSecrets()).toEqual([]);
    await h.close();
  });

  it('is read-only without BOARD_READ_ONLY, and still shows the queues', async () => {
    expect(h.config.boardReadOnly).toBe(true);
    const queues = await h.inject({ url: `${API}?activeQueue=ship&status=failed`, headers: ADMIN });
    expect(queues.statusCode).toBe(200);
    const ship = (queues.json() as { queues: Array<{ name: string; readOnlyMode: boolean }> }).queues.find(
      (queue) => queue.name === 'ship',
    );
    expect(ship?.readOnlyMode).toBe(true);
  });

  it('refuses every mutating action with 405 in the error shape, and nothing changes', async () => {
    const before = await redisSnapshot(h.t);
    for (const edit of [...EDITS.map(([, e]) => e), ...OTHER_EDITS]) {
      const response = await h.inject({ ...edit, headers: ADMIN });
      expect(response.statusCode, `${edit.method} ${edit.url}`).toBe(405);
      expect(response.json()).toMatchObject({ error: 'read-only', issues: [{ path: 'method' }] });
    }
    expect(await redisSnapshot(h.t)).toEqual(before);
    for (const [name, , done] of EDITS) expect(await done(h), name).toBe(false);
  });

  it('asks for credentials before it says read-only', async () => {
    expect((await h.inject({ method: 'PUT', url: `${SHIP}/board-f1/retry` })).statusCode).toBe(401);
  });
});

describe('Bull Board with BOARD_READ_ONLY=false', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-board-rw', { BOARD_READ_ONLY: 'false' });
    await arrange(h);
  });
  afterAll(async () => {
    expect(h.leakedSecrets()).toEqual([]);
    await h.close();
  });

  it.each(EDITS.map(([name, edit, done]) => ({ name, edit, done })))(
    '$name works',
    async ({ edit, done }) => {
      const response = await h.inject({ ...edit, headers: ADMIN });
      expect(response.statusCode, response.body).toBeLessThan(300);
      expect(await done(h)).toBe(true);
    },
  );

  it('keeps the dead-letter queue read-only all the same', async () => {
    const response = await h.inject({ method: 'PUT', url: `${API}/dead-letter/promote`, headers: ADMIN });
    expect(response.statusCode).toBe(405);
  });
});
