import type { Logger } from '../log.js';

export interface Closer {
  readonly name: string;
  /** `force` is true once the grace period is over. */
  close(force: boolean): Promise<unknown>;
}

/**
 * One closer for several that must stop together: each starts closing at once (workers of every queue
 * stop taking jobs in the same moment, then drain side by side), and every one runs even if another
 * throws. Closing them one after another would let the last keep taking jobs while the first drains.
 */
export function closeTogether(name: string, closers: readonly Closer[]): Closer {
  return {
    name,
    async close(force) {
      const results = await Promise.allSettled(closers.map((closer) => closer.close(force)));
      const failed = results.flatMap((result, i) =>
        result.status === 'rejected' ? [`${closers[i]!.name}: ${String(result.reason)}`] : [],
      );
      if (failed.length > 0) throw new Error(`could not close ${failed.join('; ')}`);
    },
  };
}

/**
 * Shuts down in reverse order of start, once, running every closer even if one throws. Within the
 * grace period closers finish their work (workers complete in-flight jobs); after it, they are asked
 * to stop at once (a worker's unfinished jobs are then taken over by another process).
 */
export function shutdownOnSignal(closers: Closer[], graceMs: number, log: Logger): () => Promise<void> {
  let running: Promise<void> | undefined;
  const shutdown = () => {
    running ??= (async () => {
      const deadline = Date.now() + graceMs;
      for (const closer of [...closers].reverse()) {
        const remaining = Math.max(0, deadline - Date.now());
        let timer: NodeJS.Timeout | undefined;
        try {
          const timedOut = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), remaining);
          });
          if ((await Promise.race([closer.close(false), timedOut])) === 'timeout') {
            log.warn({ closer: closer.name }, 'grace period over, stopping at once');
            await closer.close(true);
          }
        } catch (err) {
          log.error({ err, closer: closer.name }, 'error while shutting down');
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return running;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      void shutdown().then(() => process.exit(0));
    });
  }
  return shutdown;
}
