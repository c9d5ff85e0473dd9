import { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';

/**
 * A connection as BullMQ workers need it: commands wait for a reconnect instead of failing. With
 * REDIS_SENTINELS, to the primary the sentinels name (found again after a failover), with REDIS_URL's
 * credentials, database and TLS.
 */
export function connectRedis(config: Config, name: string): Redis {
  if (config.redisSentinel === null) {
    return new Redis(config.redisUrl, { maxRetriesPerRequest: null, connectionName: name });
  }
  const url = new URL(config.redisUrl);
  const db = Number(url.pathname.slice(1) || '0');
  return new Redis({
    sentinels: config.redisSentinel.sentinels.map((sentinel) => ({ ...sentinel })),
    name: config.redisSentinel.name,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    maxRetriesPerRequest: null,
    connectionName: name,
  });
}

/**
 * Eviction silently loses jobs, markers and ledger entries. Refuse to start on a Redis that may evict
 * unless REDIS_ALLOW_EVICTION says the operator knows. Returns the policy seen.
 */
export async function checkRedisPolicy(redis: Redis, config: Config, log: Logger): Promise<string> {
  let policy = 'unknown';
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1] ?? 'unknown';
  } catch (err) {
    // Managed Redis services often forbid CONFIG; say so rather than guess.
    log.warn({ err: String(err) }, 'could not read maxmemory-policy; make sure it is noeviction');
    return policy;
  }
  if (policy !== 'noeviction') {
    const line = `Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis would drop queued jobs.`;
    if (!config.allowRedisEviction) {
      throw new Error(
        `${line} Set it with CONFIG SET maxmemory-policy noeviction, or start with REDIS_ALLOW_EVICTION=true.`,
      );
    }
    log.warn(line);
  }
  return policy;
}
