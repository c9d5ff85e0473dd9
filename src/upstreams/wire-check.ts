import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A last check right at the wire. A call's request may wait after the caller's own last check:
 * for a connection to open, for other work on the event loop. For a rate-limited call that wait
 * is lateness the limiter never saw. Every upstream request goes through `wireDispatcher`, which
 * asks the check of the call it belongs to (set by `checkedAtWire`) when undici has the request
 * on a connected socket and is about to write its headers (the handler's `onConnect`). A check that
 * says no aborts the request there: nothing was written, so nothing can have been charged, and the
 * reply says so (failure 'late', not sent).
 */

/** The code of the error a request is aborted with when its wire check says no. */
export const LATE_AT_WIRE = 'FULFILLMENT_LATE_AT_WIRE';

type Check = () => boolean;
type Abort = (err: Error) => void;
interface Dispatcher {
  dispatch(options: unknown, handler: object): boolean;
}

const checks = new AsyncLocalStorage<Check>();
/** Where Node's fetch (undici) keeps its global dispatcher, once fetch has run. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
let ready: Promise<void> | undefined;

/** Runs `send` (which makes one upstream request) with `check` asked at its request's wire. */
export function checkedAtWire<T>(check: Check, send: () => Promise<T>): Promise<T> {
  return checks.run(check, send);
}

/** fetch sets up its global dispatcher on first use: a data URL does that without any network. */
export function readyForWireChecks(): Promise<void> {
  ready ??= fetch('data:,').then(
    () => undefined,
    () => undefined,
  );
  return ready;
}

/** fetch's own dispatcher, with the wire check of the calling context on each request. */
export const wireDispatcher: Dispatcher = {
  dispatch(options, handler) {
    const base = (globalThis as unknown as Record<symbol, Dispatcher | undefined>)[GLOBAL_DISPATCHER];
    if (!base) throw new Error('fetch has no dispatcher yet: await readyForWireChecks() first');
    const check = checks.getStore();
    return base.dispatch(options, check ? guarded(handler, check) : handler);
  },
};

/** The handler, with `onConnect` asking the check first; everything else is the handler's own. */
function guarded(handler: object, check: Check): object {
  return new Proxy(handler, {
    get(target, key) {
      if (key === 'onConnect') {
        return (abort: Abort, ...rest: unknown[]) => {
          if (!check()) {
            abort(
              Object.assign(new Error('too late for its slot at the wire: not sent'), { code: LATE_AT_WIRE }),
            );
            return;
          }
          const onConnect = (target as { onConnect?: (abort: Abort, ...rest: unknown[]) => void }).onConnect;
          onConnect?.call(target, abort, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
