import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Account, Provider } from '../config/index.js';
import { type AccountLookup, type JobData, type JobName, validateJobData } from '../jobs/index.js';
import type { CallContext, Ledger, Settlement } from '../ledger/index.js';
import { type AccountLimiter, type GrantedSlot, RedisClock } from '../limiter/index.js';
import type { Logger } from '../log.js';
import { classify } from '../outcomes/index.js';
import type { Outcome } from '../outcomes/types.js';
import type { OperationRequest, Upstreams } from '../upstreams/index.js';
import type { UpstreamReply } from '../upstreams/types.js';
import type { DeadLetters } from './dead-letter.js';
import { queueKeys, type WorkQueueName } from './keys.js';
import { type DeadInfo, doneMarker, parseMarker } from './markers.js';
import type { PipelineObserver } from './observer.js';

/** What a completed job returns (BullMQ returnvalue). */
export interface JobResult {
  readonly result: 'shipped' | 'already_shipped' | 'synced';
  readonly code: number | null;
  readonly charge: number;
  /** True when the job found its shipment already done by an earlier run and called nobody. */
  readonly replayed?: boolean;
}

export interface ProcessorDeps {
  readonly queue: WorkQueueName;
  readonly redis: Redis;
  readonly prefix: string;
  readonly accounts: ReadonlyMap<string, Account>;
  readonly limiter: AccountLimiter;
  readonly upstreams: Upstreams;
  readonly ledger: Ledger;
  readonly deadLetters: DeadLetters;
  readonly log: Logger;
  readonly observer?: PipelineObserver;
  readonly idempotencyRetentionMs: number;
}

/** A parked job comes back this long before its slot, to be picked up and waiting in time. */
const PARK_LEAD_MS = 100;
/** A job of a held account rechecks this often even if no resume promotes it (a safety net). */
const HOLD_RECHECK_MS = 300_000;

/** A retryable outcome: BullMQ retries with our backoff. `kind` crosses processes in failedReason. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  readonly kind = 'retry';
}

/**
 * The work of one job: validate what the queue holds, pass the account's gate, call the upstream,
 * record the charge, and act on the outcome (done / retry / dead / hold).
 */
