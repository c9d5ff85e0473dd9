// A ship worker process of the product, as `npm run worker:ship` starts it (same wiring, from
// workers/lib), plus what a benchmark needs: a 'ready' message and stats over IPC.
import { startServiceProcess } from '../../workers/lib/service-process.js';
import { serveStats, tellParent } from './child-side.js';

const started = await startServiceProcess('bench-worker-ship', ['ship'], { apiKeys: false });
serveStats(started.workers);
await Promise.all(started.workers.map((worker) => worker.waitUntilReady()));
tellParent({ type: 'ready' });
