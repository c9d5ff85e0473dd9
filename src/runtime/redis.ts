import { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';

/** A connection as BullMQ workers need it: commands wait for a reconnect instead of failing. */
export function connectRedis(config: Config, name: string): Redis {
  return new Redis(config.redisUrl, { maxRetriesPerRequest: null, connectionName: name });
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
