/**
 * The demo's traffic and the steps a person would take while it runs: send the jobs through the HTTP
 * API, watch /metrics, resume the account that ran out of coupons once it is held, redrive the dead
 * delivery with a corrected waybill, and enqueue a shipment again to see `duplicate: true`. Every wait
 * is bounded by the deadline. Nothing runs at import.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { EnqueueResult, ShipRequest } from '../src/client/index.js';
import type { SandboxControl } from '../src/sandbox/index.js';
import { parseExposition, type Sample, sumOf } from '../support/exposition.js';
import type { DemoPlan, PlannedJob } from './plan.js';
import type { Service } from './stack.js';

export interface SentJob {
  readonly planned: PlannedJob;
  /** The id the API answered (the idempotency key, or BullMQ's id for a sync). */
  readonly id: string;
}

export interface ScenarioResult {
  readonly sent: SentJob[];
  readonly held: {
    readonly reason: string;
    readonly heldMs: number;
    readonly released: number | null;
  } | null;
  readonly redriven: string | null;
  readonly duplicate: { readonly what: string; readonly answer: EnqueueResult } | null;
  readonly counts: Counts;
  /** Why the run stopped before the traffic settled (deadline, Ctrl-C, an unplanned hold), or null. */
  readonly stopped: string | null;
  /** Scripted steps that did not go as planned. */
  readonly problems: string[];
}

export interface Progress {
  /** A line that stays (printed above the progress line). */
  event(line: string): void;
  /** The current status: rewritten in place on a terminal, at most every 2 s otherwise. */
  update(status: string): void;
  finish(): void;
}

const BATCH_SIZE = 100;
const TICK_MS = 500;
/** How long the held account stays held before the demo resumes it: long enough to be seen. */
const SHOW_HELD_MS = 2_000;

export async function runScenario(deps: {
  readonly service: Service;
  readonly sandbox: SandboxControl;
  readonly plan: DemoPlan;
  readonly progress: Progress;
  readonly started: number;
  readonly deadline: number;
  readonly signal: AbortSignal;
}): Promise<ScenarioResult> {
  const { service, plan, progress } = deps;
  const elapsed = () => `[${((Date.now() - deps.started) / 1000).toFixed(1).padStart(5)} s]`;
  const say = (line: string) => progress.event(`${elapsed()} ${line}`);
  const sent: SentJob[] = [];
  const problems: string[] = [];
  for (let from = 0; from < plan.jobs.length; from += BATCH_SIZE) {
    const chunk = plan.jobs.slice(from, from + BATCH_SIZE);
    const answers = await service.client.batch(chunk.map((planned) => planned.job));
    for (const [i, planned] of chunk.entries()) sent.push({ planned, id: answers[i]!.id });
  }
  say(`sent ${sent.length} jobs with POST /v1/batch (${Math.ceil(sent.length / BATCH_SIZE)} batches)`);

  const completed = async (id: string) => (await service.client.getJob(id))?.state === 'completed';
  const held = { seenAt: 0, reason: '', resumedAt: 0, released: null as number | null };
  const clash = { id: '', redriven: null as string | null };
  let duplicate: ScenarioResult['duplicate'] = null;
  let counts = serviceCounts([]);
  let stopped: string | null = null;

  // dmj-2 runs out of coupons and is held: show it for a moment, top it up at the sandbox, resume it.
  const resumeHeld = async () => {
    const account = plan.held.account;
    if (held.resumedAt !== 0 || !counts.held.includes(account)) return;
    if (held.seenAt === 0) {
      held.seenAt = Date.now();
      held.reason = (await service.accounts()).find((a) => a.id === account)?.reason ?? 'held';
      say(`account ${account} is held: ${held.reason}; its jobs wait without using attempts`);
    } else if (Date.now() - held.seenAt >= SHOW_HELD_MS) {
      await deps.sandbox.setBalance(account, plan.held.topUp);
      const answer = await service.post<{ state: string; released?: number }>(
        `/v1/accounts/${account}/resume`,
      );
      held.resumedAt = Date.now();
      held.released = answer.released ?? null;
      const released = held.released === null ? '' : `: ${held.released} parked jobs released`;
      say(
        `topped up ${account} at the sandbox; POST /v1/accounts/${account}/resume → ${answer.state}${released}`,
      );
    }
  };

  // Once its owner shipped, a delivery reusing its waybill (a typo): it dies (217), and is redriven.
  const redriveClash = async () => {
    if (clash.redriven !== null) return;
    if (clash.id === '') {
      const owner = sent[plan.clash.owner]!;
      if (!(await completed(owner.id))) return;
      clash.id = (await service.client.ship(shipRequest(plan.clash.job))).id;
      sent.push({ planned: plan.clash.job, id: clash.id });
      say(
        `sent order ${plan.clash.job.orderKey} with waybill ${waybill(plan.clash.job)}, ` +
          `which order ${owner.planned.orderKey} already used (a typo): it will be refused`,
      );
      return;
    }
    const job = await service.client.getJob(clash.id);
    if (job?.state === 'completed') {
      problems.push(`order ${plan.clash.job.orderKey} shipped with a waybill another order had used`);
      clash.redriven = clash.id;
    }
    if (job?.state !== 'dead') return;
    say(`dead: ${clash.id}: ${job.lastError ?? 'no reason'}`);
    const body = { ids: [clash.id], patch: plan.clash.patch };
    const answer = await service.post<{ redriven: number }>('/v1/dead-letter/redrive', body);
    clash.redriven = clash.id;
    say(
      `POST /v1/dead-letter/redrive with patch ${JSON.stringify(plan.clash.patch)} → redriven ${answer.redriven}`,
    );
  };

  // A shipment that completed, sent again: the same job answers, and the upstream gets no second call.
  const sendDuplicate = async () => {
    const original = sent[plan.duplicate]!;
    if (duplicate !== null || !(await completed(original.id))) return;
    const answer = await service.client.ship(shipRequest(original.planned));
    const what = `POST /v1/ship for ${original.planned.job.account} tid ${original.planned.orderKey}`;
    duplicate = { what, answer };
    if (!answer.duplicate || answer.id !== original.id)
      problems.push(`${what} again was not answered as a duplicate`);
    say(`${what} again → ${JSON.stringify(answer)}: no second call upstream`);
  };

  for (;;) {
    if (deps.signal.aborted) {
      stopped = 'interrupted';
      break;
    }
    counts = serviceCounts(parseExposition(await service.metrics(), { strict: false }));
    const unplanned = counts.held.filter((id) => id !== plan.held.account || held.resumedAt !== 0);
    if (unplanned.length > 0) {
      stopped = `an account was held that the demo did not plan to hold: ${unplanned.join(', ')}`;
      break;
    }
    await resumeHeld();
    await redriveClash();
    await sendDuplicate();
    progress.update(progressLine(elapsed(), sent.length, counts));
    const pending = counts.waiting + counts.active + counts.delayed + counts.failed;
    if (pending === 0 && counts.completed + counts.dead >= sent.length && clash.redriven && duplicate) {
      if (held.resumedAt === 0) problems.push(`account ${plan.held.account} was never held`);
      break;
    }
    if (Date.now() >= deps.deadline) {
      stopped = `the traffic did not settle in time: ${pending} jobs still pending (waiting ${counts.waiting}, active ${counts.active}, delayed ${counts.delayed})`;
      break;
    }
    // The progress tick; Ctrl-C cuts it short.
    await delay(TICK_MS, undefined, { signal: deps.signal }).catch(() => {});
  }
  progress.update(progressLine(elapsed(), sent.length, counts));
  progress.finish();
  const heldMs = (held.resumedAt || Date.now()) - held.seenAt;
  return {
    sent,
    held: held.seenAt === 0 ? null : { reason: held.reason, heldMs, released: held.released },
    redriven: clash.redriven,
    duplicate,
    counts,
    stopped,
    problems,
  };
}

