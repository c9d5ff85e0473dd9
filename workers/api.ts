// `npm run api`: the HTTP API and Bull Board alone, no workers (deployments that scale workers apart).
import { Metrics } from '../src/metrics/index.js';
import { serveApi } from './lib/api-server.js';
import { startServiceProcess } from './lib/service-process.js';

const proc = await startServiceProcess('api', [], { apiKeys: true });
await serveApi(proc, new Metrics());
