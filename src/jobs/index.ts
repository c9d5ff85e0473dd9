/**
 * Jobs: names, payload shapes (TypeBox, written once: types, validators, Fastify schemas and the
 * JSON Schema files all come from them), validation at the door, idempotency keys. Pure: no I/O.
 */
export { type BatchValidation, validateBatch } from './batch.js';
export { MAX_ACCOUNT_ID_LENGTH, MAX_SAFE_ID, MAX_SUB_TIDS, MAX_TEXT_LENGTH } from './fields.js';
export { formatIssues, type Issue, prefixIssues, ROOT_PATH, ValidationError } from './issues.js';
export {
  escapeKeyPart,
  idempotencyKey,
  MAX_KEY_LENGTH,
  normaliseId,
  sortIds,
  unescapeKeyPart,
} from './keys.js';
export { isJobName, JOB_NAMES, JOBS, type JobName, jobFor, type Provider, type QueueName } from './names.js';
export {
  type BatchRequestBody,
  type DamaijiaDelivery,
  type DamaijiaSync,
  type JobData,
  type JobPayloads,
  MAX_BATCH_JOBS,
  PAYLOAD_FIELDS,
  type ShipRequestBody,
  type SyncRequestBody,
  schemas,
  type VvtoolSend,
} from './schemas.js';
export {
  type AccountLookup,
  accountLookup,
  type JobValidation,
  type ValidJob,
  validateJob,
  validateJobData,
} from './validate.js';
