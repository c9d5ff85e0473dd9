// `npm run worker:ship`: a worker process for the ship queue alone (scale these out).
import { startServiceProcess } from './lib/service-process.js';

await startServiceProcess('worker-ship', ['ship'], { apiKeys: false });
