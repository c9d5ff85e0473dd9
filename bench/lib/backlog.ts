import type { Queue } from 'bullmq';
import { addBulkInChunks, openBareQueue, startBareWorkers } from '../baselines/bare.js';
import type { BenchAccount } from './accounts.js';
import { allReady, type Child } from './children.js';
import type { Shipment } from './payloads.js';
import { enqueueWithBatch, openProduct, productEnv, startProductWorkers } from './product.js';
import type { Rig } from './rig.js';

/** A backlog in a paused queue, and the worker processes that will work it, all ready. */
export interface PausedBacklog {
  readonly queue: Queue;
  readonly workers: Child[];
}

/**
 * The product, or bare BullMQ workers with one clustered Bottleneck per account (minTime 100): the
 * shipments go into a paused queue before the workers start, and the caller resumes it once they are
 * all up, so neither enqueueing nor process start-up overlaps what is measured.
 */
export async function pausedBacklog(options: {
  readonly rig: Rig;
  readonly prefix: string;
  readonly accounts: readonly BenchAccount[];
  readonly upstreamUrl: string;
  readonly shipments: readonly Shipment[];
  readonly processes: number;
  readonly variant: 'product' | 'bottleneck';
}): Promise<PausedBacklog> {
  const { rig, prefix, accounts, upstreamUrl, shipments, processes } = options;
  let queue: Queue;
  let workers: Child[];
  if (options.variant === 'product') {
    const env = productEnv({ prefix, accounts, upstreamUrl });
    const client = openProduct(env);
    rig.onClose(() => client.close());
    queue = client.service.queues.ship;
    await queue.pause();
    await enqueueWithBatch(client.service, shipments);
    workers = rig.track(startProductWorkers(processes, env));
  } else {
    const bare = openBareQueue(prefix);
    rig.onClose(() => bare.close());
    queue = bare.queue;
    await queue.pause();
    await addBulkInChunks(bare.queue, shipments);
    const limiter = { limiter: 'bottleneck', minTime: 100 } as const;
    workers = rig.track(
      startBareWorkers(processes, {
        prefix,
        accounts,
        upstreamUrl,
        concurrency: 50,
        client: 'ky',
        ...limiter,
      }),
    );
  }
  await allReady(workers);
  return { queue, workers };
}
