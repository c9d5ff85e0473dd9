import type { Fulfillment } from '../queues/service.js';
import { withTimeout } from './timeout.js';

/** What the scrape-time gauges show, read from Redis in one go. */
export interface QueueSnapshot {
  /** queue name → BullMQ state → count. */
  readonly jobs: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly deadLetters: number;
  readonly accounts: ReadonlyArray<{ id: string; provider: string; held: boolean }>;
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
  ]);
  const answer = await withTimeout(read, timeoutMs).catch(() => null);
  if (answer === null) return null;
  const [counts, deadLetters, accounts] = answer;
  return {
    jobs: Object.fromEntries(queues.map((queue, index) => [queue.name, counts[index]!])),
    deadLetters,
    accounts: accounts.map((account) => ({
      id: account.id,
      provider: account.provider,
      held: account.state === 'held',
    })),
  };
}