export function createProcessor(deps: ProcessorDeps): (job: Job, token?: string) => Promise<JobResult> {
  const lookup: AccountLookup = { get: (id) => deps.accounts.get(id) };

  return async function process(job, token) {
    deps.observer?.taken?.({ queue: deps.queue });
    const jobId = String(job.id);
    const started = performance.now();
    const checked = validateJobData(job.name as JobName, job.data, lookup);
    if (!checked.ok) {
      const message = checked.issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
      return bury(job, {
        reason: `invalid job: ${message}`,
        code: null,
        message,
        attemptsMade: job.attemptsMade + 1,
      });
    }
    const data = checked.job.data;
    const account = deps.accounts.get(data.account)!;
    const name = checked.job.name;
    const log = deps.log.child({ jobId, account: account.id, name, attempt: job.attemptsMade + 1 });

    // A run after a crash: calls it left in flight may have been charged; record them as unknown.
    if (job.attemptsStarted > 1) {
      const recovered = await deps.ledger.recoverInflight(jobId);
      for (const entry of recovered) {
        deps.observer?.unknownCharge?.({ account: entry.account });
        log.warn({ entry: entry.id }, 'call left in flight by an earlier run: charge unknown');
      }
    }

    const ctx = callContext(account, name, data, jobId, job.attemptsStarted);
    // A slot this attempt reached too late to use: given back with the next gate call.
    let release: GrantedSlot | undefined;
    // The in-flight mark of this attempt, once written: a missed slot keeps it for the next grant.
    let marked = false;
    const unmark = async () => {
      if (!marked) return;
      await deps.ledger.settle(ctx, { amount: 0 });
      marked = false;
    };
    for (;;) {
      const answer = await deps.limiter.acquire({
        account,
        jobId,
        parkedMember: `${deps.queue}/${jobId}`,
        markerKey: queueKeys.marker(deps.prefix, jobId),
        jobKey: queueKeys.job(deps.prefix, deps.queue, jobId),
        release,
        // The in-flight mark must exist before the request leaves: a grant writes it in the same
        // step, so no round trip of its own sits between the grant and the send.
        onGrant: marked
          ? undefined
          : {
              key: deps.ledger.inflightKey(),
              field: deps.ledger.inflightField(ctx),
              value: deps.ledger.inflightValue(ctx, Date.now()),
            },
      });
      release = undefined;
      if (answer.kind === 'grant') marked = true;
      else await unmark();
      if (answer.kind === 'finished') return finishFromMarker(job, answer.marker);
      if (answer.kind === 'held') {
        deps.observer?.parked?.({ account: account.id, why: 'held' });
        await job.moveToDelayed(Date.now() + HOLD_RECHECK_MS, token);
        // Resumed between the gate and the park: the resume could not promote us, so we do.
        if (!(await deps.limiter.isHeld(account.id))) await job.promote();
        throw new DelayedError(`account ${account.id} is held`);
      }
      if (answer.kind === 'park') {
        deps.observer?.parked?.({ account: account.id, why: 'limit' });
        const wait = Math.max(0, answer.localSlot - RedisClock.localNow() - PARK_LEAD_MS);
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError(`waiting for account ${account.id}'s turn`);
      }
      const waitStart = performance.now();
      await deps.limiter.waitForSlot(answer);
      deps.observer?.limiterWait?.({ account: account.id, seconds: (performance.now() - waitStart) / 1000 });
      const late = deps.limiter.lateness(answer);
      if (late <= answer.allowedLateMs) break;
      // Too busy to send on time: sending now could crowd the upstream's second. Give the slot back and
      // ask for the earliest one again, ahead of jobs not yet let in; the in-flight mark stays for it
      // (removed if the job parks instead), so a miss costs one gate call.
      log.debug({ lateMs: late }, 'slot missed, asking again');
      deps.observer?.slotMissed?.({ account: account.id });
      release = answer;
    }

    const callStart = performance.now();
    const reply = await deps.upstreams.call(
      account,
      name,
      requestOf(data) as unknown as OperationRequest[typeof name],
    );
    deps.observer?.upstreamCall?.({
      provider: account.provider,
      operation: name,
      seconds: (performance.now() - callStart) / 1000,
    });
    const outcome = classify(account.provider, reply, name);
    const settlement = settlementOf(reply);
    const charge = reply.answered ? reply.charge : 0;
    const result = outcome.outcome === 'done' ? (outcome.result ?? 'shipped') : undefined;
    // A done job's marker is written by the settle itself: one round trip, and the charge and the
    // shipment are remembered together.
    const entry = await deps.ledger.settle(
      ctx,
      settlement,
      Date.now(),
      result === undefined
        ? undefined
        : {
            key: queueKeys.marker(deps.prefix, jobId),
            value: doneMarker(result, charge),
            ttlMs: deps.idempotencyRetentionMs,
          },
    );
    if (entry?.status === 'unknown') deps.observer?.unknownCharge?.({ account: account.id });
    deps.observer?.outcome?.({
      queue: deps.queue,
      name,
      provider: account.provider,
      account: account.id,
      code: outcome.code,
      outcome: outcome.outcome,
      charge,
    });
    log.info(
      {
        provider: account.provider,
        code: outcome.code,
        outcome: outcome.outcome,
        charge: 'unknown' in settlement ? null : charge,
        durationMs: Math.round(performance.now() - started),
        ...(outcome.outcome === 'done' ? {} : { reason: outcome.reason }),
      },
      'job outcome',
    );

    switch (outcome.outcome) {
      case 'done':
        return { result: result!, code: outcome.code, charge };
      case 'retry': {
        const attempts = job.opts.attempts ?? 1;
        if (job.attemptsMade + 1 >= attempts) {
          return bury(job, {
            ...deadInfo(outcome, job.attemptsMade + 1),
            reason: `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${outcome.reason}`,
          });
        }
        throw new RetryableError(`${outcome.reason}${outcome.message ? ` (${outcome.message})` : ''}`);
      }
      case 'dead':
        return bury(job, deadInfo(outcome, job.attemptsMade + 1));
      case 'hold': {
        const newly = await deps.limiter.hold(account.id, {
          reason: outcome.reason,
          code: outcome.code,
          message: outcome.message,
        });
        if (newly) log.warn({ code: outcome.code, reason: outcome.reason }, 'account held');
        // This job waits with the rest of the account's jobs; the call did not count as an attempt.
        return process(job, token);
      }
    }
  };

  async function bury(job: Job, info: Omit<DeadInfo, 'failedAt'>): Promise<never> {
    await deps.deadLetters.bury(job, deps.queue, { ...info, failedAt: Date.now() });
    throw new UnrecoverableError(info.reason);
  }

  async function finishFromMarker(job: Job, value: string): Promise<JobResult> {
    const marker = parseMarker(value);
    if (marker?.kind === 'done') {
      return { result: marker.result, code: 0, charge: marker.charge, replayed: true };
    }
    if (marker?.kind === 'dead') {
      // Died in an earlier run that crashed before the move finished: finish the move, call nobody.
      await deps.deadLetters.bury(job, deps.queue, marker);
      throw new UnrecoverableError(marker.reason);
    }
    throw new Error(`unexpected marker for job ${String(job.id)}`);
  }
}

function deadInfo(outcome: Outcome, attemptsMade: number): Omit<DeadInfo, 'failedAt'> {
  return { reason: outcome.reason, code: outcome.code, message: outcome.message, attemptsMade };
}

/** Any HTTP answer is known (it charged what it says); no answer after sending may have charged. */
function settlementOf(reply: UpstreamReply): Settlement {
  if (reply.answered) return { amount: reply.charge };
  return reply.sent ? { unknown: true } : { amount: 0 };
}

function requestOf(data: JobData): Record<string, unknown> {
  const { account: _account, ...request } = data as unknown as Record<string, unknown>;
  return request;
}

function callContext(
  account: Account,
  name: JobName,
  data: JobData,
  jobId: string,
  attempt: number,
): CallContext {
  const fields = data as unknown as Record<string, string>;
  const [shop, order] =
    name === 'vvtool.send'
      ? [fields['shop_id'], fields['tid']]
      : name === 'damaijia.delivery'
        ? [fields['seller_nick'], fields['order_no']]
        : [fields['ownerId'], fields['orderSns']];
  return {
    account: account.id,
    provider: account.provider as Provider,
    operation: name,
    shop: shop ?? '',
    order: order ?? '',
    jobId,
    attempt,
  };
}
