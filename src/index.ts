// The package's library surface (`import { … } from 'fulfillment-worker'`): what a TypeScript service
// needs to enqueue jobs and read their state without the HTTP API. Everything else is internal.
export {
  type Account,
  type Config,
  ConfigError,
  type ConfigNeeds,
  DEFAULTS,
  ENV_NAMES,
  loadConfig,
  type Provider,
  Secret,
} from './config/index.js';
export {
  type DamaijiaDelivery,
  type DamaijiaSync,
  type Issue,
  idempotencyKey,
  type JobName,
  MAX_BATCH_JOBS,
  schemas,
  ValidationError,
  type VvtoolSend,
} from './jobs/index.js';
export { LedgerError } from './ledger/index.js';
export {
  type EnqueueResult,
  type JobState,
  type Producer,
  RedisUnavailableError,
} from './queues/producer.js';
export { type AccountView, Fulfillment, type JobView } from './queues/service.js';
export { connectRedis } from './runtime/redis.js';
