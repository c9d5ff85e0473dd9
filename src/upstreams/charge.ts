/**
 * Whether an HTTP answer can say what its call cost. Some answers come after the upstream may already
 * have processed (and charged) the call, without saying so: those are recorded as "charge unknown",
 * to reconcile against the upstream's bill, rather than as a charge of 0.
 */

/** Statuses of an answer that refused the call (nothing processed, nothing charged) though it is a 5xx. */
const REFUSING_5XX: ReadonlyMap<number, string> = new Map([
  [501, 'the method or path is not implemented: refused before anything was done'],
  [503, 'the upstream is unavailable (overloaded or down for maintenance): it refused the call'],
  [505, 'the HTTP version is refused before the request is read'],
]);

/**
 * Any other 5xx may come after processing: 500 (the upstream failed while handling the call), 502
 * and 504 (a proxy lost or gave up waiting for an answer the upstream may still have produced), and
 * a proxy's own codes (520-524) alike. 4xx, 429 included, refuse the call: they charged what their
 * body says, which is nothing unless it says otherwise.
 */
export function statusHidesCharge(status: number): boolean {
  return status >= 500 && status <= 599 && !REFUSING_5XX.has(status);
}

/**
 * A charge field as read from a body: undefined when the body does not have it (it says nothing, so 0),
 * the amount when it is a finite number of at least 0, and null when it is there but unreadable
 * (a string, null, a negative or non-finite number): the call may have cost anything.
 */
export type ChargeField = number | null | undefined;

export function readChargeField(value: unknown): ChargeField {
  if (value === undefined) return undefined;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}
