// `npm run worker:ship`: a worker process for the ship queue alone (scale these out).
import { Metrics } from '../src/metrics/index.js';
import { startEventDelivery } from '../src/webhooks/index.js';
import { serveWorkerMetrics } from './lib/metrics-server.js';
import { startServiceProcess } from './lib/service-process.js';

// Counters only: the gauges that read Redis come from the API process (src/metrics SHARED_STATE_GAUGES).
const metrics = new Metrics({ sharedState: false });
const proc = await startServiceProcess('worker-ship', ['ship'], { apiKeys: false, observer: metrics });
proc.onClose(
  startEventDelivery({ config: proc.config, redis: proc.service.redis, log: proc.log, observer: metrics }),
);
await serveWorkerMetrics(proc, metrics);
