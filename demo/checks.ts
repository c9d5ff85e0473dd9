/**
 * The invariants the demo proves at the end of every run; any that fails makes it exit non-zero.
 * Pure: it judges records the run collected (job states from the API, calls from the sandbox, the
 * ledger summary).
 */
import type { CallRecord } from '../src/sandbox/index.js';
import type { JobAnswer } from './api.js';
import type { AccountFigures } from './figures.js';
import type { PlannedJob } from './plan.js';

export interface SentJob {
  readonly planned: PlannedJob;
  /** The id the API answered (the idempotency key, or BullMQ's id for a sync). */
  readonly id: string;
}

export interface RunRecord {
  readonly sent: readonly SentJob[];
  /** GET /v1/jobs/:id of every sent id at the end (null: the service does not know it). */
  readonly final: ReadonlyMap<string, JobAnswer | null>;
  readonly calls: readonly CallRecord[];
  readonly figures: readonly AccountFigures[];
  /** Calls the sandbox refused for going over its rate (it records each). */
  readonly rateViolations: number;
  readonly ratePerSecond: number;
  readonly heldAtEnd: readonly string[];
  /** Ids in the dead-letter queue at the end. */
  readonly deadAtEnd: readonly string[];
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** How many problems a failed check lists before "and N more". */
const SHOW = 5;

export function checkInvariants(run: RunRecord): Check[] {
  return [
    jobsAccounted(run),
    shippedOnce(run),
    ledgerMatches(run),
    unknownRecorded(run),
    rateHeld(run),
    leftOver(run),
  ];
}

function jobsAccounted(run: RunRecord): Check {
  const wrong: string[] = [];
  for (const { planned, id } of run.sent) {
    const job = run.final.get(id) ?? null;
    const got =
      job === null
        ? 'unknown to the service'
        : job.state === 'completed'
          ? `completed (${job.result?.result ?? '?'})`
          : job.state;
    const ok =
      job !== null &&
      (planned.expect === 'dead'
        ? job.state === 'dead'
        : job.state === 'completed' && job.result?.result === planned.expect);
    if (!ok) wrong.push(`${id}: expected ${planned.expect}, got ${got}`);
  }
  return {
    name: 'no job lost: every job ended as planned',
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${run.sent.length} of ${run.sent.length}` : list(wrong),
  };
}

/** A shipment is committed when the upstream processed it and charged for it (code 0, charged > 0). */
function shippedOnce(run: RunRecord): Check {
  const committed = new Map<string, number>();
  for (const call of run.calls) {
    if (call.operation === 'damaijia.sync' || call.code !== 0 || call.charged <= 0 || call.orderKey === null)
      continue;
    const key = `${call.provider}/${call.orderKey}`;
    committed.set(key, (committed.get(key) ?? 0) + 1);
  }
  const wrong: string[] = [];
  for (const [key, count] of committed) if (count > 1) wrong.push(`${key} shipped ${count} times`);
  for (const { planned } of run.sent) {
    if (planned.operation === 'damaijia.sync' || planned.expect !== 'shipped') continue;
    const count = committed.get(`${planned.provider}/${planned.orderKey}`) ?? 0;
    if (count === 0) wrong.push(`${planned.provider}/${planned.orderKey} never shipped at the upstream`);
  }
  return {
    name: 'no order shipped twice (and every shipment made once)',
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${committed.size} orders shipped` : list(wrong),
  };
}

function ledgerMatches(run: RunRecord): Check {
  const wrong = run.figures
    .filter((f) => f.ledgerTotal !== f.chargedAnswered)
    .map(
      (f) => `${f.account}: ledger ${f.ledgerTotal}, sandbox charged ${f.chargedAnswered} on answered calls`,
    );
  const total = run.figures.reduce((sum, f) => sum + f.ledgerTotal, 0);
  return {
    name: "ledger equals the sandbox's charges on answered calls",
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${total} coupons on ${run.figures.length} accounts` : list(wrong),
  };
}

function unknownRecorded(run: RunRecord): Check {
  const wrong = run.figures
    .filter((f) => f.ledgerUnknown !== f.unanswered)
    .map(
      (f) =>
        `${f.account}: ${f.unanswered} calls without a readable charge, ${f.ledgerUnknown} unknown entries`,
    );
  const total = run.figures.reduce((sum, f) => sum + f.unanswered, 0);
  return {
    name: 'every call without a readable charge is in the ledger as unknown',
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${total} calls` : list(wrong),
  };
}

function rateHeld(run: RunRecord): Check {
  const wrong = run.figures
    .filter((f) => f.maxInSecond > run.ratePerSecond)
    .map((f) => `${f.account}: ${f.maxInSecond} calls in one sliding second`);
  if (run.rateViolations > 0) wrong.push(`the sandbox refused ${run.rateViolations} calls for the rate`);
  const max = Math.max(0, ...run.figures.map((f) => f.maxInSecond));
  return {
    name: `at most ${run.ratePerSecond} calls in any sliding second per account`,
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `highest ${max}` : list(wrong),
  };
}

function leftOver(run: RunRecord): Check {
  const expectedDead = new Set(run.sent.filter((s) => s.planned.expect === 'dead').map((s) => s.id));
  const wrong: string[] = run.heldAtEnd.map((account) => `account ${account} still held`);
  for (const id of run.deadAtEnd) if (!expectedDead.has(id)) wrong.push(`${id} unexpectedly dead`);
  for (const id of expectedDead)
    if (!run.deadAtEnd.includes(id)) wrong.push(`${id} missing from the dead-letter queue`);
  return {
    name: 'no account left held; the dead-letter queue holds only the expected dead job',
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${run.deadAtEnd.length} dead` : list(wrong),
  };
}

function list(items: readonly string[]): string {
  const shown = items.slice(0, SHOW).join('; ');
  return items.length > SHOW ? `${shown}; and ${items.length - SHOW} more` : shown;
}
