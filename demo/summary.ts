/** The demo's closing summary as lines of text. Pure: the run hands in what it found. */
import type { Check } from './checks.js';
import type { AccountFigures } from './figures.js';

export interface SummaryInput {
  readonly elapsedMs: number;
  readonly sent: number;
  readonly done: number;
  readonly alreadyShipped: number;
  readonly synced: number;
  readonly dead: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
  /** Retry answers by code ("none" for transport failures), and how many jobs needed a retry. */
  readonly retries: Readonly<Record<string, number>>;
  readonly retriedJobs: number;
  readonly held: {
    readonly account: string;
    readonly reason: string;
    readonly heldMs: number;
    readonly released: number | null;
  } | null;
  readonly redrive: {
    readonly id: string;
    readonly patch: Readonly<Record<string, string>>;
    readonly state: string;
  } | null;
  readonly duplicate: {
    readonly what: string;
    readonly id: string;
    readonly state: string;
    readonly duplicate: boolean;
  } | null;
  readonly figures: readonly AccountFigures[];
  readonly boardUrl: string;
  readonly adminUser: string;
  readonly checks: readonly Check[];
}

export function formatSummary(s: SummaryInput): string[] {
  const retryTotal = Object.values(s.retries).reduce((sum, n) => sum + n, 0);
  const lines = [
    `Summary after ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  jobs       ${s.sent} sent through POST /v1/batch and /v1/ship`,
    `  done       ${s.done} (${s.done - s.alreadyShipped - s.synced} shipped, ${s.alreadyShipped} already shipped, ${s.synced} synced)`,
    `  retried    ${s.retriedJobs} jobs, ${retryTotal} retry answers: ${retryBreakdown(s.retries)}`,
    `  dead       ${s.dead.length}${s.dead.map((d) => `\n               ${d.id}: ${d.reason}`).join('')}`,
    s.held === null
      ? '  held       0 accounts'
      : `  held       1 account: ${s.held.account} for ${(s.held.heldMs / 1000).toFixed(1)} s (${s.held.reason}); ` +
        `topped up at the sandbox and resumed with POST /v1/accounts/${s.held.account}/resume` +
        (s.held.released === null ? '' : `, ${s.held.released} parked jobs released`),
  ];
  if (s.redrive !== null) {
    const patch = Object.entries(s.redrive.patch)
      .map(([key, value]) => `${key}=${value}`)
      .join(', ');
    lines.push(`  redriven   ${s.redrive.id} with ${patch}: now ${s.redrive.state}`);
  }
  if (s.duplicate !== null) {
    lines.push(
      `  duplicate  ${s.duplicate.what} again: ${s.duplicate.id} state ${s.duplicate.state}, duplicate: ${s.duplicate.duplicate}`,
    );
  }
  lines.push(
    '',
    'Coupons by account (ledger: GET /v1/ledger/summary?groupBy=account; sandbox: what it charged)',
    ...table(
      ['account', 'provider', 'ledger', 'unknown', 'sandbox answered', 'sandbox dropped', ''],
      s.figures.map((f) => [
        f.account,
        f.provider,
        String(f.ledgerTotal),
        String(f.ledgerUnknown),
        String(f.chargedAnswered),
        String(f.chargedUnanswered),
        f.ledgerTotal === f.chargedAnswered ? 'match' : 'MISMATCH',
      ]),
    ),
    '  (unknown: calls whose answer never came back or could not say its charge; the sandbox may have charged them, see "dropped")',
    '',
    'Calls by account (the sandbox’s arrival times)',
    ...table(
      ['account', 'calls', 'seconds', 'calls/s', 'max in any 1 s'],
      s.figures.map((f) => [
        f.account,
        String(f.calls),
        f.seconds.toFixed(1),
        f.perSecond.toFixed(1),
        String(f.maxInSecond),
      ]),
    ),
    '',
    'Invariants',
    ...s.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`),
    '',
    `Bull Board: ${s.boardUrl} (user ${s.adminUser}, password printed at the start)`,
  );
  return lines;
}

function retryBreakdown(retries: Readonly<Record<string, number>>): string {
  const entries = Object.entries(retries).sort(([a], [b]) =>
    a === 'none' ? 1 : b === 'none' ? -1 : Number(a) - Number(b),
  );
  if (entries.length === 0) return 'none';
  return entries.map(([code, n]) => `${code === 'none' ? 'transport' : `code ${code}`} ×${n}`).join(', ');
}

/** Left-aligned text columns, right-aligned numbers, two spaces apart, indented by two. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((row) => /^-?[\d.]+$/.test(row[i] ?? '')),
  );
  return all.map(
    (row) =>
      `  ${row
        .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd()}`,
  );
}
