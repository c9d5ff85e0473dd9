import type { Provider } from '../config/index.js';
import type { JobName, QueueName } from '../jobs/index.js';

/** `job.completed`: a job finished; `charge` is what the completing call charged (null when unknown). */
export interface JobCompleted {
  readonly id: string;
  readonly queue: QueueName;
  readonly name: JobName;
  readonly account: string;
  readonly result: 'shipped' | 'already_shipped' | 'synced';
  readonly charge: number | null;
}

/** `job.dead`: a job moved to the dead-letter queue, with the reason a person reads there. */
export interface JobDead {
  readonly id: string;
  readonly queue: QueueName;
  readonly name: JobName;
  readonly account: string;
  readonly code: number | null;
  readonly message: string;
  readonly reason: string;
  readonly attemptsMade: number;
}

/** `job.redriven`: a dead job put back on its queue; `patch` is the redrive's patch, or null. */
export interface JobRedriven {
  readonly id: string;
  readonly queue: QueueName;
  readonly name: JobName;
  readonly account: string;
  readonly patch: Readonly<Record<string, unknown>> | null;
}

/** `account.held`: `code` is the provider's code that caused it, null for a hold by hand; `since` ISO 8601. */
export interface AccountHeld {
  readonly id: string;
  readonly provider: Provider;
  readonly reason: string;
  readonly code: number | null;
  readonly since: string;
}

/** `account.resumed`. */
export interface AccountResumed {
  readonly id: string;
  readonly provider: Provider;
}

/**
 * Event type → the shape of its `data`. Events name accounts by id only: a token never enters one.
 * Other types may share the stream later (records for other consumers); readers skip what they do
 * not know.
 */
export interface EventDataMap {
  'job.completed': JobCompleted;
  'job.dead': JobDead;
  'job.redriven': JobRedriven;
  'account.held': AccountHeld;
  'account.resumed': AccountResumed;
}

export type EventType = keyof EventDataMap;

export const EVENT_TYPES = [
  'job.completed',
  'job.dead',
  'job.redriven',
  'account.held',
  'account.resumed',
] as const satisfies readonly EventType[];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/** One event as read back from the outbox. `id` is the stream entry id, its identity. */
export interface OutboxEvent<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  /** Epoch ms of the change the event reports. */
  readonly at: number;
  readonly data: EventDataMap[T];
}
