/**
 * After the traffic settles: read back every job, the dead-letter queue, the accounts and the ledger
 * through the API, and every call from the sandbox; judge the invariants and build the summary.
 */
import type { SandboxControl } from '../src/sandbox/index.js';
import type { JobAnswer, ServiceApi } from './api.js';
import { type Check, checkInvariants } from './checks.js';
import { accountFigures } from './figures.js';
import type { DemoPlan } from './plan.js';
import type { ScenarioResult } from './scenario.js';
import type { SummaryInput } from './summary.js';

export interface ReportInputs {
  readonly api: ServiceApi;
  readonly sandbox: SandboxControl;
  readonly plan: DemoPlan;
  readonly scenario: ScenarioResult;
  readonly elapsedMs: number;
  readonly boardUrl: string;
  readonly adminUser: string;
}

/** Jobs read back at once; enough to be quick, few enough not to crowd the API. */
const READ_CONCURRENCY = 16;

export async function buildReport(inputs: ReportInputs): Promise<{ summary: SummaryInput; checks: Check[] }> {
  const { api, sandbox, plan, scenario } = inputs;
  const ids = scenario.sent.map((s) => s.id);
  const final = new Map<string, JobAnswer | null>();
  for (let from = 0; from < ids.length; from += READ_CONCURRENCY) {
    const chunk = ids.slice(from, from + READ_CONCURRENCY);
    const answers = await Promise.all(chunk.map((id) => api.job(id)));
    chunk.forEach((id, i) => {
      final.set(id, answers[i]!);
    });
  }
  const [dead, accounts, ledger, calls, report] = await Promise.all([
    api.deadLetters(),
    api.accounts(),
    api.ledgerByAccount(),
    sandbox.calls(),
    sandbox.report(),
  ]);
  const figures = accountFigures(plan.accounts, calls, ledger);
  const ratePerSecond = Math.min(...plan.accounts.map((a) => a.ratePerSecond));
  const checks = checkInvariants({
    sent: scenario.sent,
    final,
    calls,
    figures,
    rateViolations: report.violations.length,
    ratePerSecond,
    heldAtEnd: accounts.filter((a) => a.state === 'held').map((a) => a.id),
    deadAtEnd: dead.map((d) => d.id),
  });
  checks.push({
    name: 'every scripted step happened (held and resumed, redriven, duplicate answered)',
    ok: scenario.problems.length === 0,
    detail: scenario.problems.length === 0 ? 'yes' : scenario.problems.join('; '),
  });

  const results = [...final.values()].map((job) =>
    job?.state === 'completed' ? job.result?.result : undefined,
  );
  const redriven = scenario.redrive === null ? null : final.get(scenario.redrive.id);
  return {
    checks,
    summary: {
      elapsedMs: inputs.elapsedMs,
      sent: scenario.sent.length,
      done: results.filter((r) => r !== undefined).length,
      alreadyShipped: results.filter((r) => r === 'already_shipped').length,
      synced: results.filter((r) => r === 'synced').length,
      dead: dead.map((d) => ({ id: d.id, reason: d.reason })),
      retries: scenario.counts.retriesByCode,
      retriedJobs: [...final.values()].filter((job) => job !== null && job.attemptsMade > 1).length,
      held: scenario.held,
      redrive:
        scenario.redrive === null
          ? null
          : { ...scenario.redrive, state: redriven?.state ?? 'unknown to the service' },
      duplicate:
        scenario.duplicate === null
          ? null
          : {
              what: scenario.duplicate.what,
              id: scenario.duplicate.answer.id,
              state: scenario.duplicate.answer.state,
              duplicate: scenario.duplicate.answer.duplicate,
            },
      figures,
      boardUrl: inputs.boardUrl,
      adminUser: inputs.adminUser,
      checks,
    },
  };
}
