// The product's HTTP API in a process of its own (as `npm run api` runs it, from workers/lib), but
// listening on 127.0.0.1 and a free port, which it reports to the benchmark.
import { buildServer } from '../../src/api/index.js';
import { startServiceProcess } from '../../workers/lib/service-process.js';
import { serveStats, tellParent } from './child-side.js';

const proc = await startServiceProcess('bench-api', [], { apiKeys: true });
const app = await buildServer({ service: proc.service, config: proc.config, log: proc.log });
proc.onClose({ name: 'http', close: () => app.close() });
const url = await app.listen({ port: 0, host: '127.0.0.1' });
serveStats([]);
tellParent({ type: 'ready', url });
