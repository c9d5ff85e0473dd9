import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Account, Provider } from '../config/index.js';
import {
  type AccountLookup,
  idempotencyKey,
  type JobData,
  type JobName,
  validateJobData,
} from '../jobs/index.js';
import { limiterKeys, outboxKey, queueKeys, type WorkQueueName } from '../keys.js';
import { type CallContext, type Ledger, LedgerError, type Settlement } from '../ledger/index.js';
import {
  type AccountLimiter,
  type GateAnswer,
  type GateRequest,
  type GrantId,
  RedisClock,
} from '../limiter/index.js';
import type { Logger } from '../log.js';
import { classify } from '../outcomes/index.js';
import type { DoneResult, Outcome } from '../outcomes/types.js';
import type { OperationRequest, Upstreams } from '../upstreams/index.js';
import type { UpstreamReply } from '../upstreams/types.js';
import { atWire } from '../upstreams/wire-check.js';
import type { DeadLetters } from './dead-letter.js';
import { type DeadInfo, deadMarker, doneMarker, parseMarker } from './markers.js';
import type { PipelineObserver } from './observer.js';

/** What a completed job returns (BullMQ returnvalue). */
export interface JobResult {
  readonly result: DoneResult;
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
  /** The upstream client's timeout: a call is surely over this long (plus slack) after its slot. */
  readonly upstreamTimeoutMs: number;
  /** Waits between tries of the bookkeeping after a call (tests shorten them). */
  readonly bookkeepingDelaysMs?: readonly number[];
}

/** A parked job comes back this long before its slot, to be picked up and waiting in time. */
const PARK_LEAD_MS = 300;
/** A job of a held account rechecks this often even if no resume promotes it (a safety net). */
const HOLD_RECHECK_MS = 300_000;
/** A job naming an account this process does not know (a rolling deploy adding it) looks again this often. */
const UNKNOWN_ACCOUNT_RECHECK_MS = 60_000;
/** Past the upstream timeout: how much longer a call may be on its way or being answered. */
const CALL_SLACK_MS = 2_000;
/** Bookkeeping after a call is tried again after these waits, never by calling again (~7 s in all). */
const BOOKKEEPING_DELAYS_MS = [100, 200, 400, 800, 1_600, 2_000, 2_000];
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A retryable outcome: BullMQ retries it with our backoff. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

/** One run of one job: what every step needs, derived once. */
interface Run {
  readonly job: Job;
  readonly token: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly jobId: string;
  readonly queue: WorkQueueName;
  readonly name: JobName;
  readonly data: JobData;
  readonly account: Account;
  /** The ledger's call context of this run (its attempt is BullMQ's activation count). */
  readonly ctx: CallContext;
  readonly keys: {
    readonly prefix: string;
    /** The job id's marker, and the shipment key's (the same key unless the id is not the key). */
    readonly marker: string;
    readonly shipMarker: string;
    /** One live call per shipment, whoever runs it (see the gate). */
    readonly live: string;
  };
  readonly log: Logger;
  readonly started: number;
  /**
   * The slot this run's call leaves in, once granted and reached in time, and performance.now() of
   * the check that found it in time (the wire is timed from it).
   */
  leaving: { readonly grant: Extract<GateAnswer, { kind: 'grant' }>; readonly checkedAt: number } | undefined;
  /** This run's last grant, when its call was not sent: the next gate call releases it. */
  unsent: GrantId | undefined;
}

/** What the answer means for the job, decided before the settle so the settle can record it. */
type Decision =
  | {
      readonly kind: 'done';
      readonly result: DoneResult;
      readonly code: number | null;
      readonly charge: number;
      /** False when the answer could not say what it cost (the ledger has it as unknown). */
      readonly chargeKnown: boolean;
    }
  | { readonly kind: 'retry'; readonly message: string }
  | { readonly kind: 'dead'; readonly info: DeadInfo }
  | { readonly kind: 'hold'; readonly outcome: Outcome };

/**
 * The work of one job, in steps: admit (validate, derive keys) → pass the gate → call → decide →
 * settle → act on the decision. The one rule across them: once a call has been sent, nothing after
 * it leads to another call in the same run; bookkeeping that fails is tried again, not the call.
 */
