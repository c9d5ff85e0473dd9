import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Account, Config } from '../config/index.js';
import type { AccountLookup, JobName } from '../jobs/index.js';
import { ValidationError } from '../jobs/index.js';
import { QUEUE_NAMES, queueKeys, type WorkQueueName } from '../keys.js';
import { Ledger } from '../ledger/index.js';
import { AccountLimiter, type AccountState } from '../limiter/index.js';
import { DeadLetters } from './dead-letter.js';
import { holdReasonIssues } from './hold.js';
import { defineQueueScripts } from './lua.js';
import { parseMarker } from './markers.js';
import { type JobState, Producer, toJobState } from './producer.js';

/** Parked jobs promoted per script call on resume. */
const PROMOTE_CHUNK = 1_000;

/** `GET /v1/jobs/:id` (docs/api.md). */
export interface JobView {
  readonly id: string;
  readonly queue: WorkQueueName | 'dead-letter';
  readonly name: JobName | null;
  readonly state: JobState;
  readonly attemptsMade: number;
  readonly result: unknown;
  readonly lastError: string | null;
}

/** `GET /v1/accounts` item (docs/api.md); never the token. */
export interface AccountView {
  readonly id: string;
  readonly provider: Account['provider'];
  readonly ratePerSecond: number;
  readonly state: 'active' | 'held';
  readonly reason: string | null;
  readonly code: number | null;
  readonly since: string | null;
  /**
   * The account's jobs queued or running, not yet finished (waiting, delayed for a retry or its turn,
   * or running). Counts the jobs enqueued through the service and redriven; a job written straight
   * into Redis by another BullMQ client is not counted.
   */
  readonly backlog: number;
}

/**
 * The product's functions over one Redis, as the HTTP API, the CLI and the workers use them:
 * producer, job lookup, dead letters, ledger, accounts. Holds queues (no workers, no timers). The
 * limiter is made on first use (workers, account states): a producer that only enqueues and looks up
 * jobs never starts its event-loop delay monitor.
 */
export class Fulfillment {
  readonly config: Config;
  readonly redis: Redis;
  readonly queues: Readonly<Record<WorkQueueName, Queue>>;
  readonly deadLetterQueue: Queue;
  readonly accounts: ReadonlyMap<string, Account>;
  readonly lookup: AccountLookup;
  readonly producer: Producer;
  readonly deadLetters: DeadLetters;
  readonly ledger: Ledger;
  #limiter: AccountLimiter | undefined;

  /**
   * `onError` hears the queues' connection errors (while Redis is away, every command waits for the
   * reconnect; these are reports, not failures). Without a listener BullMQ prints them to the console.
   */
  constructor(config: Config, redis: Redis, onError: (err: Error) => void = () => {}) {
    this.config = config;
    this.redis = redis;
    defineQueueScripts(redis);
    const options = { connection: redis, prefix: config.prefix };
    this.queues = { ship: new Queue(QUEUE_NAMES.ship, options), sync: new Queue(QUEUE_NAMES.sync, options) };
    this.deadLetterQueue = new Queue(QUEUE_NAMES.deadLetter, options);
    for (const queue of [this.queues.ship, this.queues.sync, this.deadLetterQueue])
      queue.on('error', onError);
    this.accounts = new Map(config.accounts.map((account) => [account.id, account]));
    this.lookup = { get: (id) => this.accounts.get(id) };
    this.producer = new Producer({
      redis,
      prefix: config.prefix,
      queues: this.queues,
      accounts: this.lookup,
      attempts: config.retry.attempts,
    });
    this.deadLetters = new DeadLetters({
      redis,
      prefix: config.prefix,
      deadLetter: this.deadLetterQueue,
      queues: this.queues,
      accounts: this.lookup,
      attempts: config.retry.attempts,
    });
    this.ledger = new Ledger(redis, config.prefix);
  }

