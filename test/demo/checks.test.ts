import { describe, expect, it } from 'vitest';
import type { JobAnswer, LedgerSummaryAnswer } from '../../demo/api.js';
import { checkInvariants, type RunRecord, type SentJob } from '../../demo/checks.js';
import { accountFigures } from '../../demo/figures.js';
import type { DemoAccount, PlannedJob } from '../../demo/plan.js';
import type { CallRecord } from '../../src/sandbox/index.js';

const ACCOUNTS: DemoAccount[] = [
  { id: 'vv-1', provider: 'vvtool', ratePerSecond: 10 },
  { id: 'dmj-1', provider: 'damaijia', ratePerSecond: 10 },
];

function planned(account: string, orderKey: string, expect: PlannedJob['expect']): PlannedJob {
  const vv = account.startsWith('vv');
  return {
    job: { type: 'ship', account },
    provider: vv ? 'vvtool' : 'damaijia',
    operation: vv ? 'vvtool.send' : 'damaijia.delivery',
    orderKey,
    expect,
    fault: null,
  };
}

let seq = 0;
function call(account: string, orderKey: string, at: number, over: Partial<CallRecord> = {}): CallRecord {
  const vv = account.startsWith('vv');
  return {
    seq: seq++,
    at,
    provider: vv ? 'vvtool' : 'damaijia',
    operation: vv ? 'vvtool.send' : 'damaijia.delivery',
    account,
    orderKey,
    fields: {},
    httpStatus: 200,
    code: 0,
    msg: '',
    charged: 1,
    fault: null,
    processed: true,
    ...over,
  };
}

function completed(id: string, result: string): JobAnswer {
  return {
    id,
    queue: 'ship',
    name: null,
    state: 'completed',
    attemptsMade: 1,
    result: { result },
    lastError: null,
  };
}

/** A run where everything went right: three jobs, one retried after a dropped connection, one dead. */
function goodRun(): { run: RunRecord; calls: CallRecord[]; ledger: LedgerSummaryAnswer } {
  const sent: SentJob[] = [
    { planned: planned('vv-1', '100', 'shipped'), id: 'a' },
    { planned: planned('dmj-1', 'D1', 'shipped'), id: 'b' },
    { planned: planned('vv-1', '101', 'dead'), id: 'c' },
  ];
  const calls = [
    call('vv-1', '100', 1_000, { httpStatus: null, charged: 1 }), // charged, then dropped
    call('vv-1', '100', 1_300, { code: 614, charged: 0 }), // the retry: already shipped
    call('dmj-1', 'D1', 1_100),
    call('vv-1', '101', 1_200, { code: 614, charged: 0 }),
  ];
  const ledger: LedgerSummaryAnswer = {
    total: 1,
    calls: 2,
    unknown: 1,
    groups: [
      { key: 'vv-1', total: 0, calls: 1, unknown: 1 },
      { key: 'dmj-1', total: 1, calls: 1, unknown: 0 },
    ],
  };
  const final = new Map<string, JobAnswer | null>([
    ['a', completed('a', 'shipped')],
    ['b', completed('b', 'shipped')],
    [
      'c',
      {
        id: 'c',
        queue: 'dead-letter',
        name: null,
        state: 'dead',
        attemptsMade: 1,
        result: null,
        lastError: '614',
      },
    ],
  ]);
  const run: RunRecord = {
    sent,
    final,
    calls,
    figures: accountFigures(ACCOUNTS, calls, ledger),
    rateViolations: 0,
    ratePerSecond: 10,
    heldAtEnd: [],
    deadAtEnd: ['c'],
  };
  return { run, calls, ledger };
}

function failing(run: RunRecord): string[] {
  return checkInvariants(run)
    .filter((check) => !check.ok)
    .map((check) => check.name);
}

