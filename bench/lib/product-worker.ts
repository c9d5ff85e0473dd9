// A ship worker process of the product, as `npm run worker:ship` starts it (same wiring, from
// workers/lib, without the metrics port), plus what a benchmark needs: a 'ready' message and stats over IPC.
import { startEventDelivery } from '../../src/webhooks/index.js';
import { startServiceProcess } from '../../workers/lib/service-process.js';
import { serveStats, tellParent } from './child-side.js';

const started = await startServiceProcess('bench-worker-ship', ['ship'], { apiKeys: false });
// As workers/ship.ts: the outbox trimmer always, and deliveries when WEBHOOK_URL is set.
started.onClose(
  startEventDelivery({ config: started.config, redis: started.service.redis, log: started.log }),
);
serveStats(started.workers, started.service.limiter.wire);
await Promise.all(started.workers.map((worker) => worker.waitUntilReady()));
tellParent({ type: 'ready' });
