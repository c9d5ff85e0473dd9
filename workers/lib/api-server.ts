import { buildServer } from '../../src/api/index.js';
import type { Metrics } from '../../src/metrics/index.js';
import { startRecords } from '../../src/records/start.js';
import { startEventDelivery } from '../../src/webhooks/index.js';
import type { ServiceProcess } from './service-process.js';

/**
 * What a process that serves the HTTP API runs beside it (`npm start`, `npm run api`): event
 * delivery (the outbox trimmer always, webhooks with WEBHOOK_URL), the records sink when the process
 * has a records store (DATABASE_URL or the embedded PostgreSQL: the ledger, events and finished jobs
 * into PostgreSQL, read back by the API), and the
 * API itself on PORT. Exits with one line if the port cannot be had.
 */
export async function serveApi(proc: ServiceProcess, metrics: Metrics): Promise<void> {
  const { config, log } = proc;
  proc.onClose(startEventDelivery({ config, redis: proc.service.redis, log, observer: metrics }));
  const records = proc.records
    ? await startRecords({
        config,
        url: proc.records.url,
        redis: proc.service.redis,
        log,
        registry: metrics.registry,
      })
    : null;
  if (records) proc.onClose(records.closer);
  const app = await buildServer({
    service: proc.api,
    config,
    log,
    metrics,
    ...(records ? { ledger: records.ledger, jobs: records.jobs } : {}),
  });
  // Closed first on shutdown (closers run in reverse): stop taking requests, then the rest finishes.
  proc.onClose({ name: 'http', close: () => app.close() });
  try {
    const address = await app.listen({ port: config.port, host: '0.0.0.0' });
    log.info({ address }, 'HTTP API listening');
  } catch (err) {
    process.stderr.write(`fulfillment: cannot listen on port ${config.port}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
