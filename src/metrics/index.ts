export { Metrics, type MetricsOptions } from './metrics.js';
export { type QueueSnapshot, readQueueSnapshot } from './snapshot.js';
export { withTimeout } from './timeout.js';