function shipRequest(planned: PlannedJob): ShipRequest {
  const { type: _type, ...request } = planned.job;
  return request as ShipRequest;
}

const waybill = (planned: PlannedJob) => ('waybill_no' in planned.job ? planned.job.waybill_no : '');

/** What the progress line and the summary read from one scrape of /metrics. */
export interface Counts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  /** Failed jobs still in a work queue (the worker moves them to the dead-letter queue at once). */
  readonly failed: number;
  readonly dead: number;
  /** Upstream answers that asked for a retry, by code ("none" for a transport failure). */
  readonly retriesByCode: Readonly<Record<string, number>>;
  readonly held: readonly string[];
}

export function serviceCounts(samples: readonly Sample[]): Counts {
  const jobs = (state: string) =>
    sumOf(samples, 'fulfillment_queue_jobs', { queue: 'ship', state }) +
    sumOf(samples, 'fulfillment_queue_jobs', { queue: 'sync', state });
  const retriesByCode: Record<string, number> = {};
  for (const { name, labels, value } of samples) {
    if (name !== 'fulfillment_job_outcomes_total' || labels['outcome'] !== 'retry') continue;
    retriesByCode[labels['code'] ?? 'none'] = (retriesByCode[labels['code'] ?? 'none'] ?? 0) + value;
  }
  const held = samples.filter((s) => s.name === 'fulfillment_account_held' && s.value === 1);
  return {
    // BullMQ keeps prioritized jobs apart from waiting ones; both are waiting for a worker.
    waiting: jobs('waiting') + jobs('prioritized'),
    active: jobs('active'),
    delayed: jobs('delayed'),
    completed: jobs('completed'),
    failed: jobs('failed'),
    dead: sumOf(samples, 'fulfillment_dead_letter_jobs'),
    retriesByCode,
    held: held.map((s) => s.labels['account'] ?? '?').sort(),
  };
}

export const totalRetries = (counts: Counts) =>
  Object.values(counts.retriesByCode).reduce((a, b) => a + b, 0);

export function progressLine(elapsed: string, sent: number, c: Counts): string {
  const parts = [`sent ${sent}`, `done ${c.completed}`, `waiting ${c.waiting}`, `active ${c.active}`];
  parts.push(`delayed ${c.delayed}`, `dead ${c.dead}`, `retries ${totalRetries(c)}`);
  if (c.held.length > 0) parts.push(`held ${c.held.join(',')}`);
  return `${elapsed} ${parts.join(' · ')}`;
}

/** One line rewritten in place on a terminal; otherwise (a pipe, CI) a line every `everyMs`. */
export function progressWriter(
  out: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number },
  everyMs = 2_000,
  now: () => number = Date.now,
): Progress {
  const CLEAR_LINE = '\r\x1b[2K';
  let shown = '';
  let last = Number.NEGATIVE_INFINITY;
  if (out.isTTY) {
    const width = out.columns ?? 100;
    return {
      event: (line) => out.write(`${CLEAR_LINE}${line}\n${shown}`),
      update: (status) => {
        shown = status.slice(0, Math.max(20, width - 1));
        out.write(`${CLEAR_LINE}${shown}`);
      },
      finish: () => shown !== '' && out.write('\n'),
    };
  }
  return {
    event: (line) => out.write(`${line}\n`),
    update: (status) => {
      if (now() - last < everyMs) return;
      last = now();
      out.write(`${status}\n`);
    },
    finish: () => {},
  };
}
