import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Secret } from '../config/index.js';
import { fieldMap, type OutboxEvent, readOutboxEntry } from '../events/index.js';
import { outboxKey, WEBHOOK_GROUP, webhookKeys } from '../keys.js';
import type { Logger } from '../log.js';
import { Batcher } from './batch.js';
import { WebhookSender, webhookBody, webhookId } from './request.js';
import { RETRY_DELAYS_MS, retryDelay } from './schedule.js';
import { CLAIM, FAIL, SETTLE } from './scripts.js';

export type DeliveryOutcome = 'delivered' | 'retry' | 'undeliverable';

/** What a deliverer reports (the Prometheus metrics implement it). */
export interface WebhookObserver {
  webhookDelivery?(event: { readonly outcome: DeliveryOutcome }): void;
}

export interface WebhookDelivererOptions {
  /** The process's connection; the deliverer makes its own two from it and never blocks this one. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly url: string;
  readonly secret: Secret;
  readonly log: Logger;
  readonly observer?: WebhookObserver;
  /**
   * Credentials that must never leave in a body (account tokens, API keys). Events carry account ids
   * only; an event that carries one of these anyway is parked, never sent. Values shorter than
   * MIN_SCANNED_LENGTH are not looked for: a short password would match ordinary text.
   */
  readonly credentials?: readonly Secret[];
  /** An attempt with no 2xx answer within this is a failure. Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts in flight at once in this process. Default 16. */
  readonly concurrency?: number;
  /** The waits between attempts (schedule.ts); the event is parked after the last. */
  readonly retryDelaysMs?: readonly number[];
  /** How long an attempt holds its event before another deliverer may take it over. Default timeout + 5 s. */
  readonly leaseMs?: number;
  /** Longest wait between looks for due retries while idle. Default 1 s. */
  readonly pollMs?: number;
  /**
   * How long a claim, and an acknowledgement of delivered events, waits for others to share its Redis
   * call (when the slots are not full already). Default 20 ms.
   */
  readonly batchWaitMs?: number;
}

/** How many parked events the undeliverable stream keeps (approximately: XADD MAXLEN ~). */
export const UNDELIVERABLE_KEPT = 10_000;

/** Most delivered events acknowledged in one call. */
const SETTLE_BATCH_MAX = 256;

/** Shorter credentials are not looked for in bodies (see `credentials`). */
const MIN_SCANNED_LENGTH = 8;

/** One claimed event: a first attempt (pending in the group) or a retry (leased in the due set). */
type Claimed =
  | { readonly id: string; readonly kind: 'first'; readonly fields: Record<string, string> }
  | {
      readonly id: string;
      readonly kind: 'retry';
      readonly fields: Record<string, string>;
      readonly attempts: number;
      readonly lease: number;
    };

type ClaimReply = [
  Array<[string, 'first', string[]] | [string, 'retry', string, string]>,
  number,
  number,
  string,
];

/**
 * Delivers the outbox's events to one URL, at least once, signed. Any number of deliverers (in any
 * number of processes) share the work through the consumer group and the atomic claim; every state
 * lives in Redis, so a restart of every process loses nothing: an attempt cut short is taken over
 * once its lease runs out. Works on connections of its own with at most `concurrency` attempts in
 * flight, and nothing in the pipeline waits on it.
 */
