// A typed client of the HTTP API for services that enqueue jobs: no Redis, no workers, no timers,
// and no runtime dependency beyond the global fetch of Node 20+ (docs/library.md).
export { type FetchLike, FulfillmentClient, type FulfillmentClientOptions } from './client.js';
export { FulfillmentError, type FulfillmentErrorKind } from './errors.js';
export type {
  BatchItem,
  DamaijiaShipBatchItem,
  DamaijiaShipRequest,
  EnqueueResult,
  Issue,
  JobState,
  JobView,
  ShipRequest,
  SyncBatchItem,
  SyncRequest,
  VvtoolShipBatchItem,
  VvtoolShipRequest,
} from './types.js';
