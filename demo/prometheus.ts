/** Reading the service's /metrics text (Prometheus exposition format) into the numbers the demo shows. */
import { parseExposition, type Sample, sumOf } from '../support/exposition.js';

/** Every sample line; lines that do not parse are skipped (a watcher, not a test of the format). */
export function parseMetrics(text: string): Sample[] {
  return parseExposition(text, { strict: false });
}

/** What the progress line and the summary read from one scrape. */
export interface ServiceCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  /** Failed jobs still in a work queue (the worker moves them to the dead-letter queue at once). */
  readonly failed: number;
  readonly dead: number;
  /** Upstream answers that asked for a retry, by code ("none" for a transport failure). */
  readonly retriesByCode: Readonly<Record<string, number>>;
  readonly held: readonly string[];
}

const WORK_QUEUES = ['ship', 'sync'];

export function serviceCounts(samples: readonly Sample[]): ServiceCounts {
  const jobs = (state: string) =>
    WORK_QUEUES.reduce((sum, queue) => sum + sumOf(samples, 'fulfillment_queue_jobs', { queue, state }), 0);
  const retriesByCode: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== 'fulfillment_job_outcomes_total' || sample.labels['outcome'] !== 'retry') continue;
    const code = sample.labels['code'] ?? 'none';
    retriesByCode[code] = (retriesByCode[code] ?? 0) + sample.value;
  }
  const held = samples
    .filter((sample) => sample.name === 'fulfillment_account_held' && sample.value === 1)
    .map((sample) => sample.labels['account'] ?? '?')
    .sort();
  return {
    // BullMQ keeps prioritized jobs apart from waiting ones; both are waiting for a worker.
    waiting: jobs('waiting') + jobs('prioritized'),
    active: jobs('active'),
    delayed: jobs('delayed'),
    completed: jobs('completed'),
    failed: jobs('failed'),
    dead: sumOf(samples, 'fulfillment_dead_letter_jobs'),
    retriesByCode,
    held,
  };
}

export function totalRetries(counts: ServiceCounts): number {
  return Object.values(counts.retriesByCode).reduce((sum, n) => sum + n, 0);
}
