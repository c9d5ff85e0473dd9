/**
 * The demo's traffic and the steps a person would take while it runs: send the jobs through the HTTP
 * API, watch /metrics, resume the account that ran out of coupons once it is held, redrive the dead
 * delivery with a corrected waybill, and enqueue a shipment again to see `duplicate: true`. Every wait
 * is bounded by the deadline. Nothing runs at import.
 */
import type { SandboxControl } from '../src/sandbox/index.js';
import type { EnqueueAnswer, ServiceApi } from './api.js';
import type { SentJob } from './checks.js';
import type { BatchJob, DemoPlan, PlannedJob } from './plan.js';
import { type ProgressWriter, progressLine } from './progress.js';
import { parseMetrics, type ServiceCounts, serviceCounts } from './prometheus.js';

export interface ScenarioDeps {
  readonly api: ServiceApi;
  readonly sandbox: SandboxControl;
  readonly plan: DemoPlan;
  readonly progress: ProgressWriter;
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly started: number;
}

export interface HeldStep {
  readonly account: string;
  readonly reason: string;
  readonly heldMs: number;
  readonly released: number | null;
}

export interface ScenarioResult {
  readonly sent: SentJob[];
  readonly held: HeldStep | null;
  readonly redrive: { readonly id: string; readonly patch: Readonly<Record<string, string>> } | null;
  readonly duplicate: { readonly what: string; readonly answer: EnqueueAnswer } | null;
  readonly counts: ServiceCounts;
  /** Why the run stopped before the traffic settled (deadline, Ctrl-C, an unexpected hold), or null. */
  readonly stopped: string | null;
  /** Scripted steps that did not go as planned. */
  readonly problems: string[];
}

const BATCH_SIZE = 100;
const TICK_MS = 500;
/** How long the held account stays held before the demo resumes it: long enough to be seen. */
const SHOW_HELD_MS = 2_000;

export async function runScenario(deps: ScenarioDeps): Promise<ScenarioResult> {
  const { api, plan, progress } = deps;
  const sent: SentJob[] = [];
  const problems: string[] = [];
  const elapsed = () => Date.now() - deps.started;
  const say = (line: string) => progress.event(`[${(elapsed() / 1000).toFixed(1).padStart(5)} s] ${line}`);

  for (let from = 0; from < plan.jobs.length; from += BATCH_SIZE) {
    const chunk = plan.jobs.slice(from, from + BATCH_SIZE);
    const answers = await api.batch(chunk.map((planned) => planned.job));
    chunk.forEach((planned, i) => {
      sent.push({ planned, id: answers[i]!.id });
    });
  }
  say(`sent ${sent.length} jobs with POST /v1/batch (${Math.ceil(plan.jobs.length / BATCH_SIZE)} batches)`);

  const held = { seenAt: 0, reason: '', resumedAt: 0, released: null as number | null };
  const clash = { id: '', redriven: false };
  let duplicate: ScenarioResult['duplicate'] = null;
  let counts = serviceCounts([]);
  let stopped: string | null = null;

  const heldStep = async () => {
    if (held.resumedAt !== 0) return;
    const account = plan.held.account;
    if (!counts.held.includes(account)) return;
    if (held.seenAt === 0) {
      held.seenAt = Date.now();
      const view = (await api.accounts()).find((a) => a.id === account);
      held.reason = view?.reason ?? 'held';
      say(`account ${account} is held: ${held.reason}; its jobs wait without using attempts`);
      return;
    }
    if (Date.now() - held.seenAt < SHOW_HELD_MS) return;
    await deps.sandbox.setBalance(account, plan.held.topUp);
    const answer = await api.resume(account);
    held.resumedAt = Date.now();
    held.released = typeof answer.released === 'number' ? answer.released : null;
    const released = held.released === null ? '' : `: ${held.released} parked jobs released`;
    say(
      `topped up ${account} at the sandbox; POST /v1/accounts/${account}/resume → ${answer.state}${released}`,
    );
  };

  const clashStep = async () => {
    if (clash.redriven) return;
    if (clash.id === '') {
      const owner = sent[plan.clash.owner]!;
      if ((await api.job(owner.id))?.state !== 'completed') return;
      const answer = await api.ship(withoutType(plan.clash.job.job));
      clash.id = answer.id;
      sent.push({ planned: plan.clash.job, id: answer.id });
      say(
        `sent order ${plan.clash.job.orderKey} with waybill ${plan.clash.job.job['waybill_no']}, ` +
          `which order ${owner.planned.orderKey} already used (a typo): it will be refused`,
      );
      return;
    }
    const job = await api.job(clash.id);
    if (job?.state === 'completed') {
      problems.push(`order ${plan.clash.job.orderKey} shipped with a waybill another order had used`);
      clash.redriven = true;
    }
    if (job?.state !== 'dead') return;
    say(`dead: ${clash.id}: ${job.lastError ?? 'no reason'}`);
    const answer = await api.redrive([clash.id], plan.clash.patch);
    clash.redriven = true;
    say(
      `POST /v1/dead-letter/redrive with patch ${JSON.stringify(plan.clash.patch)} → redriven ${answer.redriven}`,
    );
  };

  const duplicateStep = async () => {
    if (duplicate !== null) return;
    const original = sent[plan.duplicate]!;
    if ((await api.job(original.id))?.state !== 'completed') return;
    const answer = await api.ship(withoutType(original.planned.job));
    const what = `POST /v1/ship for ${original.planned.job.account} ${describeOrder(original.planned)}`;
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
    counts = serviceCounts(parseMetrics(await api.metrics()));
    const unexpected = counts.held.filter((account) => account !== plan.held.account || held.resumedAt !== 0);
    if (unexpected.length > 0) {
      const views = await api.accounts();
      const reasons = unexpected.map((id) => `${id} (${views.find((a) => a.id === id)?.reason ?? 'held'})`);
      stopped = `an account was held that the demo did not plan to hold: ${reasons.join(', ')}`;
      break;
    }
    await heldStep();
    await clashStep();
    await duplicateStep();
    progress.update(progressLine(elapsed(), sent.length, counts));

    const pending = counts.waiting + counts.active + counts.delayed + counts.failed;
    const settled = pending === 0 && counts.completed + counts.dead >= sent.length;
    if (settled && clash.redriven && duplicate !== null) {
      if (held.resumedAt === 0) problems.push(`account ${plan.held.account} was never held`);
      break;
    }
    if (Date.now() >= deps.deadline) {
      stopped =
        `the traffic did not settle in time: ${pending} jobs still pending ` +
        `(waiting ${counts.waiting}, active ${counts.active}, delayed ${counts.delayed})`;
      break;
    }
    await pause(TICK_MS, deps.signal);
  }
  progress.update(progressLine(elapsed(), sent.length, counts));
  progress.finish();

  return {
    sent,
    held:
      held.seenAt === 0
        ? null
        : {
            account: plan.held.account,
            reason: held.reason,
            heldMs: (held.resumedAt || Date.now()) - held.seenAt,
            released: held.released,
          },
    redrive: clash.redriven && clash.id !== '' ? { id: clash.id, patch: plan.clash.patch } : null,
    duplicate,
    counts,
    stopped,
    problems,
  };
}

function withoutType(job: BatchJob): Omit<BatchJob, 'type'> {
  const { type: _type, ...rest } = job;
  return rest as Omit<BatchJob, 'type'>;
}

function describeOrder(planned: PlannedJob): string {
  return planned.provider === 'vvtool' ? `tid ${planned.orderKey}` : `order ${planned.orderKey}`;
}

/** The progress tick; cut short by Ctrl-C. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
