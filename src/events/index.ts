export { appendEvent, OUTBOX_FIELDS, OUTBOX_XADD_LUA } from './append.js';
export { fieldMap, readOutboxEntry, type UnreadableEntry } from './read.js';
export { trimOutbox, UNREAD_RETENTION_MS } from './trim.js';
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
