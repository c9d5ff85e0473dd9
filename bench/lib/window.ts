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
