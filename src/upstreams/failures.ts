import { isTimeoutError } from 'ky';
import type { UnansweredReply } from './types.js';
import { LATE_AT_WIRE } from './wire-check.js';

/** The body stopped arriving before the deadline: like a timeout, the request was sent. */
export class BodyTimeoutError extends Error {
  override readonly name = 'BodyTimeoutError';
}

export interface FailureDescription {
  readonly failure: UnansweredReply['failure'];
  readonly sent: boolean;
  /** For people; built from error codes and undici's own messages, never from our request. */
  readonly message: string;
}

/**
 * Codes that prove the request never left: no connection was made, so nothing can have been charged.
 * fetch wraps them as `TypeError('fetch failed', { cause })`, sometimes inside an AggregateError
 * (happy eyeballs tries several addresses), hence the walk in `findCodes`.
 */
const NOT_SENT: Readonly<Record<string, { failure: UnansweredReply['failure']; what: string }>> = {
  ECONNREFUSED: { failure: 'refused', what: 'connection refused' },
  // DNS: the host name did not resolve (for good, or for now); no connection was attempted.
  ENOTFOUND: { failure: 'refused', what: 'host not found' },
  EAI_AGAIN: { failure: 'refused', what: 'host name lookup failed' },
  // undici's connect timeout fires before a socket exists.
  UND_ERR_CONNECT_TIMEOUT: { failure: 'timeout', what: 'connect timeout' },
  // Aborted by its wire check before anything was written (wire-check.ts).
  [LATE_AT_WIRE]: { failure: 'late', what: 'too late for its rate-limit slot at the wire' },
};

/** The connection dropped after it was made: the upstream may have read (and charged) the request. */
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/** undici's SocketError text when the server closes the socket mid-exchange. */
const RESET_MESSAGE = 'other side closed';

const MESSAGE_LIMIT = 200;

export function describeFailure(err: unknown, timeoutMs: number): FailureDescription {
  if (isTimeoutError(err) || err instanceof BodyTimeoutError) {
    // ky's TimeoutError carries the Request (with our Authorization header): only its kind is used.
    return { failure: 'timeout', sent: true, message: `no answer within ${timeoutMs} ms` };
  }
  const { codes, messages } = findCodes(err);
  for (const code of codes) {
    const known = NOT_SENT[code];
    if (known) return { failure: known.failure, sent: false, message: `${known.what} (${code})` };
  }
  const reset = codes.find((code) => RESET.has(code));
  if (reset !== undefined || messages.some((m) => m.includes(RESET_MESSAGE))) {
    return {
      failure: 'reset',
      sent: true,
      message: `connection closed before an answer (${reset ?? RESET_MESSAGE})`,
    };
  }
  const detail = messages.at(-1) ?? 'unknown error';
  const code = codes[0];
  return {
    failure: 'network',
    sent: true,
    message: `network error: ${detail.slice(0, MESSAGE_LIMIT)}${code ? ` (${code})` : ''}`,
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
