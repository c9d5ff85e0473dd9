import type { Fulfillment } from '../queues/service.js';
import { withTimeout } from './timeout.js';

/** What the scrape-time gauges show, read from Redis in one go. */
export interface QueueSnapshot {
  /** queue name → BullMQ state → count. */
  readonly jobs: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly deadLetters: number;
  readonly accounts: ReadonlyArray<{
    id: string;
    provider: string;
    held: boolean;
    ratePerSecond: number;
    backlog: number;
  }>;
  /** Redis's `used_memory` and `maxmemory` (0: no limit); null where INFO is not allowed. */
  readonly memory: { readonly used: number; readonly max: number } | null;
}

/** The BullMQ states worth a gauge (a paused queue's jobs count as waiting in BullMQ 5+). */
const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/**
 * Reads the gauges' values, or null when Redis is not connected or does not answer in time. The
 * service's connection queues commands while Redis is away (the workers need that); a scrape must not
 * pile onto that queue or wait on it, so it asks only a ready connection, and gives up at the deadline.
 */
export async function readQueueSnapshot(
  service: Fulfillment,
  timeoutMs: number,
): Promise<QueueSnapshot | null> {
  if (service.redis.status !== 'ready') return null;
  const queues = [service.queues.ship, service.queues.sync, service.deadLetterQueue];
  const read = Promise.all([
    Promise.all(queues.map((queue) => queue.getJobCounts(...STATES))),
    service.deadLetters.count(),
    service.listAccounts(),
    // Managed services may refuse INFO: the other gauges still count.
    service.redis.info('memory').then(parseMemory, () => null),
  ]);
  const answer = await withTimeout(read, timeoutMs).catch(() => null);
  if (answer === null) return null;
  const [counts, deadLetters, accounts, memory] = answer;
  return {
    jobs: Object.fromEntries(queues.map((queue, index) => [queue.name, counts[index]!])),
    deadLetters,
    accounts: accounts.map((account) => ({
      id: account.id,
      provider: account.provider,
      held: account.state === 'held',
      ratePerSecond: account.ratePerSecond,
      backlog: account.backlog,
    })),
    memory,
  };
}

/** The two figures of `INFO memory` the memory alert needs, or null if either is missing. */
function parseMemory(info: string): QueueSnapshot['memory'] {
  const field = (name: string) =>
    Number(new RegExp(`^${name}:(\\d+)\\r?$`, 'm').exec(info)?.[1] ?? Number.NaN);
  const used = field('used_memory');
  const max = field('maxmemory');
  return Number.isFinite(used) && Number.isFinite(max) ? { used, max } : null;
}
