import type { UnansweredReply } from './types.js';
import { LATE_AT_WIRE } from './wire-check.js';

/** The call's deadline (connect, answer and body together) passed. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

export interface FailureDescription {
  readonly failure: UnansweredReply['failure'];
  readonly sent: boolean;
  /** For people; built from error codes and Node's own messages, never from our request. */
  readonly message: string;
}

/**
 * Codes that say no connection was made: with nothing written, nothing can have been charged.
 * Node's happy eyeballs (several addresses tried) wraps them in an AggregateError, hence the walk
 * in `findCodes`.
 */
const REFUSED: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  // DNS: the host name did not resolve (for good, or for now); no connection was attempted.
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** The connection dropped: after our write, the upstream may have read (and charged) the request. */
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const MESSAGE_LIMIT = 200;

/**
 * What an error of one POST means. `written`: whether the transport had handed the request to its
 * socket (called `end()`). Before that not one byte of the request can have left, whatever the
 * error, so the call was not sent; after it the upstream may have it, so the call was sent.
 */
export function describeFailure(err: unknown, timeoutMs: number, written: boolean): FailureDescription {
  if (err instanceof DeadlineError) {
    return written
      ? { failure: 'timeout', sent: true, message: `no answer within ${timeoutMs} ms` }
      : { failure: 'timeout', sent: false, message: `not connected within ${timeoutMs} ms: not sent` };
  }
  const { codes, messages } = findCodes(err);
  if (codes.includes(LATE_AT_WIRE)) {
    return {
      failure: 'late',
      sent: false,
      message: `too late for its rate-limit slot at the wire (${LATE_AT_WIRE})`,
    };
  }
  for (const code of codes) {
    const what = REFUSED[code];
    if (what !== undefined) return { failure: 'refused', sent: written, message: `${what} (${code})` };
  }
  const reset = codes.find((code) => RESET.has(code));
  if (reset !== undefined) {
    const when = written ? 'before an answer' : 'before the request was written: not sent';
    return { failure: 'reset', sent: written, message: `connection closed ${when} (${reset})` };
  }
  const detail = messages.at(-1) ?? 'unknown error';
  const code = codes[0];
  return {
    failure: 'network',
    sent: written,
    message: `network error${written ? '' : ' (not sent)'}: ${detail.slice(0, MESSAGE_LIMIT)}${code ? ` (${code})` : ''}`,
  };
}

/** Error codes and messages along the cause chain, outermost first. */
function findCodes(err: unknown): { codes: string[]; messages: string[] } {
  const codes: string[] = [];
  const messages: string[] = [];
  const queue: unknown[] = [err];
  // Bounded: a cause chain can be circular.
  for (let seen = 0; queue.length > 0 && seen < 16; seen++) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null) continue;
    const { code, message, cause, errors } = next as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string') codes.push(code);
    if (typeof message === 'string' && message !== '') messages.push(message);
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return { codes, messages };
}
