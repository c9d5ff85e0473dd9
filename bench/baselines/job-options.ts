import type { JobsOptions } from 'bullmq';
import { type Shipment, shipmentJobId } from '../lib/payloads.js';

/**
 * What a careful bare BullMQ user would give each job, kept equal to the product's (same id, attempts,
 * retention) so that the comparisons measure the pipeline, not different bookkeeping in Redis.
 */
export function bareJobOptions(shipment: Shipment): JobsOptions {
  return {
    jobId: shipmentJobId(shipment),
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3_600, count: 1_000 },
    removeOnFail: false,
  };
}

export function bareJob(shipment: Shipment) {
  return { name: 'vvtool.send', data: shipment, opts: bareJobOptions(shipment) };
}
