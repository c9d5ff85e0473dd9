import { findRedis, redisUrl } from '../../support/redis.js';

/**
 * Finds the Redis the tests run against, once for the whole run (support/redis.ts): REDIS_URL
 * (default the machine's 127.0.0.1:6379) when it answers; otherwise a private `redis-server`, or a
 * `redis:7` container; otherwise one clear line saying how to provide Redis.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const redis = await findRedis({
    url: redisUrl(),
    fromEnv: Boolean(process.env.REDIS_URL?.trim()),
    path: process.env.PATH ?? '',
    note: () => {},
    nextStep: 'run the tests again',
  });
  if ('error' in redis) throw new Error(redis.error);
  process.env.REDIS_URL = redis.url;
  return redis.lasting ? undefined : redis.stop;
}
