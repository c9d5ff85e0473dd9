// `npm start`: one process with the HTTP API, Bull Board and the ship and sync workers.
import { Metrics } from '../src/metrics/index.js';
import { serveApi } from './lib/api-server.js';
import { startServiceProcess } from './lib/service-process.js';

// Made first: the workers report into it, and the API serves it at /metrics.
const metrics = new Metrics();
const proc = await startServiceProcess('all', ['ship', 'sync'], { apiKeys: true, observer: metrics });
await serveApi(proc, metrics);
