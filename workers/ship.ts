// `npm run worker:ship`: a worker process for the ship queue alone (scale these out).
import { Metrics } from '../src/metrics/index.js';
import { serveWorkerMetrics } from './lib/metrics-server.js';
import { startServiceProcess } from './lib/service-process.js';

// Counters only: the gauges that read Redis come from the API process (src/metrics SHARED_STATE_GAUGES).
const metrics = new Metrics({ sharedState: false });
const proc = await startServiceProcess('worker-ship', ['ship'], { apiKeys: false, observer: metrics });
await serveWorkerMetrics(proc, metrics);
