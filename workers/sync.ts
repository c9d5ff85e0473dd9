// `npm run worker:sync`: a worker process for the sync queue alone (scale these out).
import { startServiceProcess } from './lib/service-process.js';

await startServiceProcess('worker-sync', ['sync'], { apiKeys: false });
