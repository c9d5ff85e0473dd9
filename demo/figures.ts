/**
 * Per-account figures for the summary, from what the sandbox recorded (every call with its arrival
 * time and charge) and what the service's ledger says it spent. Pure.
 */
import { type CallRecord, maxInSlidingWindow } from '../src/sandbox/index.js';
import type { LedgerSummaryAnswer } from './api.js';
import type { DemoAccount } from './plan.js';

export interface AccountFigures {
  readonly account: string;
  readonly provider: string;
  /** Coupons the ledger knows were charged. */
  readonly ledgerTotal: number;
  /** Ledger entries whose charge is unknown (no answer, or one that cannot say what it cost). */
  readonly ledgerUnknown: number;
  /** Coupons the sandbox charged on calls whose answer said what they cost. */
  readonly chargedAnswered: number;
  /** Coupons the sandbox charged on the other calls (see `unanswered`). */
  readonly chargedUnanswered: number;
  /**
   * Calls the sandbox never answered, or answered in a way that cannot say what they cost (HTTP 500,
   * 502, 504, a body that is not JSON): the service records each as charge unknown.
   */
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
    const answered = mine.filter((call) => !hidesCharge(call));
    const unanswered = mine.filter(hidesCharge);
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

/** No answer, a server error that may follow processing, or a 2xx body that is not JSON. */
function hidesCharge(call: CallRecord): boolean {
  return call.httpStatus === null || [500, 502, 504].includes(call.httpStatus) || call.fault === 'garbage';
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
