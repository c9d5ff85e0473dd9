import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type AccountLookup,
  ValidationError,
  type ValidJob,
  validateBatch,
  validateJob,
} from '../jobs/index.js';
import { QUEUE_NAMES, queueKeys, type WorkQueueName } from '../keys.js';
import { workJobOptions } from './job-options.js';
import { defineQueueScripts, storedJobOptions } from './lua.js';
import { parseMarker } from './markers.js';

/** Job states of docs/api.md ("GET /v1/jobs/:id"). */
export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'dead';

export interface EnqueueResult {
  readonly id: string;
  readonly state: JobState;
  readonly duplicate: boolean;
}

export interface ProducerOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly queues: Readonly<Record<WorkQueueName, Queue>>;
  readonly accounts: AccountLookup;
  readonly attempts: number;
}

/** ioredis states of a connection that was up and is lost (or closed): commands would only queue. */
const REDIS_AWAY_STATES: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);
/** Connections that have been ready once: from then on, one being made again is a reconnect. */
const everReady = new WeakSet<Redis>();
const watched = new WeakSet<Redis>();

/**
 * Starts telling a first connection from a reconnect (see redisAway). Call once per client, early;
 * more calls change nothing.
 */
export function watchRedis(redis: Redis): void {
  if (watched.has(redis)) return;
  watched.add(redis);
  if (redis.status === 'ready') everReady.add(redis);
  else redis.once('ready', () => everReady.add(redis));
}

/**
 * Whether a request should be refused now rather than queue its commands until Redis is back: the
 * connection is lost or closed, or is being made again after a loss (a reconnect retries every few
 * ms, so it spends much of an outage 'connecting'). A first connection, at start-up, is let through:
 * its commands wait for it briefly.
 */
export function redisAway(redis: Redis): boolean {
  if (redis.status === 'ready') return false;
  return REDIS_AWAY_STATES.has(redis.status) || everReady.has(redis);
}

/** Thrown by an enqueue while Redis is away (after validation): nothing was written; retry later. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor() {
    super('Redis is not reachable; nothing was enqueued');
  }
}

/**
 * The producer library: validates at the door, derives the idempotency key (the BullMQ job id), and
 * enqueues, or answers with the job that already has that key. Nothing of an invalid request is
 * written: validation happens before any Redis call.
 */
export class Producer {
  readonly #options: ProducerOptions;

  constructor(options: ProducerOptions) {
    this.#options = options;
    watchRedis(options.redis);
    defineQueueScripts(options.redis);
  }

  /** One ship job `{ account, ...payload }`. Throws ValidationError naming every problem. */
  async ship(input: unknown): Promise<EnqueueResult> {
    return (await this.#enqueue([this.#validate('ship', input, '')]))[0]!;
  }

  /** One sync job `{ account, orderSns, ownerId }`. */
  async sync(input: unknown): Promise<EnqueueResult> {
    return (await this.#enqueue([this.#validate('sync', input, '')]))[0]!;
  }

  /**
   * Many jobs `{ type: 'ship' | 'sync', account, ...payload }`: all validated first; if any is bad,
   * ValidationError with paths like `jobs.3.tid` and nothing is enqueued. Results in input order; a
   * repeat inside the batch gets the first one's id and `duplicate: true`.
   */
  async batch(items: readonly unknown[]): Promise<EnqueueResult[]> {
    const result = validateBatch({ jobs: items }, this.#options.accounts);
    if (!result.ok) throw new ValidationError(result.issues);
    return this.#enqueue(result.jobs);
  }

  #validate(type: WorkQueueName, input: unknown, at: string): ValidJob {
    const result = validateJob(type, input, this.#options.accounts);
    if (!result.ok) {
      throw new ValidationError(result.issues.map((issue) => ({ ...issue, path: at + issue.path })));
    }
    return result.job;
  }

  async #enqueue(jobs: readonly ValidJob[]): Promise<EnqueueResult[]> {
    const { redis } = this.#options;
    // Fail now rather than queue the writes until Redis is back.
    if (redisAway(redis)) throw new RedisUnavailableError();
    const { unique, firstIndex } = uniqueJobs(jobs);
    const { keys, args } = this.#enqueueCall(unique);
    const answers = (await redis.fulfillEnqueue(keys.length, ...keys, Date.now(), ...args)) as string[];
    const results: (EnqueueResult | undefined)[] = new Array(jobs.length);
    await Promise.all(
      unique.map(async (entry, i) => {
        results[entry.index] = await this.#result(entry, answers[i]);
      }),
    );
    return jobs.map((job, index) => {
      const first = job.id === null ? index : firstIndex.get(job.id)!;
      const result = results[first]!;
      return first === index ? result : { ...result, duplicate: true };
    });
  }

  /** The enqueue script's KEYS and per-job ARGV (see scripts/enqueue.lua). */
  #enqueueCall(unique: readonly UniqueJob[]): { keys: string[]; args: (string | number)[] } {
    const { prefix, attempts } = this.#options;
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const { job, id } of unique) {
      const options = workJobOptions(id, attempts);
      keys.push(
        queueKeys.marker(prefix, id),
        queueKeys.job(prefix, job.queue, id),
        queueKeys.job(prefix, QUEUE_NAMES.deadLetter, id),
        queueKeys.backlog(prefix, job.account),
      );
      args.push(
        job.id === null ? '' : '1',
        queueKeys.base(prefix, job.queue),
        id,
        job.name,
        JSON.stringify(job.data),
        storedJobOptions(options),
        options.priority ?? 0,
      );
    }
    return { keys, args };
  }

