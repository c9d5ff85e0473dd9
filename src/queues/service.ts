import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Account, Config } from '../config/index.js';
import type { AccountLookup, JobName } from '../jobs/index.js';
import { Ledger } from '../ledger/index.js';
import { AccountLimiter, type AccountState } from '../limiter/index.js';
import { DeadLetters } from './dead-letter.js';
import { QUEUE_NAMES, queueKeys, type WorkQueueName } from './keys.js';
import { parseMarker } from './markers.js';
import { type JobState, Producer, toJobState } from './producer.js';

/** `GET /v1/jobs/:id` (DESIGN.md). */
export interface JobView {
  readonly id: string;
  readonly queue: WorkQueueName | 'dead-letter';
  readonly name: JobName | null;
  readonly state: JobState;
  readonly attemptsMade: number;
  readonly result: unknown;
  readonly lastError: string | null;
}

/** `GET /v1/accounts` item (DESIGN.md); never the token. */
export interface AccountView {
  readonly id: string;
  readonly provider: Account['provider'];
  readonly ratePerSecond: number;
  readonly state: 'active' | 'held';
  readonly reason: string | null;
  readonly code: number | null;
  readonly since: string | null;
}

/**
 * The product's functions over one Redis, as the HTTP API, the CLI and the workers use them:
 * producer, job lookup, dead letters, ledger, accounts. Holds queues (no workers, no timers).
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
  readonly limiter: AccountLimiter;

  /**
   * `onError` hears the queues' connection errors (while Redis is away, every command waits for the
   * reconnect; these are reports, not failures). Without a listener BullMQ prints them to the console.
   */
  constructor(config: Config, redis: Redis, onError: (err: Error) => void = () => {}) {
    this.config = config;
    this.redis = redis;
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
    this.limiter = new AccountLimiter(redis, config.prefix, { marginMs: config.limiterMarginMs });
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
    const states = await this.limiter.states(accounts.map((account) => account.id));
    return accounts.map((account, index) => toAccountView(account, states[index]!));
  }

  /**
   * Resumes a held account: clears the hold and promotes every job parked while it was held.
   * Returns null for an account that is not configured.
   */
  async resumeAccount(id: string): Promise<{ id: string; state: 'active'; released: number } | null> {
    if (!this.accounts.has(id)) return null;
    // Not held: nothing to release (resume leaves an active account's schedule alone).
    const parked = (await this.limiter.resume(id)) ?? [];
    let released = 0;
    for (const member of parked) {
      const slash = member.indexOf('/');
      const queueName = member.slice(0, slash) as WorkQueueName;
      const job = await this.queues[queueName]?.getJob(member.slice(slash + 1));
      if (job && (await job.isDelayed())) {
        await job.promote();
        released += 1;
      }
    }
    return { id, state: 'active', released };
  }

  /** Closes the queues; the Redis connection belongs to the caller. */
  async close(): Promise<void> {
    this.limiter.close();
    await Promise.allSettled([
      this.queues.ship.close(),
      this.queues.sync.close(),
      this.deadLetterQueue.close(),
    ]);
  }
}

function toAccountView(account: Account, state: AccountState): AccountView {
  return {
    id: account.id,
    provider: account.provider,
    ratePerSecond: account.ratePerSecond,
    state: state.state,
    reason: state.reason,
    code: state.code,
    since: state.since === null ? null : new Date(state.since).toISOString(),
  };
}

function nullIfClaimed(found: JobView | null | 'claimed'): JobView | null {
  return found === 'claimed' ? null : found;
}
