/**
 * After the traffic settles: read back every job, the dead-letter queue and the ledger through the
 * API, and every call from the sandbox; print the summary and reconcile the ledger with what the
 * sandbox charged. Whether every job ended as planned is for the tests (test/demo, test/reliability).
 */

import { table } from '../src/cli/output.js';
import type { JobView } from '../src/client/index.js';
import { type CallRecord, maxInSlidingWindow, type SandboxControl } from '../src/sandbox/index.js';
import type { DemoPlan } from './plan.js';
import { type ScenarioResult, totalRetries } from './scenario.js';
import type { Service } from './stack.js';

export interface AccountFigures {
  readonly account: string;
  readonly provider: string;
  /** Coupons the ledger knows were charged, and its entries whose charge is unknown (at most one each). */
  readonly ledger: number;
  readonly unknown: number;
  /** Coupons the sandbox charged. */
  readonly charged: number;
  readonly calls: number;
  /** First to last arrival, and the most calls in any sliding 1000 ms. */
  readonly seconds: number;
  readonly maxInSecond: number;
}

interface LedgerSummary {
  readonly groups: ReadonlyArray<{ key: string; total: number; unknown: number }>;
}

/** Jobs read back at once; enough to be quick, few enough not to crowd the API. */
const READ_CONCURRENCY = 16;

export async function buildReport(run: {
  readonly service: Service;
  readonly sandbox: SandboxControl;
  readonly plan: DemoPlan;
  readonly scenario: ScenarioResult;
  readonly elapsedMs: number;
  readonly adminUser: string;
}): Promise<{ lines: string[]; ok: boolean }> {
  const { service, scenario } = run;
  const final = new Map<string, JobView | null>();
  for (let from = 0; from < scenario.sent.length; from += READ_CONCURRENCY) {
    const ids = scenario.sent.slice(from, from + READ_CONCURRENCY).map((s) => s.id);
    const jobs = await Promise.all(ids.map((id) => service.client.getJob(id)));
    for (const [i, id] of ids.entries()) final.set(id, jobs[i]!);
  }
  const [dead, ledger, calls, sandboxReport] = await Promise.all([
    service.get<{ items: Array<{ id: string; reason: string }> }>('/v1/dead-letter?limit=1000'),
    service.get<LedgerSummary>('/v1/ledger/summary?groupBy=account'),
    run.sandbox.calls(),
    run.sandbox.report(),
  ]);
  const figures = run.plan.accounts.map((account) => accountFigures(account, calls, ledger));
  const rate = Math.min(...run.plan.accounts.map((a) => a.ratePerSecond));
  const results = [...final.values()].map((job) => (job?.state === 'completed' ? resultOf(job) : undefined));
  const count = (result: string) => results.filter((r) => r === result).length;
  const done = results.filter((r) => r !== undefined).length;
  const { held, duplicate } = scenario;
  const retried = [...final.values()].filter((job) => job !== null && job.attemptsMade > 1).length;

  const lines = [
    `Summary after ${(run.elapsedMs / 1000).toFixed(1)} s`,
    `  jobs       ${scenario.sent.length} sent through POST /v1/batch and /v1/ship`,
    `  done       ${done} (${count('shipped')} shipped, ${count('already_shipped')} already shipped, ${count('synced')} synced)`,
    `  retried    ${retried} jobs, ${totalRetries(scenario.counts)} retry answers: ${retryBreakdown(scenario.counts.retriesByCode)}`,
    `  dead       ${dead.items.length}${dead.items.map((d) => `\n               ${d.id}: ${d.reason}`).join('')}`,
    held === null
      ? '  held       0 accounts'
      : `  held       1 account: ${run.plan.held.account} for ${(held.heldMs / 1000).toFixed(1)} s (${held.reason}); ` +
        `topped up at the sandbox and resumed with POST /v1/accounts/${run.plan.held.account}/resume` +
        (held.released === null ? '' : `, ${held.released} parked jobs released`),
  ];
  if (scenario.redriven !== null) {
    const patch = Object.entries(run.plan.clash.patch).map(([key, value]) => `${key}=${value}`);
    lines.push(
      `  redriven   ${scenario.redriven} with ${patch.join(', ')}: now ${final.get(scenario.redriven)?.state}`,
    );
  }
  if (duplicate !== null) {
    const { id, state, duplicate: again } = duplicate.answer;
    lines.push(`  duplicate  ${duplicate.what} again: ${id} state ${state}, duplicate: ${again}`);
  }
  lines.push(
    '',
    'Coupons by account (ledger: GET /v1/ledger/summary?groupBy=account; sandbox: what it charged)',
    ...indent(
      table(
        [
          { title: 'account', value: (f: AccountFigures) => f.account },
          { title: 'provider', value: (f) => f.provider },
          { title: 'ledger', value: (f) => f.ledger, align: 'right' },
          { title: 'unknown', value: (f) => f.unknown, align: 'right' },
          { title: 'sandbox charged', value: (f) => f.charged, align: 'right' },
          { title: '', value: (f) => (reconciles(f) ? 'match' : 'MISMATCH') },
        ],
        figures,
      ),
    ),
    '  (unknown: calls whose answer never came back or could not say its charge; match: the sandbox',
    "  charged the ledger's coupons and at most one more for each unknown entry)",
    '',
    'Calls by account (the sandbox’s arrival times)',
    ...indent(
      table(
        [
          { title: 'account', value: (f: AccountFigures) => f.account },
          { title: 'calls', value: (f) => f.calls, align: 'right' },
          { title: 'seconds', value: (f) => f.seconds.toFixed(1), align: 'right' },
          { title: 'calls/s', value: (f) => (f.calls / Math.max(1, f.seconds)).toFixed(1), align: 'right' },
          { title: 'max in any 1 s', value: (f) => f.maxInSecond, align: 'right' },
        ],
        figures,
      ),
    ),
    '',
  );
  const problems = [
    ...scenario.problems,
    ...figures.filter((f) => !reconciles(f)).map((f) => `${f.account}: ledger does not match the sandbox`),
    ...figures
      .filter((f) => f.maxInSecond > rate)
      .map((f) => `${f.account}: ${f.maxInSecond} calls in one second`),
    ...(sandboxReport.violations.length > 0
      ? [`the sandbox refused ${sandboxReport.violations.length} calls for the rate`]
      : []),
  ];
  lines.push(
    problems.length === 0
      ? `Reconciled: the ledger matches the sandbox's charges on every account, no account above ${rate} calls in any second, every step done.`
      : `NOT reconciled: ${problems.join('; ')}`,
    `Bull Board: ${service.url}/admin/queues (user ${run.adminUser}, password printed at the start)`,
  );
  return { lines, ok: problems.length === 0 };
}

