import type { Redis } from 'ioredis';
import { outboxKey, WEBHOOK_GROUP, webhookKeys } from '../keys.js';
import { OLDEST } from './scripts.js';

/**
 * Age in ms of the oldest event that is neither delivered nor given up, or null when there is none
 * (or no deliverer has ever read the outbox). On Redis's clock, for every process alike.
 */
export async function oldestUndeliveredMs(redis: Redis, prefix: string): Promise<number | null> {
  const keys = webhookKeys(prefix);
  const age = Number(
    await OLDEST.run(
      redis,
      [outboxKey(prefix), keys.events, keys.attempts, keys.due, keys.age, keys.undeliverable],
      [WEBHOOK_GROUP],
    ),
  );
  return age < 0 ? null : age;
}