export function createProcessor(
  deps: ProcessorDeps,
): (job: Job, token?: string, signal?: AbortSignal) => Promise<JobResult> {
  const processor = new JobProcessor(deps);
  return (job, token, signal) => processor.runJob(job, token, signal);
}

/** The processor's steps, one method each; one instance runs every job of its worker. */
class JobProcessor {
  readonly #deps: ProcessorDeps;
  readonly #lookup: AccountLookup;
  readonly #delays: readonly number[];

  constructor(deps: ProcessorDeps) {
    this.#deps = deps;
    this.#lookup = { get: (id) => deps.accounts.get(id) };
    this.#delays = deps.bookkeepingDelaysMs ?? BOOKKEEPING_DELAYS_MS;
  }

  async runJob(job: Job, token?: string, signal?: AbortSignal): Promise<JobResult> {
    this.#deps.observer?.taken?.({ queue: this.#deps.queue });
    const run = await this.#admit(job, token, signal);
    for (let again = false; ; again = true) {
      const finished = await this.#passGate(run, again);
      if (finished) return finished;
      const reply = await this.#send(run);
      // Too late at the wire: nothing left, nothing recorded; the job takes another slot.
      if (reply === undefined) continue;
      const outcome = classify(run.account.provider, reply, run.name);
      const decision = decide(run, reply, outcome);
      await this.#settle(run, reply, outcome, decision);
      return this.#act(run, decision);
    }
  }

