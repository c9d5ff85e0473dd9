import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteByPrefix, redisUrl } from '../../support/redis.js';

export { deleteByPrefix, redisUrl };

export interface TestRedis {
  readonly url: string;
  /** A prefix of this file's own, e.g. `t-ledger-3f2a…`; every key the test writes starts with it. */
  readonly prefix: string;
  /** A connection for the test's own reads and writes. */
  readonly redis: Redis;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

/**
 * One Redis namespace per test file: call in `beforeAll`, and `cleanup()` in `afterAll`.
 * The global setup has already made sure REDIS_URL answers (or started a container).
 */
export async function testRedis(name: string): Promise<TestRedis> {
  const url = redisUrl();
  const prefix = `t-${name}-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  await redis.ping();
  return {
    url,
    prefix,
    redis,
    async cleanup() {
      await deleteByPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
