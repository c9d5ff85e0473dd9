import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type CallContext, Ledger } from '../../src/ledger/index.js';

/** A vv-tool call context; override any field. */
export function vvCall(over: Partial<CallContext> = {}): CallContext {
  return {
    account: 'vv-main',
    provider: 'vvtool',
    operation: 'vvtool.send',
    shop: 'shop-1',
    order: '1234567890123456789',
    jobId: `vvtool.vv-main.${randomUUID()}`,
    attempt: 1,
    ...over,
  };
}

/** A damaijia call context; override any field. */
export function dmjCall(over: Partial<CallContext> = {}): CallContext {
  return {
    account: 'dmj-main',
    provider: 'damaijia',
    operation: 'damaijia.delivery',
    shop: 'nick-1',
    order: 'DMJ-0001',
    jobId: `damaijia.dmj-main.${randomUUID()}`,
    attempt: 1,
    ...over,
  };
}

/** A ledger in a namespace of its own under the file's prefix, so tests in one file don't see each other. */
export function freshLedger(redis: Redis, filePrefix: string): Ledger {
  return new Ledger(redis, `${filePrefix}:${randomUUID().slice(0, 8)}`);
}

/** Every key in Redis whose name contains `marker`. */
export async function keysContaining(redis: Redis, marker: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `*${marker}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}