  /** Validates what the queue holds and derives the run. A job that can never run is buried. */
  async #admit(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<Run> {
    const { accounts, prefix, queue } = this.#deps;
    const jobId = String(job.id);
    const named = (job.data as { account?: unknown } | null)?.account;
    if (typeof named === 'string' && ACCOUNT_ID.test(named) && !accounts.has(named)) {
      return this.#parkUnknownAccount(job, token, named);
    }
    const checked = validateJobData(job.name as JobName, job.data, this.#lookup);
    if (!checked.ok) {
      return this.#buryInvalid(
        job,
        checked.issues.map((issue) => `${issue.path} ${issue.message}`).join('; '),
      );
    }
    const { data, name } = checked.job;
    const account = accounts.get(data.account)!;
    // The shipment key from the data: a job whose id is not its key (a foreign producer, an edit on
    // the dashboard, a redrive patch of a key field) still meets its shipment's markers.
    const shipKey = idempotencyKey(name, data) ?? jobId;
    const log = this.#deps.log.child({ jobId, account: account.id, name, attempt: job.attemptsStarted });
    if (shipKey !== jobId) log.warn({ shipKey }, 'job id is not its shipment key; both are checked');
    return {
      job,
      token,
      signal,
      jobId,
      queue,
      name,
      data,
      account,
      ctx: callContext(account, name, data, jobId, job.attemptsStarted),
      keys: {
        prefix,
        marker: queueKeys.marker(prefix, jobId),
        shipMarker: queueKeys.marker(prefix, shipKey),
        live: queueKeys.liveCall(prefix, shipKey),
      },
      log,
      started: performance.now(),
      leaving: undefined,
      unsent: undefined,
    };
  }

  /**
   * A job naming an account this process does not know. Perhaps a rolling deploy: another process
   * knows the account already. Wait without spending an attempt; an alert on the metric tells a
   * person if it never comes.
   */
  async #parkUnknownAccount(job: Job, token: string | undefined, account: string): Promise<never> {
    this.#deps.observer?.unknownAccount?.({ account });
    this.#deps.log.error(
      { jobId: String(job.id), account },
      'job names an account this process does not know; parked',
    );
    await job.moveToDelayed(Date.now() + UNKNOWN_ACCOUNT_RECHECK_MS, token);
    throw new DelayedError(`account ${account} is not configured in this process`);
  }

  /** A job whose data can never run, buried with what is wrong with it. */
  async #buryInvalid(job: Job, message: string): Promise<never> {
    const info = {
      reason: `invalid job: ${message}`,
      code: null,
      message,
      attemptsMade: job.attemptsMade + 1,
    };
    // No call was made: nothing to settle; the marker and the dead-letter entry go in one step.
    await this.#deps.deadLetters.bury(job, this.#deps.queue, { ...info, failedAt: Date.now() });
    throw new UnrecoverableError(info.reason);
  }

  /**
   * Asks the account's gate until it grants a slot this run reaches in time, and waits for it.
   * Returns a result when the job turns out finished; throws to park the job (its turn, a held
   * account, another run's call in flight) or to stop (lock lost, run aborted). On return the
   * in-flight mark and the live call of this run exist, and the call may leave.
   */
  async #passGate(run: Run, missedAtWire: boolean): Promise<JobResult | undefined> {
    const { account, job } = run;
    const { observer } = this.#deps;
    let again = missedAtWire;
    // The in-flight mark of this run, once written: a missed slot keeps it for the next grant.
    let marked = missedAtWire;
    for (;;) {
      if (run.signal?.aborted) {
        if (marked) await this.#unmark(run);
        throw new Error(`job ${run.jobId}: processing aborted (${String(run.signal.reason)})`);
      }
      const answer = await this.#deps.limiter.acquire(this.#gateRequest(run, { again, marked }));
      run.unsent = undefined;
      if (answer.kind === 'grant') marked = true;
      else if (marked) {
        await this.#unmark(run);
        marked = false;
      }
      switch (answer.kind) {
        case 'finished':
          return this.#finishFromMarker(job, answer.marker);
        case 'lost':
          // Another worker took the job over (this one stalled past its lock): it is theirs now.
          throw new Error(`job ${run.jobId}: lock lost to another worker; not calling`);
        case 'stale':
          await this.#recoverStaleCall(run, answer.callId);
          continue;
        case 'busy':
          // Another run's call of this shipment may still be in flight: come back when it is surely over.
          observer?.parked?.({ account: account.id, why: 'busy' });
          await job.moveToDelayed(Math.max(Date.now(), answer.deadline) + PARK_LEAD_MS, run.token);
          throw new DelayedError(`job ${run.jobId}: another run's call may be in flight`);
        case 'held':
          return this.#parkHeld(run);
        case 'park': {
          observer?.parked?.({ account: account.id, why: 'limit' });
          const wait = Math.max(0, answer.localSlot - RedisClock.localNow() - PARK_LEAD_MS);
          await job.moveToDelayed(Date.now() + wait, run.token);
          throw new DelayedError(`waiting for account ${account.id}'s turn`);
        }
        case 'grant':
          if (await this.#reachedInTime(run, answer)) return undefined;
          // Too busy to send on time (or aborted): take another reserved slot; the in-flight mark stays.
          again = true;
      }
    }
  }

  /** What the gate is asked for this run: the keys it checks and what a grant writes. */
  #gateRequest(run: Run, state: { again: boolean; marked: boolean }): GateRequest {
    const { ledger, prefix, queue } = this.#deps;
    const jobKey = queueKeys.job(prefix, queue, run.jobId);
    return {
      account: run.account,
      jobId: run.jobId,
      parkedMember: `${queue}/${run.jobId}`,
      markerKey: run.keys.marker,
      shipMarkerKey: run.keys.shipMarker,
      jobKey,
      again: state.again,
      released: run.unsent,
      // The in-flight mark must exist before the request leaves: a grant writes it in the same step,
      // so no round trip of its own sits between the grant and the send.
      onGrant: state.marked
        ? undefined
        : {
            key: ledger.inflightKey(),
            field: ledger.inflightField(run.ctx),
            value: ledger.inflightValue(run.ctx, Date.now()),
          },
      call: {
        liveKey: run.keys.live,
        id: ledger.inflightField(run.ctx),
        overAfterMs: this.#deps.upstreamTimeoutMs + CALL_SLACK_MS,
      },
      ...(run.token === undefined
        ? {}
        : { lock: { key: queueKeys.lock(prefix, queue, run.jobId), token: run.token } }),
    };
  }

  /** Waits for a granted slot; true when the call may leave (not late, not aborted). */
  async #reachedInTime(run: Run, grant: Extract<GateAnswer, { kind: 'grant' }>): Promise<boolean> {
    const { limiter, observer } = this.#deps;
    const waitStart = performance.now();
    await limiter.waitForSlot(grant);
    observer?.limiterWait?.({
      account: run.account.id,
      seconds: (performance.now() - waitStart) / 1000,
    });
    if (run.signal?.aborted) return false;
    const late = limiter.lateness(grant);
    if (late <= grant.allowedLateMs) {
      run.leaving = { grant, checkedAt: performance.now() };
      return true;
    }
    // Sending now could crowd the upstream's second: the slot is given up.
    run.unsent = grant;
    run.log.debug({ lateMs: late }, 'slot missed, queueing again');
    observer?.slotMissed?.({ account: run.account.id });
    return false;
  }

  /** Ends this run's unsent call: its in-flight mark and live call go, recording nothing. */
  async #unmark(run: Run): Promise<void> {
    await this.#deps.ledger.settle(run.ctx, { amount: 0 }, Date.now(), { liveKey: run.keys.live });
  }

  /** An earlier run's call that never settled and is surely over: a charge unknown, once. */
  async #recoverStaleCall(run: Run, callId: string): Promise<void> {
    const entry = await this.#deps.ledger.recoverCall(callId, run.keys.live);
    if (!entry) return;
    this.#deps.observer?.unknownCharge?.({ account: run.account.id });
    run.log.warn({ entry: entry.id }, 'call left in flight by an earlier run: charge unknown');
  }

  /** The job waits with the rest of its held account's jobs, spending no attempt; resume promotes it. */
  async #parkHeld(run: Run): Promise<never> {
    const { limiter, observer, prefix, queue, redis } = this.#deps;
    observer?.parked?.({ account: run.account.id, why: 'held' });
    await redis.sadd(limiterKeys.parked(prefix, run.account.id), `${queue}/${run.jobId}`);
    await run.job.moveToDelayed(Date.now() + HOLD_RECHECK_MS, run.token);
    // Resumed between the hold and the park: the resume could not promote us, so we do. A resume
    // that got there first has promoted the job already, and BullMQ refuses a second promote.
    if (!(await limiter.isHeld(run.account.id)) && (await run.job.isDelayed())) {
      await run.job.promote().catch((err: unknown) => run.log.debug({ err }, 'promoted by the resume first'));
    }
    throw new DelayedError(`account ${run.account.id} is held`);
  }

  /**
   * Calls the upstream, its slot checked once more where the request meets its socket (see
   * upstreams/wire-check.ts). Undefined when that check held it back: nothing was sent, and the job
   * asks for another slot (its in-flight mark and live call stay for that slot's grant).
   */
  async #send(run: Run): Promise<UpstreamReply | undefined> {
    const { limiter } = this.#deps;
    if (!run.leaving) throw new Error(`job ${run.jobId}: no slot to send in`);
    const { grant, checkedAt } = run.leaving;
    const inTime = () => {
      const late = limiter.lateness(grant);
      if (late > grant.allowedLateMs) return false;
      // How late it left, so that the window after it is widened by that and no more: told after the
      // request's bytes are handed to its socket (end() runs right after this check and may leave
      // the write to a tick of its own; a tick queued from this one runs after that).
      process.nextTick(() => process.nextTick(() => this.#reportSent(run, grant, late)));
      return true;
    };
    const reply = await atWire({ check: inTime, observer: limiter.wire, checkedAt }, () =>
      this.#callUpstream(run),
    );
    if (reply.answered || reply.failure !== 'late') return reply;
    run.unsent = grant;
    run.log.debug(
      { lateMs: limiter.lateness(grant), sinceCheckMs: performance.now() - checkedAt },
      'slot missed at the wire, queueing again',
    );
    this.#deps.observer?.slotMissed?.({ account: run.account.id });
    return undefined;
  }

  /** Tells the gate how late a call left; if this fails, the gate keeps counting it as late as allowed. */
  #reportSent(run: Run, grant: GrantId, lateMs: number): void {
    this.#deps.limiter
      .sent(run.account.id, grant, lateMs)
      .catch((err: unknown) => run.log.debug({ err }, 'could not report how late the call left'));
  }

  async #callUpstream(run: Run): Promise<UpstreamReply> {
    const callStart = performance.now();
    const reply = await this.#deps.upstreams.call(
      run.account,
      run.name,
      requestOf(run.data) as unknown as OperationRequest[typeof run.name],
    );
    // A call held back at the socket never reached the upstream: not a call to time.
    if (reply.answered || reply.failure !== 'late') {
      this.#deps.observer?.upstreamCall?.({
        provider: run.account.provider,
        operation: run.name,
        seconds: (performance.now() - callStart) / 1000,
      });
    }
    return reply;
  }

  /**
   * Records the call: its charge (or unknown), the end of its in-flight mark and live-call key, and a
   * done or dead job's marker, in one script. Tried again locally if Redis fails; never by calling.
   */
  async #settle(run: Run, reply: UpstreamReply, outcome: Outcome, decision: Decision): Promise<void> {
    const { ledger, prefix } = this.#deps;
    const alsoSet = this.#finishMarker(run, decision);
    let settlement = settlementOf(reply);
    const entry = await this.#bookkeeping(run, 'settle the call', async () => {
      try {
        return await ledger.settle(run.ctx, settlement, Date.now(), {
          alsoSet,
          liveKey: run.keys.live,
          event: decision.kind === 'done' ? completedEvent(run, decision) : undefined,
          // A finished job leaves its account's backlog with its marker.
          alsoRemove:
            alsoSet === undefined
              ? undefined
              : { key: queueKeys.backlog(prefix, run.account.id), member: run.jobId },
        });
      } catch (err) {
        // An answer whose charge cannot be recorded as stated is recorded as unknown, not dropped.
        if (err instanceof LedgerError && err.kind === 'bad_settlement') settlement = { unknown: true };
        throw err;
      }
    });
    if (entry?.status === 'unknown') this.#deps.observer?.unknownCharge?.({ account: run.account.id });
    this.#report(run, outcome, decision, settlement);
  }

  /** The marker the settle sets: done on the job id and the shipment key, dead on the job id; else none. */
  #finishMarker(run: Run, decision: Decision) {
    const { keys } = run;
    if (decision.kind === 'done') {
      return {
        keys: keys.shipMarker === keys.marker ? [keys.marker] : [keys.marker, keys.shipMarker],
        value: doneMarker(decision.result, decision.charge),
        ttlMs: this.#deps.idempotencyRetentionMs,
      };
    }
    if (decision.kind === 'dead')
      return { keys: [keys.marker], value: deadMarker(decision.info), ttlMs: null };
    return undefined;
  }

  /** The settled call's outcome, to the observer and the log. */
  #report(run: Run, outcome: Outcome, decision: Decision, settlement: Settlement): void {
    this.#deps.observer?.outcome?.({
      queue: this.#deps.queue,
      name: run.name,
      provider: run.account.provider,
      account: run.account.id,
      code: outcome.code,
      outcome: outcome.outcome,
      charge: decision.kind === 'done' ? decision.charge : 0,
    });
    run.log.info(
      {
        provider: run.account.provider,
        code: outcome.code,
        outcome: outcome.outcome,
        charge: 'unknown' in settlement ? null : settlement.amount,
        durationMs: Math.round(performance.now() - run.started),
        ...(outcome.outcome === 'done' ? {} : { reason: outcome.reason }),
      },
      'job outcome',
    );
  }

  async #act(run: Run, decision: Decision): Promise<JobResult> {
    switch (decision.kind) {
      case 'done':
        return { result: decision.result, code: decision.code, charge: decision.charge };
      case 'retry':
        throw new RetryableError(decision.message);
      case 'dead':
        await this.#bookkeeping(run, 'move the job to the dead-letter queue', () =>
          this.#deps.deadLetters.finishBury(run.job, this.#deps.queue, decision.info),
        );
        throw new UnrecoverableError(decision.info.reason);
      case 'hold': {
        const { outcome } = decision;
        const newly = await this.#bookkeeping(run, 'hold the account', () =>
          this.#deps.limiter.hold(run.account.id, {
            reason: outcome.reason,
            code: outcome.code,
            message: outcome.message,
          }),
        );
        if (newly) run.log.warn({ code: outcome.code, reason: outcome.reason }, 'account held');
        // The call did not count as an attempt; the next run is a new activation with its own call id.
        return this.#parkHeld(run);
      }
    }
  }

  /**
   * Tries a step that follows a call until it succeeds or the tries run out, then throws. The caller
   * must be safe to rerun from the gate: a settled job's marker ends it there, and an unsettled call's
   * live-call key keeps any rerun from calling until the call is surely over (then recorded unknown).
   */
  async #bookkeeping<T>(run: Run, what: string, step: () => Promise<T>): Promise<T> {
    const delays = this.#delays;
    for (let tried = 0; ; tried++) {
      try {
        return await step();
      } catch (err) {
        if (tried >= delays.length) {
          run.log.error({ err }, `could not ${what} after ${tried + 1} tries`);
          throw err;
        }
        run.log.warn({ err, tried: tried + 1 }, `could not ${what}; trying again`);
        await new Promise((resolve) => setTimeout(resolve, delays[tried]));
      }
    }
  }

  async #finishFromMarker(job: Job, value: string): Promise<JobResult> {
    const marker = parseMarker(value);
    if (marker?.kind === 'done') {
      return { result: marker.result, code: 0, charge: marker.charge, replayed: true };
    }
    if (marker?.kind === 'dead') {
      // Died in an earlier run that stopped before the move finished: finish it, call nobody.
      const { kind: _kind, ...info } = marker;
      await this.#deps.deadLetters.finishBury(job, this.#deps.queue, info);
      throw new UnrecoverableError(info.reason);
    }
    throw new Error(`unexpected marker for job ${String(job.id)}`);
  }
}

