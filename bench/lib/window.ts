import type { CallRecord } from '../../src/sandbox/index.js';
import { maxInSlidingWindow } from '../../src/sandbox/index.js';

/**
 * Per account, the most calls that arrived at the sandbox in any sliding 1000 ms window, computed here
 * from the recorded arrival times (not taken from the sandbox's own report, which it cross-checks).
 */
export function maxPerAccount(calls: readonly CallRecord[], windowMs = 1000): Map<string, number> {
  const times = new Map<string, number[]>();
  for (const call of calls) {
    if (call.account === null) continue;
    const list = times.get(call.account) ?? [];
    list.push(call.at);
    times.set(call.account, list);
  }
  const out = new Map<string, number>();
  for (const [account, list] of times) out.set(account, maxInSlidingWindow(list, windowMs));
  return out;
}

/** Calls per second between `from` and `to` (epoch ms), counting arrivals in [from, to). */
export function rateBetween(calls: readonly CallRecord[], from: number, to: number): number {
  let n = 0;
  for (const call of calls) if (call.at >= from && call.at < to) n++;
  return n / ((to - from) / 1000);
}

/** The answers the sandbox gave, by code, to check that a run did what it meant to (all 0 = shipped). */
export function codes(calls: readonly CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const call of calls) {
    const key = String(call.code);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/**
 * For a run that broke the limit: the first account's first window over `limit`, as the gaps (ms)
 * between its arrivals and two on each side; '' when none.
 */
export function overLimitGaps(calls: readonly CallRecord[], limit: number, windowMs = 1000): string {
  const byAccount = new Map<string, number[]>();
  for (const call of calls) {
    if (call.account === null) continue;
    byAccount.set(call.account, [...(byAccount.get(call.account) ?? []), call.at]);
  }
  for (const [account, times] of byAccount) {
    const sorted = [...times].sort((a, b) => a - b);
    for (let i = 0; i + limit < sorted.length; i++) {
      if (sorted[i + limit]! - sorted[i]! >= windowMs) continue;
      const window = sorted.slice(Math.max(0, i - 2), i + limit + 3);
      const gaps = window.slice(1).map((t, k) => (t - window[k]!).toFixed(1));
      return `${account}: ${limit + 1} calls within ${(sorted[i + limit]! - sorted[i]!).toFixed(1)} ms; gaps ${gaps.join(' ')}`;
    }
  }
  return '';
}
