// `npm start`: one process with the HTTP API, Bull Board and the ship and sync workers.
import { buildServer } from '../src/api/index.js';
import { Metrics } from '../src/metrics/index.js';
import { startRecords } from '../src/records/start.js';
import { startEventDelivery } from '../src/webhooks/index.js';
import { startServiceProcess } from './lib/service-process.js';

// Made first: the workers report into it, and the API serves it at /metrics.
const metrics = new Metrics();
const proc = await startServiceProcess('all', ['ship', 'sync'], { apiKeys: true, observer: metrics });
proc.onClose(
  startEventDelivery({ config: proc.config, redis: proc.service.redis, log: proc.log, observer: metrics }),
);
// With DATABASE_URL: the records sink moves the ledger, events and finished jobs into PostgreSQL.
const records = await startRecords({
  config: proc.config,
  redis: proc.service.redis,
  log: proc.log,
  registry: metrics.registry,
});
if (records) proc.onClose(records.closer);
const app = await buildServer({
  service: proc.api,
  config: proc.config,
  log: proc.log,
  metrics,
  ...(records ? { ledger: records.ledger, jobs: records.jobs } : {}),
});
// Closed first on shutdown (closers run in reverse): stop taking requests, then let the workers finish.
proc.onClose({ name: 'http', close: () => app.close() });
try {
  const address = await app.listen({ port: proc.config.port, host: '0.0.0.0' });
  proc.log.info({ address }, 'HTTP API listening');
} catch (err) {
  process.stderr.write(`fulfillment: cannot listen on port ${proc.config.port}: ${(err as Error).message}\n`);
  process.exit(1);
}