describe('demo invariants', () => {
  it('all hold for a run that went right', () => {
    const checks = checkInvariants(goodRun().run);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks).toHaveLength(6);
  });

  it('a job the service no longer knows, or that ended otherwise than planned, is lost', () => {
    const { run } = goodRun();
    const final = new Map(run.final);
    final.set('b', null);
    expect(failing({ ...run, final })).toEqual(['no job lost: every job ended as planned']);
    final.set('b', completed('b', 'already_shipped'));
    expect(failing({ ...run, final })).toEqual(['no job lost: every job ended as planned']);
  });

  it('an order charged for shipping twice fails, and so does a shipment never made', () => {
    const { run, calls, ledger } = goodRun();
    const twice = [...calls, call('dmj-1', 'D1', 1_500)];
    const ledger2 = {
      ...ledger,
      groups: ledger.groups.map((g) => (g.key === 'dmj-1' ? { ...g, total: 2 } : g)),
    };
    const result = failing({ ...run, calls: twice, figures: accountFigures(ACCOUNTS, twice, ledger2) });
    expect(result).toEqual(['no order shipped twice (and every shipment made once)']);
    const never = calls.filter((c) => c.orderKey !== 'D1');
    const check = checkInvariants({ ...run, calls: never }).find((c) => c.name.startsWith('no order'));
    expect(check?.ok).toBe(false);
    expect(check?.detail).toContain('damaijia/D1 never shipped');
  });

  it('a ledger that differs from what the sandbox charged on answered calls fails', () => {
    const { run, calls, ledger } = goodRun();
    const off = { ...ledger, groups: ledger.groups.map((g) => (g.key === 'dmj-1' ? { ...g, total: 2 } : g)) };
    expect(failing({ ...run, figures: accountFigures(ACCOUNTS, calls, off) })).toEqual([
      "ledger equals the sandbox's charges on answered calls",
    ]);
  });

  it('an unanswered call missing from the ledger as unknown fails', () => {
    const { run, calls, ledger } = goodRun();
    const lost = { ...ledger, groups: ledger.groups.map((g) => ({ ...g, unknown: 0 })) };
    expect(failing({ ...run, figures: accountFigures(ACCOUNTS, calls, lost) })).toEqual([
      'every call without a readable charge is in the ledger as unknown',
    ]);
  });

  it('eleven calls in one sliding second, or a call the sandbox refused for the rate, fails', () => {
    const { run, ledger } = goodRun();
    // Eleven sync calls within 1000 ms on dmj-1 (syncs: no shipment, no effect on the other checks).
    const burst = Array.from({ length: 11 }, (_, i) =>
      call('dmj-1', `S${i}`, 10_000 + i * 90, { operation: 'damaijia.sync', charged: 0 }),
    );
    const calls = [...run.calls, ...burst];
    expect(failing({ ...run, calls, figures: accountFigures(ACCOUNTS, calls, ledger) })).toEqual([
      'at most 10 calls in any sliding second per account',
    ]);
    const spaced = burst.map((c, i) => ({ ...c, at: 10_000 + i * 100 }));
    const ok = [...run.calls, ...spaced];
    expect(failing({ ...run, calls: ok, figures: accountFigures(ACCOUNTS, ok, ledger) })).toEqual([]);
    expect(failing({ ...run, rateViolations: 1 })).toEqual([
      'at most 10 calls in any sliding second per account',
    ]);
  });

  it('an account still held, or an unplanned or missing dead job, fails', () => {
    const { run } = goodRun();
    const name = 'no account left held; the dead-letter queue holds only the expected dead job';
    expect(failing({ ...run, heldAtEnd: ['dmj-1'] })).toEqual([name]);
    expect(failing({ ...run, deadAtEnd: ['c', 'b'] })).toEqual([name]);
    expect(failing({ ...run, deadAtEnd: [] })).toEqual([name]);
  });
});

describe('demo account figures', () => {
  it('splits charges by answered and unanswered calls and measures the busiest sliding second', () => {
    const { run } = goodRun();
    const [vv, dmj] = run.figures;
    expect(vv).toMatchObject({
      account: 'vv-1',
      chargedAnswered: 0,
      chargedUnanswered: 1,
      unanswered: 1,
      calls: 3,
    });
    expect(vv!.maxInSecond).toBe(3);
    expect(vv!.seconds).toBeCloseTo(0.3);
    expect(dmj).toMatchObject({
      account: 'dmj-1',
      ledgerTotal: 1,
      chargedAnswered: 1,
      calls: 1,
      maxInSecond: 1,
    });
  });

  it('counts a call exactly 1000 ms after another in a new window', () => {
    const calls = Array.from({ length: 12 }, (_, i) => call('vv-1', `${i}`, i * 100));
    const ledger = { total: 0, calls: 0, unknown: 0, groups: [] };
    const [vv] = accountFigures(ACCOUNTS, calls, ledger);
    expect(vv!.maxInSecond).toBe(10);
    expect(vv!.perSecond).toBeCloseTo(12 / 1.1);
  });
});