  /** The per-account limiter, made on first use (its constructor starts an event-loop delay monitor). */
  get limiter(): AccountLimiter {
    this.#limiter ??= new AccountLimiter(this.redis, this.config.prefix, {
      marginMs: this.config.limiterMarginMs,
      providers: new Map(this.config.accounts.map((account) => [account.id, account.provider])),
    });
    return this.#limiter;
  }

  /** A job by id wherever it is: its queue, the dead-letter queue, or (finished and gone) its marker. */
  async getJob(id: string): Promise<JobView | null> {
    const found = await this.#lookUp(id);
    // Claimed but nowhere: being enqueued or redriven right now (a redrive adds the job to its queue
    // after our read of that queue, then leaves the dead-letter queue before our read of it). Once more.
    return found === 'claimed' ? nullIfClaimed(await this.#lookUp(id)) : found;
  }

  async #lookUp(id: string): Promise<JobView | null | 'claimed'> {
    for (const queueName of ['ship', 'sync'] as const) {
      // State first, then the hash: a job that finishes between the two reads is seen with its
      // result, never as completed without one.
      const bullState = await this.queues[queueName].getJobState(id);
      if (bullState === 'unknown') continue;
      // A failed copy beside its dead-letter entry is a job that died a moment ago, whose failed copy
      // the sweep has not removed yet: it is dead (read below), not failed.
      if (bullState === 'failed' && (await this.deadLetters.get(id))) break;
      const job = await this.queues[queueName].getJob(id);
      // Gone between the two reads: it just finished or died, and its next home is read below
      // (the done marker and the dead-letter entry are both written before it leaves its queue).
      if (!job) continue;
      const state = toJobState(bullState);
      return {
        id,
        queue: queueName,
        name: job.name as JobName,
        state,
        attemptsMade: job.attemptsMade,
        result: job.returnvalue ?? null,
        lastError: job.failedReason || null,
      };
    }
    const dead = await this.deadLetters.get(id);
    if (dead) {
      return {
        id,
        queue: 'dead-letter',
        name: dead.name,
        state: 'dead',
        attemptsMade: dead.attemptsMade,
        result: null,
        lastError: dead.reason,
      };
    }
    const marker = parseMarker(await this.redis.get(queueKeys.marker(this.config.prefix, id)));
    if (marker?.kind === 'done') {
      return {
        id,
        queue: id.startsWith('vvtool.') || id.startsWith('damaijia.') ? 'ship' : 'sync',
        name: null,
        state: 'completed',
        attemptsMade: 0,
        result: {
          result: marker.result,
          charge: marker.charge,
          finishedAt: new Date(marker.finishedAt).toISOString(),
        },
        lastError: null,
      };
    }
    return marker?.kind === 'claimed' ? 'claimed' : null;
  }

  async listAccounts(): Promise<AccountView[]> {
    const accounts = [...this.accounts.values()];
    const ids = accounts.map((account) => account.id);
    const [states, backlogs] = await Promise.all([this.limiter.states(ids), this.backlogs(ids)]);
    return accounts.map((account, index) => toAccountView(account, states[index]!, backlogs[index]!));
  }

  /** Each account's backlog (see AccountView), read in one round trip. */
  async backlogs(accountIds: readonly string[]): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const id of accountIds) pipeline.scard(queueKeys.backlog(this.config.prefix, id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, count]) => {
      if (err) throw err;
      return Number(count);
    });
  }

  /**
   * Resumes a held account: clears the hold and promotes every job parked while it was held that is
   * still delayed (one that left the delayed state meanwhile is skipped). Returns null for an account
   * that is not configured.
   */
  async resumeAccount(id: string): Promise<{ id: string; state: 'active'; released: number } | null> {
    if (!this.accounts.has(id)) return null;
    // Not held: nothing to resume (and the account's schedule must stay as it is).
    const parked = (await this.limiter.resume(id)) ?? [];
    const args: string[] = [];
    for (const member of parked) {
      const slash = member.indexOf('/');
      const queueName = member.slice(0, slash);
      if (queueName !== 'ship' && queueName !== 'sync') continue;
      args.push(queueKeys.base(this.config.prefix, queueName), member.slice(slash + 1));
    }
    let released = 0;
    // One script per chunk: each promotion is checked and done in one step, and Redis is not held
    // for long by an account with a very large backlog.
    for (let at = 0; at < args.length; at += 2 * PROMOTE_CHUNK) {
      released += Number(await this.redis.fulfillPromoteParked(0, ...args.slice(at, at + 2 * PROMOTE_CHUNK)));
    }
    return { id, state: 'active', released };
  }

  /**
   * Holds an account by hand, as a hold answer from the upstream does: its jobs park without calling
   * or spending an attempt until it is resumed. Holding a held account changes nothing (`changed`
   * false; the first reason stays). Null for an account that is not configured; a ValidationError
   * for a reason that is not 1-256 characters of text.
   */
  async holdAccount(
    id: string,
    reason: unknown,
  ): Promise<{ id: string; state: 'held'; changed: boolean } | null> {
    const issues = holdReasonIssues(reason);
    if (issues.length > 0) throw new ValidationError(issues);
    if (!this.accounts.has(id)) return null;
    const text = reason as string;
    const changed = await this.limiter.hold(id, { reason: text, code: null, message: text });
    return { id, state: 'held', changed };
  }

  /** Closes the queues; the Redis connection belongs to the caller. */
  async close(): Promise<void> {
    this.#limiter?.close();
    await Promise.allSettled([
      this.queues.ship.close(),
      this.queues.sync.close(),
      this.deadLetterQueue.close(),
    ]);
  }
}

function toAccountView(account: Account, state: AccountState, backlog: number): AccountView {
  return {
    id: account.id,
    provider: account.provider,
    ratePerSecond: account.ratePerSecond,
    state: state.state,
    reason: state.reason,
    code: state.code,
    since: state.since === null ? null : new Date(state.since).toISOString(),
    backlog,
  };
}

function nullIfClaimed(found: JobView | null | 'claimed'): JobView | null {
  return found === 'claimed' ? null : found;
}