  /** A job's result from the script's answer for it ('new', 'done', 'dead' or 'exists'). */
  async #result({ job, id }: UniqueJob, answer: string | undefined): Promise<EnqueueResult> {
    if (answer === 'new') return { id, state: 'waiting', duplicate: false };
    if (answer === 'done') return { id, state: 'completed', duplicate: true };
    if (answer === 'dead') return { id, state: 'dead', duplicate: true };
    // Already in its queue: report its current state.
    const state = await this.#options.queues[job.queue].getJobState(id);
    // Gone since the script: it finished or died, and its marker says which.
    return {
      id,
      state: state === 'unknown' ? await this.#finishedState(id) : toJobState(state),
      duplicate: true,
    };
  }

  async #finishedState(id: string): Promise<JobState> {
    const { redis, prefix } = this.#options;
    const marker = parseMarker(await redis.get(queueKeys.marker(prefix, id)));
    return marker?.kind === 'dead' ? 'dead' : 'completed';
  }
}

/** A job of a batch with the id it is enqueued under, and its index in the batch. */
interface UniqueJob {
  readonly job: ValidJob;
  readonly index: number;
  readonly id: string;
}

/**
 * The jobs to send: the first occurrence of each key decides, and later repeats inside the batch
 * point at it (`firstIndex`). A job without a key (a sync) gets an id of its own and is always new.
 */
function uniqueJobs(jobs: readonly ValidJob[]): { unique: UniqueJob[]; firstIndex: Map<string, number> } {
  const firstIndex = new Map<string, number>();
  const unique: UniqueJob[] = [];
  jobs.forEach((job, index) => {
    if (job.id === null) unique.push({ job, index, id: syncJobId(job.account) });
    else if (!firstIndex.has(job.id)) {
      firstIndex.set(job.id, index);
      unique.push({ job, index, id: job.id });
    }
  });
  return { unique, firstIndex };
}

/**
 * The id of a job without an idempotency key (a sync): a string the service picks, never one of
 * BullMQ's bare integers, which it keeps for itself and refuses as a custom id (so the job could not
 * move to the dead-letter queue under its id). `sync.<account>.<22 random base64url characters>`.
 */
export function syncJobId(account: string): string {
  return `sync.${account}.${randomBytes(16).toString('base64url')}`;
}

/** BullMQ's states mapped onto ours (a prioritized job is waiting; an unknown one finished and left). */
export function toJobState(state: string): JobState {
  switch (state) {
    case 'active':
    case 'delayed':
    case 'completed':
    case 'failed':
    case 'waiting':
      return state;
    case 'unknown':
      return 'completed';
    default:
      return 'waiting';
  }
}
