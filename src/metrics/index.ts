export { packageVersion } from './build-info.js';
export { Metrics, type MetricsOptions, SHARED_STATE_GAUGES } from './metrics.js';
export { type QueueSnapshot, readQueueSnapshot } from './snapshot.js';
export { withTimeout } from './timeout.js';
