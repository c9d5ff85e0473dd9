export { appendEvent, OUTBOX_XADD_LUA } from './append.js';
export { OUTBOX_FIELDS, outboxKey, UNREAD_RETENTION_MS } from './keys.js';
export { fieldMap, readOutboxEntry, type UnreadableEntry } from './read.js';
export { trimOutbox } from './trim.js';
export {
  type AccountHeld,
  type AccountResumed,
  EVENT_TYPES,
  type EventDataMap,
  type EventType,
  isEventType,
  type JobCompleted,
  type JobDead,
  type JobRedriven,
  type OutboxEvent,
} from './types.js';
