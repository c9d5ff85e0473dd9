import { createHash } from 'node:crypto';

/**
 * Every Redis key the product builds, by owner: the key table of docs/design.md. All start with
 * `${prefix}:`, so a prefix that is a hash tag (`{fulfillment}`) puts them in one Redis Cluster slot,
 * which the scripts need (each touches several keys at once). Scripts are handed our keys; the only
 * keys a script builds are BullMQ's own, from a queue's `base`. Each owner keeps to namespaces of its
 * own under the prefix (`acct:<account>` is shared by the limiter and the queues, with distinct
 * suffixes), and no queue is named like one of them: test/keys.test.ts builds every layout and checks.
 */

/** Queue names: BullMQ keeps each queue under `${prefix}:<queue>:`. */
export const QUEUE_NAMES = { ship: 'ship', sync: 'sync', deadLetter: 'dead-letter' } as const;
/** A queue jobs run on (the dead-letter queue is not one). */
export type { QueueName as WorkQueueName } from './jobs/names.js';

export const queueKeys = {
  /**
   * String: the idempotency marker of a job id: claim 'c', done 'd|…', dead 'x|…'. Named by a 96-bit
   * hash of the id rather than the id itself: a marker is kept for the whole retention window (7 days,
   * 7 M keys at 1 M shipments a day) and its name is most of its size. A collision among 7 M ids has
   * odds of about 1 in 10^15.
   */
  marker: (prefix: string, jobId: string) => `${prefix}:idem:${markerName(jobId)}`,
  /**
   * String: the live call of a shipment, `<call id>|<deadline ms>`, written by the gate with a grant
   * and removed by the settle, so that no second call is granted while one may be in flight.
   */
  liveCall: (prefix: string, shipKey: string) => `${prefix}:call:${markerName(shipKey)}`,
  /**
   * Set: the ids of an account's jobs queued or running, not yet finished (its backlog), kept by the
   * scripts that enqueue, settle, bury, sweep and redrive.
   */
  backlog: (prefix: string, account: string) => `${prefix}:acct:${account}:backlog`,
  /** BullMQ's prefix of a queue's keys (`base` in the dead-letter scripts: `base .. 'wait'`, …). */
  base: (prefix: string, queue: string) => `${prefix}:${queue}:`,
  /** Hash (BullMQ's): a job; its existence means the queue holds the job in some state. */
  job: (prefix: string, queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
  /** String (BullMQ's): the token of the worker that holds a job; the gate refuses a caller without it. */
  lock: (prefix: string, queue: string, jobId: string) => `${prefix}:${queue}:${jobId}:lock`,
};

/** 16 base64url characters: the first 96 bits of the id's SHA-1. */
function markerName(jobId: string): string {
  return createHash('sha1').update(jobId).digest('base64url').slice(0, 16);
}

export const limiterKeys = {
  /**
   * Hash: tat (next free slot, µs), seq (the number of the last grant), the published rate, spacing
   * and margin, and while held: held, reason, code, message, since.
   */
  account: (prefix: string, account: string) => `${prefix}:acct:${account}`,
  /** Sorted set: the jobs parked for their turn (score: the turn's estimate, µs), in line order. */
  line: (prefix: string, account: string) => `${prefix}:acct:${account}:line`,
  /** Set: `${queue}/${jobId}` of jobs parked while the account is held (promoted on resume). */
  parked: (prefix: string, account: string) => `${prefix}:acct:${account}:parked`,
  /**
   * Hash: the window log, the last `rate` grants by number → `<slot>|<reach>|<tail>` (µs): the
   * latest each call may arrive, which the grant `rate` later must be a second after (gate.lua).
   */
  sent: (prefix: string, account: string) => `${prefix}:acct:${account}:sent`,
  /** Never read nor written: the gate's live-call key for a job that makes no call, kept in the slot. */
  noCall: (prefix: string, account: string) => `${prefix}:acct:${account}:no-call`,
};

/** The ledger's keys, all `${prefix}:ledger:…`. */
export interface LedgerKeys {
  /** Hash: `${jobId}#${attempt}` → the call in flight (JSON), set before the request is sent. */
  readonly inflight: string;
  /** Hash: entry id → entry JSON. HSETNX on it is what makes an entry unique. */
  readonly entries: string;
  /** Sorted set, all scores 0, members `${time}|${id}` (src/ledger/members.ts): range and page by ZRANGEBYLEX. */
  readonly byTime: string;
}

export function ledgerKeys(prefix: string): LedgerKeys {
  return {
    inflight: `${prefix}:ledger:inflight`,
    entries: `${prefix}:ledger:entries`,
    byTime: `${prefix}:ledger:by-time`,
  };
}

/**
 * Stream: every event the service records (`type`, `at`, `data` per entry), appended by the script
 * that makes each change; exists only once a consumer group made it.
 */
export function outboxKey(prefix: string): string {
  return `${prefix}:outbox`;
}

/** The outbox's consumer group the webhook deliverers read with. */
export const WEBHOOK_GROUP = 'webhooks';
/** The outbox's consumer group the records sink reads with. */
export const RECORDS_GROUP = 'records';

/**
 * Where events that failed their first delivery wait for the next attempt, and where those given up
 * on are parked, all `${prefix}:webhooks:…`. An event is in the outbox's pending list during its first
 * attempt, and here after that first attempt failed, never in both.
 */
export interface WebhookKeys {
  /** Hash: entry id → the event's outbox fields as JSON (`{type, at, data}`). */
  readonly events: string;
  /** Hash: entry id → attempts made so far. */
  readonly attempts: string;
  /**
   * Sorted set: entry id → epoch ms it is next due. While an attempt runs, the score is the end of its
   * lease: a deliverer that dies mid-attempt leaves the event due again once the lease is over.
   */
  readonly due: string;
  /** Sorted set: entry id → epoch ms it was recorded (its id's time): the oldest one waiting. */
  readonly age: string;
  /** Stream (capped): events given up on, with their last error, for a person to look at. */
  readonly undeliverable: string;
}

export function webhookKeys(prefix: string): WebhookKeys {
  return {
    events: `${prefix}:webhooks:events`,
    attempts: `${prefix}:webhooks:attempts`,
    due: `${prefix}:webhooks:due`,
    age: `${prefix}:webhooks:age`,
    undeliverable: `${prefix}:webhooks:undeliverable`,
  };
}

export const recordsKeys = {
  /**
   * String with a TTL: `<host>|<pid>|<random>` of the API process that keeps the records in its
   * embedded PostgreSQL, renewed by its heartbeat.
   */
  owner: (prefix: string) => `${prefix}:records:owner`,
};
