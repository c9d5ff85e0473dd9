// `npm run worker:ship`: a worker process for the ship queue alone (scale these out).
import { startEventDelivery } from '../src/webhooks/index.js';
import { startServiceProcess } from './lib/service-process.js';

const proc = await startServiceProcess('worker-ship', ['ship'], { apiKeys: false });
proc.onClose(startEventDelivery({ config: proc.config, redis: proc.service.redis, log: proc.log }));
