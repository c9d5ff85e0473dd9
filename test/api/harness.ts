import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { buildServer } from '../../src/api/index.js';
import type { BuildServerOptions } from '../../src/api/server.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import type { DeadInfo } from '../../src/queues/markers.js';
import { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

/** Credentials of the test service; none of them may ever appear in an answer or a log line. */
export const SECRETS = {
  vvToken: 'vv-token-SECRET-1111',
  dmToken: 'dm-token-SECRET-2222',
  key: 'api-key-SECRET-aaaaaaaa',
  otherKey: 'api-key-SECRET-bbbbbbbbbbbb',
  producerKey: 'producer-key-SECRET-dddd',
  adminPassword: 'admin-pw-SECRET-cccc',
} as const;

export const ADMIN_USER = 'operator';
export const AUTH = { authorization: `Bearer ${SECRETS.key}` };
export const PRODUCER_AUTH = { authorization: `Bearer ${SECRETS.producerKey}` };

export function testEnv(t: TestRedis, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: t.url,
    FULFILLMENT_PREFIX: t.prefix,
    FULFILLMENT_ACCOUNTS: JSON.stringify([
      { id: 'vv1', provider: 'vvtool', token: SECRETS.vvToken },
      { id: 'dm1', provider: 'damaijia', token: SECRETS.dmToken, ratePerSecond: 5 },
    ]),
    API_KEYS: `${SECRETS.key},${SECRETS.otherKey}`,
    PRODUCER_API_KEYS: SECRETS.producerKey,
    // Never called (no workers here); on loopback, so no plain-http warning unless a test asks for one.
    VVTOOL_BASE_URL: 'http://127.0.0.1:9',
    DAMAIJIA_BASE_URL: 'http://127.0.0.1:9',
    ADMIN_USER,
    ADMIN_PASSWORD: SECRETS.adminPassword,
    ...extra,
  };
}

export interface Harness {
  readonly t: TestRedis;
  readonly config: Config;
  readonly service: Fulfillment;
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  /** Every log line the server wrote. */
  readonly logs: string[];
  /** `app.inject`, remembering each answer for `leakedSecrets`. */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Secrets found in any answer (status line, headers, body) or log line so far: must stay empty. */
  leakedSecrets(): string[];
  close(): Promise<void>;
}

/** A server over a fresh Redis namespace: the service, the app (not listening), captured logs. */
export async function startHarness(
  name: string,
  extraEnv: Record<string, string> = {},
  serverOptions: Pick<BuildServerOptions, 'ledger' | 'jobs'> = {},
): Promise<Harness> {
  const t = await testRedis(name);
  const config = loadConfig(testEnv(t, extraEnv), { accounts: true, apiKeys: true });
  const redis = new Redis(t.url, { maxRetriesPerRequest: null });
  const service = new Fulfillment(config, redis);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const metrics = new Metrics({ defaultMetrics: false });
  const app = await buildServer({ service, config, log, metrics, ...serverOptions });
  const answers: string[] = [];
  return {
    t,
    config,
    service,
    app,
    metrics,
    logs,
    async inject(options) {
      const response = await app.inject(options);
      answers.push(`${response.statusCode} ${JSON.stringify(response.headers)} ${response.body}`);
      return response;
    },
    leakedSecrets() {
      const text = [...answers, ...logs].join('\n');
      return Object.values(SECRETS).filter((secret) => text.includes(secret));
    },
    async close() {
      await app.close();
      await service.close();
      redis.disconnect();
      await t.cleanup();
    },
  };
}

export const shipBody = (overrides: Record<string, unknown> = {}) => ({
  account: 'vv1',
  tid: '4011223344556677889',
  shop_id: 'shop-1',
  out_sid: 'YT1234567890',
  company_code: 'YTO',
  ...overrides,
});

export const deliveryBody = (overrides: Record<string, unknown> = {}) => ({
  account: 'dm1',
  seller_nick: 'nick',
  order_no: 'ORD-1',
  wp_code: 'ZTO',
  waybill_no: 'ZT987654321',
  ...overrides,
});

export const syncBody = (overrides: Record<string, unknown> = {}) => ({
  account: 'dm1',
  orderSns: 'ORD-9',
  ownerId: 'owner-1',
  ...overrides,
});

/**
 * A dead job as the pipeline leaves one: enqueued through the producer, buried in the dead-letter
 * queue with its reason, and gone from its origin queue.
 */
export async function makeDead(
  service: Fulfillment,
  body: Record<string, unknown>,
  info: Partial<DeadInfo> = {},
): Promise<string> {
  const { id } = await service.producer.ship(body);
  const job = await service.queues.ship.getJob(id);
  if (!job) throw new Error(`job ${id} was not enqueued`);
  await service.deadLetters.bury(job, 'ship', {
    reason: 'isv error: the upstream refused the waybill',
    code: 614,
    message: '运单号不符合规则',
    attemptsMade: 1,
    failedAt: Date.now(),
    ...info,
  });
  await job.remove();
  return id;
}

/** Jobs in the ship and sync queues, every state. */
export async function queuedJobs(service: Fulfillment): Promise<number> {
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
  const [ship, sync] = await Promise.all([
    service.queues.ship.getJobCounts(...states),
    service.queues.sync.getJobCounts(...states),
  ]);
  return [...Object.values(ship), ...Object.values(sync)].reduce((sum, n) => sum + n, 0);
}

/** Every key under the test's prefix with its serialised value: equal snapshots, nothing changed. */
export async function redisSnapshot(t: TestRedis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await t.redis.scan(cursor, 'MATCH', `${t.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) out.set(key, (await t.redis.dumpBuffer(key))?.toString('hex') ?? '');
  } while (cursor !== '0');
  return out;
}
