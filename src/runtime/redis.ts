import { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';

/**
 * How long a command of the HTTP API's connection may wait for its reply: a Redis that accepts the
 * connection but stops answering (swapping, a long script, a network split without a reset) fails
 * the request with a 503 after this, instead of holding it for minutes.
 */
export const API_COMMAND_TIMEOUT_MS = 5_000;

export interface ConnectOptions {
  /**
   * Fail any command that has no reply after this many ms. Only for connections that run no BullMQ
   * worker: a worker's blocking fetch (BZPOPMIN) waits for seconds on purpose, and BullMQ makes the
   * blocking connection by duplicating the worker's, options included.
   */
  readonly commandTimeoutMs?: number;
}

/**
 * After a failover, a connection still pointed at the old primary (now a replica) gets READONLY for
 * every write. Reconnect (with Sentinel, to the primary the sentinels now name). The refused command
 * fails with READONLY rather than being sent again: inside a MULTI it would run alone, outside its
 * transaction. Its caller retries it as it would any Redis error (the API answers 503).
 */
export function reconnectOnReadOnly(err: Error): boolean {
  return err.message.startsWith('READONLY');
}

/**
 * A connection as BullMQ workers need it: commands wait for a reconnect instead of failing. With
 * REDIS_SENTINELS, to the primary the sentinels name (found again after a failover), with REDIS_URL's
 * credentials, database and TLS.
 */
export function connectRedis(config: Config, name: string, options: ConnectOptions = {}): Redis {
  const common = {
    maxRetriesPerRequest: null,
    connectionName: name,
    reconnectOnError: reconnectOnReadOnly,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
  };
  if (config.redisSentinel === null) return new Redis(config.redisUrl, common);
  const url = new URL(config.redisUrl);
  const db = Number(url.pathname.slice(1) || '0');
  return new Redis({
    sentinels: config.redisSentinel.sentinels.map((sentinel) => ({ ...sentinel })),
    name: config.redisSentinel.name,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    ...common,
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