function accountFigures(
  account: { id: string; provider: string },
  calls: readonly CallRecord[],
  ledger: LedgerSummary,
): AccountFigures {
  const mine = calls.filter((call) => call.account === account.id);
  const times = mine.map((call) => call.at);
  const group = ledger.groups.find((g) => g.key === account.id);
  return {
    account: account.id,
    provider: account.provider,
    ledger: group?.total ?? 0,
    unknown: group?.unknown ?? 0,
    charged: mine.reduce((total, call) => total + call.charged, 0),
    calls: mine.length,
    seconds: times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0,
    maxInSecond: maxInSlidingWindow(times, 1000),
  };
}

/** Every coupon the ledger knows was charged; any other charge is one of its unknown entries. */
function reconciles(f: AccountFigures): boolean {
  return f.ledger <= f.charged && f.charged <= f.ledger + f.unknown;
}

function resultOf(job: JobView): string | undefined {
  const result = job.result as { result?: unknown } | null;
  return typeof result?.result === 'string' ? result.result : undefined;
}

function retryBreakdown(retries: Readonly<Record<string, number>>): string {
  const order = (code: string) => (code === 'none' ? Number.POSITIVE_INFINITY : Number(code));
  const entries = Object.entries(retries).sort(([a], [b]) => order(a) - order(b));
  if (entries.length === 0) return 'none';
  return entries.map(([code, n]) => `${code === 'none' ? 'transport' : `code ${code}`} ×${n}`).join(', ');
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`);