export class WebhookDeliverer {
  readonly #o: WebhookDelivererOptions;
  readonly #keys: string[];
  readonly #consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #commands: Redis;
  /** XREAD BLOCK waits here for new entries, so it never holds up the commands connection. */
  readonly #blocking: Redis;
  readonly #sender: WebhookSender;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #batchWaitMs: number;
  /** Delivered events wait here to be acknowledged together. */
  readonly #settles: Batcher<string>;
  readonly #delays: readonly number[];
  readonly #credentials: readonly string[];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: WebhookDelivererOptions) {
    this.#o = options;
    const keys = webhookKeys(options.prefix);
    this.#keys = [
      outboxKey(options.prefix),
      keys.events,
      keys.attempts,
      keys.due,
      keys.age,
      keys.undeliverable,
    ];
    this.#commands = options.redis.duplicate({ connectionName: 'fulfillment-webhooks' });
    this.#blocking = options.redis.duplicate({ connectionName: 'fulfillment-webhooks-wait' });
    for (const connection of [this.#commands, this.#blocking]) {
      connection.on('error', (err: Error) =>
        options.log.warn({ err: err.message }, 'webhook redis connection error'),
      );
    }
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#sender = new WebhookSender(options.url, options.secret, this.#timeoutMs);
    this.#concurrency = options.concurrency ?? 16;
    // Each attempt in flight listens for a forced stop, and so does the loop's one wait.
    setMaxListeners(this.#concurrency + 1, this.#stop.signal);
    this.#leaseMs = options.leaseMs ?? this.#timeoutMs + 5_000;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#batchWaitMs = options.batchWaitMs ?? 20;
    this.#settles = new Batcher((ids) => SETTLE.run(this.#commands, this.#keys, [WEBHOOK_GROUP, ...ids]), {
      max: SETTLE_BATCH_MAX,
      waitMs: this.#batchWaitMs,
    });
    this.#delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.#credentials = (options.credentials ?? [])
      .map((secret) => secret.reveal())
      .filter((text) => text.length >= MIN_SCANNED_LENGTH);
  }

  /** Starts the claim loop; returns this. */
  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  /**
   * Stops claiming and waits for the attempts in flight (each ends within the timeout). `force` cuts
   * them short: their events are taken over by a deliverer once the lease runs out. Idempotent; a
   * forced call after a gentle one hurries it along.
   */
  close(force = false): Promise<void> {
    this.#stopping = true;
    if (force) this.#stop.abort();
    this.#closed ??= (async () => {
      // A pending XREAD BLOCK is rejected by the disconnect; the loop then sees #stopping.
      this.#blocking.disconnect();
      await this.#loop;
      await Promise.allSettled([...this.#inFlight]);
      await this.#settles.drain();
      this.#sender.close();
      await this.#commands.quit().catch(() => this.#commands.disconnect());
    })();
    return this.#closed;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      await this.#roomToClaim();
      if (this.#stopping) break;
      const room = this.#concurrency - this.#inFlight.size;
      let reply: ClaimReply;
      try {
        reply = (await CLAIM.run(this.#commands, this.#keys, [
          WEBHOOK_GROUP,
          this.#consumer,
          room,
          this.#leaseMs,
        ])) as ClaimReply;
      } catch (err) {
        if (this.#stopping) break;
        this.#o.log.warn({ err: (err as Error).message }, 'webhook claim failed; trying again');
        await this.#pause(this.#pollMs);
        continue;
      }
      const [items, lease, nextDueMs, lastId] = reply;
      for (const item of items) this.#track(this.#attempt(item, lease));
      if (items.length < room) await this.#waitForWork(nextDueMs, lastId);
    }
  }

  /**
   * Until a slot is free, then until half of them are or `batchWaitMs` passes: one claim takes the
   * events of several finished attempts, not one claim per attempt.
   */
  async #roomToClaim(): Promise<void> {
    if (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
    if (this.#inFlight.size <= this.#concurrency / 2) return;
    let timer: NodeJS.Timeout | undefined;
    let waited = false;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#batchWaitMs);
    }).then(() => {
      waited = true;
    });
    try {
      while (!waited && !this.#stopping && this.#inFlight.size > this.#concurrency / 2) {
        await Promise.race([timeUp, ...this.#inFlight]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Until an entry newer than `lastId` arrives (and then `batchWaitMs` more, so that one claim takes
   * the others that follow it), a retry falls due, or `pollMs` passes.
   */
  async #waitForWork(nextDueMs: number, lastId: string): Promise<void> {
    const waitMs = Math.max(1, Math.min(this.#pollMs, nextDueMs < 0 ? this.#pollMs : nextDueMs));
    try {
      const arrived = await this.#blocking.xread(
        'COUNT',
        1,
        'BLOCK',
        waitMs,
        'STREAMS',
        outboxKey(this.#o.prefix),
        lastId,
      );
      if (arrived !== null) await this.#pause(this.#batchWaitMs);
    } catch (err) {
      if (this.#stopping) return;
      this.#o.log.warn({ err: (err as Error).message }, 'webhook wait failed');
      await this.#pause(this.#pollMs);
    }
  }

  #pause(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  #track(attempt: Promise<void>): void {
    this.#inFlight.add(attempt);
    void attempt.finally(() => this.#inFlight.delete(attempt));
  }

  /** One attempt at one event. Never rejects: a Redis error leaves the event to its lease. */
  async #attempt(reply: ClaimReply[0][number], lease: number): Promise<void> {
    try {
      const item = toClaimed(reply, lease);
      const read = readOutboxEntry(item.id, item.fields);
      if (!read.ok) {
        // Another consumer's record type: not ours to deliver, and nothing to keep.
        if (read.unreadable.kind === 'foreign') return await this.#settle(item);
        return await this.#fail(item, `unreadable event: ${read.unreadable.problem}`, true);
      }
      const body = webhookBody(read.event);
      if (this.#credentials.some((credential) => body.includes(credential))) {
        // Parked without its data: the record of it must not keep the credential either.
        const withheld = { ...item, fields: { ...item.fields, data: 'null' } };
        return await this.#fail(withheld, 'the event carries a configured credential; never sent', true);
      }
      const result = await this.#sender.send(webhookId(item.id), body, this.#stop.signal);
      if (result.ok) {
        // Its slot is free now; the acknowledgement goes with others' (close waits for it).
        void this.#settle(item).then(
          () => this.#o.observer?.webhookDelivery?.({ outcome: 'delivered' }),
          (err: unknown) => this.#bookkeepingFailed(err, item.id),
        );
        return;
      }
      // Cut short by a forced shutdown: not the receiver's failure. The lease hands it on.
      if (this.#stop.signal.aborted) return;
      await this.#fail(item, result.error, false, read.event);
    } catch (err) {
      this.#bookkeepingFailed(err, reply[0]);
    }
  }

  #bookkeepingFailed(err: unknown, id: string): void {
    this.#o.log.error(
      { err: (err as Error).message, webhookId: webhookId(id) },
      'webhook bookkeeping failed; the event is retried once its lease runs out',
    );
  }

  /** Acknowledged with the others that finish within `batchWaitMs`, in one call. */
  #settle(item: Claimed): Promise<void> {
    return this.#settles.add(item.id);
  }

  async #fail(item: Claimed, error: string, park: boolean, event?: OutboxEvent): Promise<void> {
    const failed = (item.kind === 'retry' ? item.attempts : 0) + 1;
    const waitMs = park ? null : retryDelay(failed, this.#delays);
    const fields = JSON.stringify({ type: item.fields.type, at: item.fields.at, data: item.fields.data });
    const done = await FAIL.run(this.#commands, this.#keys, [
      WEBHOOK_GROUP,
      this.#consumer,
      item.id,
      item.kind,
      item.kind === 'retry' ? String(item.lease) : '',
      fields,
      waitMs === null ? '' : waitMs,
      error,
      UNDELIVERABLE_KEPT,
      Number(item.id.split('-')[0]),
    ]);
    if (done === 0) return; // another deliverer took it over after our lease ran out
    const line = {
      webhookId: webhookId(item.id),
      type: event?.type ?? item.fields.type,
      attempts: failed,
      error,
    };
    if (waitMs === null) {
      this.#o.log.error(line, 'webhook undeliverable: parked, no more attempts');
      this.#o.observer?.webhookDelivery?.({ outcome: 'undeliverable' });
    } else {
      this.#o.log.warn({ ...line, retryInMs: waitMs }, 'webhook attempt failed; will retry');
      this.#o.observer?.webhookDelivery?.({ outcome: 'retry' });
    }
  }
}

function toClaimed(item: ClaimReply[0][number], lease: number): Claimed {
  if (item[1] === 'first') return { id: item[0], kind: 'first', fields: fieldMap(item[2]) };
  const stored = JSON.parse(item[2]) as Record<string, string>;
  return { id: item[0], kind: 'retry', fields: stored, attempts: Number(item[3]), lease };
}
