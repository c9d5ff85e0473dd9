import type { Provider } from '../config/index.js';
import type { Operation, UpstreamReply } from '../upstreams/types.js';
import {
  DONE_RESULT,
  isRetryableStatus,
  normaliseMessage,
  OUTCOME_TABLES,
  type OutcomeRow,
  TRANSPORT_REASONS,
} from './tables.js';
import type { Outcome } from './types.js';

interface Lookup {
  /** Rows keyed by code, for codes whose meaning does not depend on the message. */
  readonly byCode: ReadonlyMap<number, OutcomeRow>;
  /** Rows keyed by `${code}\n${normalised message}`. */
  readonly byMessage: ReadonlyMap<string, OutcomeRow>;
}

// Built once from the tables; the tables stay the single source.
const LOOKUPS: Readonly<Record<Provider, Lookup>> = {
  vvtool: index(OUTCOME_TABLES.vvtool),
  damaijia: index(OUTCOME_TABLES.damaijia),
};

/**
 * What one upstream reply means for its job. Pure. `operation` picks the result of a success
 * ('synced' for damaijia.sync); without it a success is 'shipped'.
 */
export function classify(provider: Provider, reply: UpstreamReply, operation?: Operation): Outcome {
  if (!reply.answered) {
    return {
      outcome: 'retry',
      reason: TRANSPORT_REASONS.unanswered[reply.failure],
      code: null,
      message: reply.message,
    };
  }
  const { httpStatus: status, code, message } = reply;
  // Replacer functions, so a `$&` in an upstream message is kept as text.
  const fill = (template: string): string =>
    template
      .replace('{status}', () => String(status))
      .replace('{code}', () => String(code))
      .replace('{message}', () => message.trim() || '(no message)');

  // An overloaded or failing upstream is retried even when its body carries a code.
  if (isRetryableStatus(status)) {
    const template = status === 429 ? TRANSPORT_REASONS.tooManyRequests : TRANSPORT_REASONS.serverError;
    return { outcome: 'retry', reason: fill(template), code, message };
  }
  if (code === null) return { outcome: 'retry', reason: fill(TRANSPORT_REASONS.unreadable), code, message };

  const lookup = LOOKUPS[provider];
  const row = lookup.byMessage.get(messageKey(code, message)) ?? lookup.byCode.get(code);
  if (row === undefined)
    return { outcome: 'dead', reason: fill(TRANSPORT_REASONS.unknownCode), code, message };
  const outcome: Outcome = { outcome: row.outcome, reason: fill(row.reason), code, message };
  if (row.outcome !== 'done') return outcome;
  return { ...outcome, result: row.result ?? (operation ? DONE_RESULT[operation] : 'shipped') };
}

function index(rows: readonly OutcomeRow[]): Lookup {
  const byCode = new Map<number, OutcomeRow>();
  const byMessage = new Map<string, OutcomeRow>();
  for (const row of rows) {
    // A duplicate would leave one row dead text: fail at load, where every test sees it.
    if (row.message === undefined) {
      if (byCode.has(row.code)) throw new Error(`duplicate outcome row for code ${row.code}`);
      byCode.set(row.code, row);
    } else {
      const key = messageKey(row.code, row.message);
      if (byMessage.has(key)) throw new Error(`duplicate outcome row for code ${row.code} "${row.message}"`);
      byMessage.set(key, row);
    }
  }
  return { byCode, byMessage };
}

function messageKey(code: number, message: string): string {
  return `${code}\n${normaliseMessage(message)}`;
}
