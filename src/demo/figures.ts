/**
 * Per-account figures for the summary, from what the sandbox recorded (every call with its arrival
 * time and charge) and what the service's ledger says it spent. Pure.
 */
import { type CallRecord, maxInSlidingWindow } from '../sandbox/index.js';
import type { LedgerSummaryAnswer } from './api.js';
import type { DemoAccount } from './plan.js';

export interface AccountFigures {
  readonly account: string;
  readonly provider: string;
  /** Coupons the ledger knows were charged. */
  readonly ledgerTotal: number;
  /** Ledger entries whose charge is unknown (the answer never came back). */
  readonly ledgerUnknown: number;
  /** Coupons the sandbox charged on calls it answered. */
  readonly chargedAnswered: number;
  /** Coupons the sandbox charged on calls it dropped without an answer. */
  readonly chargedUnanswered: number;
  /** Calls the sandbox received and never answered. */
  readonly unanswered: number;
  readonly calls: number;
  /** First to last arrival. */
  readonly seconds: number;
  /** Calls over the busy span (at least one second). */
  readonly perSecond: number;
  /** The most calls that arrived in any sliding 1000 ms window. */
  readonly maxInSecond: number;
}

export function accountFigures(
  accounts: readonly DemoAccount[],
  calls: readonly CallRecord[],
  ledger: LedgerSummaryAnswer,
): AccountFigures[] {
  return accounts.map((account) => {
    const mine = calls.filter((call) => call.account === account.id);
    const times = mine.map((call) => call.at);
    const group = ledger.groups.find((g) => g.key === account.id);
    const answered = mine.filter((call) => call.httpStatus !== null);
    const unanswered = mine.filter((call) => call.httpStatus === null);
    const seconds = times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0;
    return {
      account: account.id,
      provider: account.provider,
      ledgerTotal: group?.total ?? 0,
      ledgerUnknown: group?.unknown ?? 0,
      chargedAnswered: sum(answered.map((call) => call.charged)),
      chargedUnanswered: sum(unanswered.map((call) => call.charged)),
      unanswered: unanswered.length,
      calls: mine.length,
      seconds,
      perSecond: mine.length / Math.max(1, seconds),
      maxInSecond: maxInSlidingWindow(times, 1000),
    };
  });
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
