import type { Redis } from 'ioredis';
import { outboxKey } from '../keys.js';
import type { EventDataMap, EventType } from './types.js';

/** The fields of every outbox entry, in the order they are written. */
export const OUTBOX_FIELDS = ['type', 'at', 'data'] as const;

/**
 * The line a Lua script uses to record its event in the same step as the change it reports. Replace
 * `KEYS[n]` with the outbox key's position; `type` is an EVENT_TYPES string, `at` the change's epoch
 * ms as a decimal string (the script's own notion of now, e.g. from ARGV), `data` the event's data
 * as JSON (`cjson.encode`: a JSON null is `cjson.null`, an empty Lua table encodes as `{}`, and
 * numbers keep 14 significant digits, so ids and big integers go as strings).
 * Entry ids come from Redis (`*`), so they increase in the order the changes happened.
 */
export const OUTBOX_XADD_LUA = "redis.call('XADD', KEYS[n], '*', 'type', type, 'at', at, 'data', data)";

/**
 * Appends one event from TypeScript (emitters that are not Lua scripts, and tests). Returns the entry
 * id: the event's identity (`evt_<id>` on the wire). `at` defaults to now.
 */
export async function appendEvent<T extends EventType>(
  redis: Redis,
  prefix: string,
  type: T,
  data: EventDataMap[T],
  at: number = Date.now(),
): Promise<string> {
  const id = await redis.xadd(
    outboxKey(prefix),
    '*',
    'type',
    type,
    'at',
    String(at),
    'data',
    JSON.stringify(data),
  );
  // XADD with '*' always returns the new id (null only with NOMKSTREAM on a missing stream).
  return id as string;
}
