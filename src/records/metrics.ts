import { Gauge, type Registry } from 'prom-client';
import type { RecordsSink } from './sink.js';

/**
 * `fulfillment_records_waiting`: records in Redis not yet stored in PostgreSQL. It reads shared
 * state, so one process kind exports it (the API's, like the queue gauges). NaN when Redis does not
 * answer: unknown, not zero.
 */
export function registerRecordsWaiting(registry: Registry, sink: RecordsSink): void {
  new Gauge({
    name: 'fulfillment_records_waiting',
    help: 'Ledger entries and outbox events in Redis not yet stored in PostgreSQL',
    registers: [registry],
    async collect() {
      this.set(await sink.waiting().catch(() => Number.NaN));
    },
  });
}
