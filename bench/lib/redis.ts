import { Redis } from 'ioredis';
import { deleteKeys, redisUrl, scanKeys } from '../../support/redis.js';

export { redisUrl };

export function benchRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: null, connectionName: 'bench' });
}

/** Deletes every key of a benchmark: `${prefix}:*` (ours and BullMQ's) and `b_${prefix}*` (Bottleneck's). */
export function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  return deleteKeys(redis, [`${prefix}:*`, `b_${prefix}*`]);
}

/** Redis's CPU time so far, seconds (user + system, all threads), from INFO cpu. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  return infoNumber(info, 'used_cpu_user') + infoNumber(info, 'used_cpu_sys');
}

export async function usedMemory(redis: Redis): Promise<number> {
  return infoNumber(await redis.info('memory'), 'used_memory');
}

function infoNumber(info: string, field: string): number {
  const match = new RegExp(`^${field}:([0-9.]+)`, 'm').exec(info);
  if (!match) throw new Error(`INFO has no ${field}`);
  return Number(match[1]);
}

/**
 * Bytes Redis holds for the keys matching `pattern` (MEMORY USAGE with SAMPLES 0: every element of
 * every collection counted), grouped by `group(key)`. Exact for our keys whatever else the server
 * holds, unlike a used_memory delta, which other clients of a shared Redis disturb.
 */
export async function memoryOfKeys(
  redis: Redis,
  pattern: string,
  group: (key: string) => string,
): Promise<Map<string, { keys: number; bytes: number }>> {
  const out = new Map<string, { keys: number; bytes: number }>();
  for await (const keys of scanKeys(redis, [pattern])) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, index) => {
      const [err, bytes] = replies[index] ?? [null, 0];
      if (err) throw err;
      const name = group(key);
      const entry = out.get(name) ?? { keys: 0, bytes: 0 };
      entry.keys += 1;
      entry.bytes += Number(bytes ?? 0);
      out.set(name, entry);
    });
  }
  return out;
}
