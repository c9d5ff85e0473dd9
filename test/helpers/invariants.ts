import { expect } from 'vitest';
import type { Fulfillment } from '../../src/queues/service.js';
import { type CallRecord, maxInSlidingWindow } from '../../src/sandbox/index.js';

export interface InvariantReport {
  readonly jobs: number;
  readonly completed: number;
  readonly dead: number;
  readonly lost: number;
  readonly duplicateShipments: number;
  readonly ledgerKnown: number;
  readonly sandboxCharged: number;
  readonly chargedWithoutAnswer: number;
  readonly unknownEntries: number;
  readonly callsWithoutAnswer: number;
  /** Calls with no answer, or an answer that cannot say what it cost (HTTP 500/502/504, a garbage body). */
  readonly callsHidingCharge: number;
  /** What the upstream charged on those calls. */
  readonly chargedHidden: number;
  readonly maxSlidingSecond: Record<string, number>;
}

/**
 * The invariants every fault scenario ends with: every accepted job completed or dead (none lost,
 * none stuck), no order shipped twice at the upstream, the ledger's known total equal to what the
 * upstream charged on the answers that said so, one unknown entry per call that got no answer or one
 * that cannot say its charge, and no
 * sliding second above any account's limit.
 */
export async function checkInvariants(
  service: Fulfillment,
  jobIds: readonly string[],
  calls: readonly CallRecord[],
  limit = 10,
  options: { crashes?: boolean } = {},
): Promise<InvariantReport> {
  const views = await Promise.all(jobIds.map((id) => service.getJob(id)));
  const completed = views.filter((view) => view?.state === 'completed').length;
  const dead = views.filter((view) => view?.state === 'dead').length;
  const shipped = new Map<string, number>();
  for (const call of calls) {
    if (call.processed && call.code === 0 && call.charged > 0 && call.operation !== 'damaijia.sync') {
      const key = `${call.operation}:${call.orderKey}`;
      shipped.set(key, (shipped.get(key) ?? 0) + 1);
    }
  }
  let ledgerKnown = 0;
  let unknownEntries = 0;
  const knownByOrder = new Map<string, number>();
  const unknownByOrder = new Map<string, number>();
  for await (const page of pages(service)) {
    for (const entry of page) {
      const key = `${entry.operation}:${entry.order}`;
      if (entry.status === 'unknown') {
        unknownEntries += 1;
        unknownByOrder.set(key, (unknownByOrder.get(key) ?? 0) + 1);
      } else {
        ledgerKnown += entry.amount ?? 0;
        knownByOrder.set(key, (knownByOrder.get(key) ?? 0) + (entry.amount ?? 0));
      }
    }
  }
  // Per order: what the upstream charged beyond the ledger's known entries must be explained by
  // unknown entries of that order (at most one charge each).
  const chargedByOrder = new Map<string, number>();
  for (const call of calls) {
    if (call.charged > 0) {
      const key = `${call.operation}:${call.orderKey}`;
      chargedByOrder.set(key, (chargedByOrder.get(key) ?? 0) + call.charged);
    }
  }
  const unexplained = [...new Set([...chargedByOrder.keys(), ...knownByOrder.keys()])].filter((key) => {
    const gap = (chargedByOrder.get(key) ?? 0) - (knownByOrder.get(key) ?? 0);
    return gap < 0 || gap > (unknownByOrder.get(key) ?? 0);
  });
  const byAccount = new Map<string, number[]>();
  for (const call of calls) {
    if (call.account) byAccount.set(call.account, [...(byAccount.get(call.account) ?? []), call.at]);
  }
  const report: InvariantReport = {
    jobs: jobIds.length,
    completed,
    dead,
    lost: jobIds.length - completed - dead,
    duplicateShipments: [...shipped.values()].filter((count) => count > 1).length,
    ledgerKnown,
    sandboxCharged: calls.reduce((sum, call) => sum + call.charged, 0),
    chargedWithoutAnswer: calls
      .filter((c) => c.httpStatus === null)
      .reduce((sum, call) => sum + call.charged, 0),
    unknownEntries,
    callsWithoutAnswer: calls.filter((call) => call.httpStatus === null).length,
    callsHidingCharge: calls.filter(hidesCharge).length,
    chargedHidden: calls.filter(hidesCharge).reduce((sum, call) => sum + call.charged, 0),
    maxSlidingSecond: Object.fromEntries(
      [...byAccount].map(([account, times]) => [account, maxInSlidingWindow(times)]),
    ),
  };
  expect(report.lost).toBe(0);
  expect(report.duplicateShipments).toBe(0);
  expect(unexplained).toEqual([]);
  if (!options.crashes) {
    // With no process dying, the only unknowns are calls whose answer did not say what they cost.
    expect(report.ledgerKnown).toBe(report.sandboxCharged - report.chargedHidden);
    expect(report.unknownEntries).toBe(report.callsHidingCharge);
  }
  for (const [account, max] of Object.entries(report.maxSlidingSecond)) {
    if (max > limit)
      console.log(
        `window over the limit for ${account}: ${describeWorstWindow(byAccount.get(account) ?? [], limit)}`,
      );
    expect(max).toBeLessThanOrEqual(limit);
  }
  return report;
}

/** No answer, a server error that may follow processing, or a 2xx body that is not JSON. */
function hidesCharge(call: CallRecord): boolean {
  return call.httpStatus === null || [500, 502, 504].includes(call.httpStatus) || call.fault === 'garbage';
}

async function* pages(service: Fulfillment) {
  let cursor: string | undefined;
  do {
    const page = await service.ledger.entries({ limit: 1000, ...(cursor ? { cursor } : {}) });
    yield page.items;
    cursor = page.next ?? undefined;
  } while (cursor);
}

/** The arrivals of the first window over the limit, as gaps in ms, for diagnosing. */
export function describeWorstWindow(times: number[], limit: number): string {
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 0; i + limit < sorted.length; i++) {
    if (sorted[i + limit]! - sorted[i]! < 1000) {
      const window = sorted.slice(Math.max(0, i - 2), i + limit + 3);
      return window.map((t, k) => (k === 0 ? '0' : (t - window[k - 1]!).toFixed(1))).join(' ');
    }
  }
  return 'none';
}
