// `npm run api`: the HTTP API and Bull Board alone, no workers (deployments that scale workers apart).
import { buildServer } from '../src/api/index.js';
import { Metrics } from '../src/metrics/index.js';
import { startEventDelivery } from '../src/webhooks/index.js';
import { startServiceProcess } from './lib/service-process.js';

const proc = await startServiceProcess('api', [], { apiKeys: true });
const metrics = new Metrics();
proc.onClose(
  startEventDelivery({ config: proc.config, redis: proc.service.redis, log: proc.log, observer: metrics }),
);
const app = await buildServer({ service: proc.api, config: proc.config, log: proc.log, metrics });
proc.onClose({ name: 'http', close: () => app.close() });
try {
  const address = await app.listen({ port: proc.config.port, host: '0.0.0.0' });
  proc.log.info({ address }, 'HTTP API listening');
} catch (err) {
  process.stderr.write(`fulfillment: cannot listen on port ${proc.config.port}: ${(err as Error).message}\n`);
  process.exit(1);
}
