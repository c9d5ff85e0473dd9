/**
 * A last check right at the wire. A call's request may wait after the caller's own last check:
 * for a connection to open, for other work on the event loop. For a rate-limited call that wait
 * is lateness the limiter never saw. The transport (transport.ts) asks the check of the call a
 * request belongs to (set by `checkedAtWire`) when the request has a connected socket, right before
 * it writes anything. A check that says no destroys the request there: nothing was written, so
 * nothing can have been charged, and the reply says so (failure 'late', not sent).
 *
 * How a request finds its call: not through AsyncLocalStorage, whose hooks, once on, tax every
 * promise of the process (BullMQ and ioredis make many per job). `checkedAtWire` and `timedAtWire`
 * set the call's scope for the synchronous run of `send` only, and the transport reads it as its
 * post starts. So `send` must start its request before its first `await`: the processor's chain
 * (upstreams.call → client → post) does, and test/pipeline/one-call.test.ts and
 * test/upstreams/wire-check.test.ts fail if it stops doing so.
 */

/** The code of the error a request is destroyed with when its wire check says no. */
export const LATE_AT_WIRE = 'FULFILLMENT_LATE_AT_WIRE';

export type Check = () => boolean;

/** Told about the requests of the calls it times (WireWatch, src/limiter/wire.ts). */
export interface WireObserver {
  /** The request was handed to its socket (`end()`), `delayMs` after its call's check. */
  written(delayMs: number): void;
  /** The request got a new connection rather than a kept-alive one. */
  connected(): void;
}

/** What the transport needs of the call a request belongs to. */
export interface WireCall {
  readonly check?: Check;
  readonly observer?: WireObserver;
  /** performance.now() of the check the observer times from. */
  readonly checkedAt?: number;
}

let current: WireCall | undefined;

/**
 * Runs `send` (which starts one upstream request synchronously) as `call`: its check asked at the
 * request's wire, its observer told when the request is written and timed from `checkedAt`.
 */
export function atWire<T>(call: WireCall, send: () => Promise<T>): Promise<T> {
  return within(call, send);
}

/** Runs `send` (which starts one upstream request synchronously) with `check` asked at its request's wire. */
export function checkedAtWire<T>(check: Check, send: () => Promise<T>): Promise<T> {
  return within({ ...current, check }, send);
}

/** Runs `send` with its request reported to `observer`, timed from `checkedAt` (performance.now()). */
export function timedAtWire<T>(
  observer: WireObserver,
  checkedAt: number,
  send: () => Promise<T>,
): Promise<T> {
  return within({ ...current, observer, checkedAt }, send);
}

/** The call whose `send` is running right now, if any: read by the transport as a post starts. */
export function currentWireCall(): WireCall | undefined {
  return current;
}

function within<T>(call: WireCall, send: () => Promise<T>): Promise<T> {
  const outer = current;
  current = call;
  try {
    return send();
  } finally {
    current = outer;
  }
}