/** The outcome of the answer, and what it makes of the job: done, retry, dead (now or given up), hold. */
function decide(run: Run, reply: UpstreamReply, outcome: Outcome): Decision {
  const attemptsMade = run.job.attemptsMade + 1;
  switch (outcome.outcome) {
    case 'done':
      return {
        kind: 'done',
        result: outcome.result ?? 'shipped',
        code: outcome.code,
        charge: reply.answered && reply.chargeKnown ? reply.charge : 0,
        chargeKnown: reply.answered && reply.chargeKnown,
      };
    case 'retry': {
      const attempts = run.job.opts.attempts ?? 1;
      if (attemptsMade >= attempts) {
        const reason = `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${outcome.reason}`;
        return { kind: 'dead', info: { ...deadInfo(outcome, attemptsMade), reason } };
      }
      return {
        kind: 'retry',
        message: `${outcome.reason}${outcome.message ? ` (${outcome.message})` : ''}`,
      };
    }
    case 'dead':
      return { kind: 'dead', info: deadInfo(outcome, attemptsMade) };
    case 'hold':
      return { kind: 'hold', outcome };
  }
}

/** The job.completed event, recorded by the settle that completes the job. */
function completedEvent(run: Run, done: Extract<Decision, { kind: 'done' }>) {
  return {
    key: outboxKey(run.keys.prefix),
    type: 'job.completed',
    data: {
      id: run.jobId,
      queue: run.queue,
      name: run.name,
      account: run.account.id,
      result: done.result,
      charge: done.chargeKnown ? done.charge : null,
    },
  };
}

function deadInfo(outcome: Outcome, attemptsMade: number): DeadInfo {
  return {
    reason: outcome.reason,
    code: outcome.code,
    message: outcome.message,
    attemptsMade,
    failedAt: Date.now(),
  };
}

/**
 * An answer that says its charge is known (it charged what it says); one that cannot say it (a 5xx
 * such as 500, 502, 504, an unreadable body or charge) and no answer after sending may have charged.
 */
function settlementOf(reply: UpstreamReply): Settlement {
  if (reply.answered) return reply.chargeKnown ? { amount: reply.charge } : { unknown: true };
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
