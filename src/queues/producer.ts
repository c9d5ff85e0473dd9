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
import { workJobOptions } from './job-options.js';
import { QUEUE_NAMES, queueKeys, type WorkQueueName } from './keys.js';
import { CLAIM_SCRIPT, parseMarker } from './markers.js';

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

/** How long a producer's claim on a job id lasts: long enough to add the job, short if it crashed. */
const CLAIM_TTL_MS = 30_000;

/** ioredis states of a connection that was up and is lost (or closed): commands would only queue. */
export const REDIS_AWAY_STATES: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

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
    if (!options.redis.claimJobs) {
      options.redis.defineCommand('claimJobs', { lua: CLAIM_SCRIPT });
    }
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
    const { redis, prefix, queues } = this.#options;
    // Fail now rather than queue the writes until Redis is back (a connection still being made at
    // start-up is let through: its commands wait for it briefly).
    if (REDIS_AWAY_STATES.has(redis.status)) throw new RedisUnavailableError();
    // First occurrence of each key decides; later repeats inside the batch point at it.
    const firstIndex = new Map<string, number>();
    const keyed: { id: string; queue: WorkQueueName }[] = [];
    jobs.forEach((job, index) => {
      if (job.id !== null && !firstIndex.has(job.id)) {
        firstIndex.set(job.id, index);
        keyed.push({ id: job.id, queue: job.queue });
      }
    });
    const claims = new Map<string, string>();
    if (keyed.length > 0) {
      const keys = keyed.flatMap(({ id, queue }) => [
        queueKeys.marker(prefix, id),
        queueKeys.job(prefix, queue, id),
        queueKeys.job(prefix, QUEUE_NAMES.deadLetter, id),
      ]);
      const answers = (await redis.claimJobs(keys.length, ...keys, CLAIM_TTL_MS)) as string[];
      keyed.forEach(({ id }, index) => {
        claims.set(id, answers[index]!);
      });
    }

    const toAdd: Record<WorkQueueName, { job: ValidJob; index: number }[]> = { ship: [], sync: [] };
    const results: (EnqueueResult | undefined)[] = new Array(jobs.length);
    jobs.forEach((job, index) => {
      const claim = job.id === null ? 'new' : claims.get(job.id)!;
      const first = job.id === null ? index : firstIndex.get(job.id)!;
      if (first !== index) return; // filled in from the first occurrence below
      if (claim === 'new' || claim === 'claimed') toAdd[job.queue].push({ job, index });
      else if (claim === 'done') results[index] = { id: job.id!, state: 'completed', duplicate: true };
      else if (claim === 'dead') results[index] = { id: job.id!, state: 'dead', duplicate: true };
    });

    for (const queueName of ['ship', 'sync'] as const) {
      const batch = toAdd[queueName];
      if (batch.length === 0) continue;
      const added = await queues[queueName].addBulk(
        batch.map(({ job }) => ({
          name: job.name,
          data: job.data,
          opts: workJobOptions(job.id ?? syncJobId(job.account), this.#options.attempts),
        })),
      );
      batch.forEach(({ job, index }, i) => {
        const claim = job.id === null ? 'new' : claims.get(job.id);
        results[index] = { id: String(added[i]!.id), state: 'waiting', duplicate: claim === 'claimed' };
      });
    }

    // Jobs that already exist: report their current state.
    await Promise.all(
      jobs.map(async (job, index) => {
        if (results[index] !== undefined || job.id === null || firstIndex.get(job.id) !== index) return;
        const state = await queues[job.queue].getJobState(job.id);
        results[index] = {
          id: job.id,
          // Gone since the claim: it finished or died, and its marker says which.
          state: state === 'unknown' ? await this.#finishedState(job.id) : toJobState(state),
          duplicate: true,
        };
      }),
    );
    return jobs.map((job, index) => {
      const first = job.id === null ? index : firstIndex.get(job.id)!;
      const result = results[first]!;
      return first === index ? result : { ...result, duplicate: true };
    });
  }

  async #finishedState(id: string): Promise<JobState> {
    const { redis, prefix } = this.#options;
    const marker = parseMarker(await redis.get(queueKeys.marker(prefix, id)));
    return marker?.kind === 'dead' ? 'dead' : 'completed';
  }
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    claimJobs(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  }
}
