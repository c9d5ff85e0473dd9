// `npm run worker:sync`: a worker process for the sync queue alone (scale these out).
import { startEventDelivery } from '../src/webhooks/index.js';
import { startServiceProcess } from './lib/service-process.js';

const proc = await startServiceProcess('worker-sync', ['sync'], { apiKeys: false });
proc.onClose(startEventDelivery({ config: proc.config, redis: proc.service.redis, log: proc.log }));
