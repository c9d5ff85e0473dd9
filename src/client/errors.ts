import type { Issue } from './types.js';

/**
 * Why a call failed, from the answer's status: what the caller does next depends on it.
 * `invalid` (400), `too_large` (413): fix the request, do not retry. `unauthorized` (401),
 * `forbidden` (403): the key. `not_found` (404). `unavailable` (503: Redis is away; nothing was
 * written, retry after `retryAfterSeconds`). `unreachable`: no answer at all (refused, reset, timed
 * out). `unexpected`: any other status, or an answer that is not the API's.
 */
export type FulfillmentErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'unavailable'
  | 'unreachable'
  | 'unexpected';

const KIND_OF_STATUS: Readonly<Record<number, FulfillmentErrorKind>> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'too_large',
  503: 'unavailable',
};

export function kindOfStatus(status: number): FulfillmentErrorKind {
  return KIND_OF_STATUS[status] ?? 'unexpected';
}

/** A call the API refused or never answered. Never carries the API key. */
export class FulfillmentError extends Error {
  override readonly name = 'FulfillmentError';
  readonly kind: FulfillmentErrorKind;
  /** The HTTP status; null when there was no answer. */
  readonly status: number | null;
  /** Every problem by field, as the API named them (empty when it named none). */
  readonly issues: readonly Issue[];
  /** From `Retry-After` on a 503; null otherwise. */
  readonly retryAfterSeconds: number | null;

  constructor(
    kind: FulfillmentErrorKind,
    message: string,
    details: {
      status?: number | null;
      issues?: readonly Issue[];
      retryAfterSeconds?: number | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status ?? null;
    this.issues = details.issues ?? [];
    this.retryAfterSeconds = details.retryAfterSeconds ?? null;
  }
}
